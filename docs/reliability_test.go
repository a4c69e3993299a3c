package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReliabilityTableNamesRealTests keeps docs/reliability.md honest: every
// test or fuzz target it cites exists, and no row lacks one.
func TestReliabilityTableNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile("reliability.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]+)\(`).FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\b(?:Test|Fuzz)[A-Z][A-Za-z0-9_]*`).FindAll(doc, -1) {
		if name := string(m); name != "TestName" && !defined[name] {
			t.Errorf("reliability.md cites %s, which no test defines", name)
		}
	}
	for i, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| input") || strings.HasPrefix(line, "| fault") ||
			strings.HasPrefix(line, "| threat") || strings.HasPrefix(line, "| Redis setting") || strings.HasPrefix(line, "|---") {
			continue
		}
		if strings.Contains(line, "kill -9` of Redis") || !strings.Contains(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		last := cells[len(cells)-1]
		if !regexp.MustCompile(`(Test|Fuzz)[A-Z]|storetest|TestMain`).MatchString(last) && !strings.Contains(last, "TestMain") && !strings.Contains(line, "appendfsync") && !strings.Contains(line, "no persistence") {
			t.Errorf("reliability.md line %d has no test: %s", i+1, line)
		}
	}
}
