package moderation

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadWords reads a words list: one word or phrase a line, surrounding
// white space trimmed; blank lines and lines whose first non-blank
// character is '#' are skipped (a '#' later in a line is part of the word).
// A UTF-8 byte order mark at the start is dropped.
func ReadWords(r io.Reader) ([]string, error) {
	var words []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words = append(words, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read blocked words: %w", err)
	}
	return words, nil
}

// ReadWordsFile is ReadWords of the file at path.
func ReadWordsFile(path string) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("moderation.blocked_words_file: %w", err)
	}
	defer file.Close()
	words, err := ReadWords(file)
	if err != nil {
		return nil, fmt.Errorf("moderation.blocked_words_file %s: %w", path, err)
	}
	return words, nil
}
