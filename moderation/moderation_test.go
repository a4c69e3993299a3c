package moderation

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// testWords is the list the tables below run against.
var testWords = []string{
	"ass",
	"bad word",
	"word up",
	"fuck",
	"fig",
	"Scheiße",
	"café",
	"바보",
	"傻瓜",
	"バカ",
	"#tag",
}

func newTestFilter(t testing.TB, p Policy) *Filter {
	t.Helper()
	return mustFilter(t, testWords, p)
}

// TestMaskString is the matching specification: what counts as a blocked
// word, and exactly what masking makes of the text.
func TestMaskString(t *testing.T) {
	f := newTestFilter(t, Mask)
	tests := []struct {
		name, in, want string // want == in: no match
	}{
		{"plain", "you ass", "you ***"},
		{"whole text", "ass", "***"},
		{"punctuation around", "(ass!)", "(***!)"},
		{"mixed case", "You ASS, aSs", "You ***, ***"},
		{"inside a longer word", "class assess passes", "class assess passes"},
		{"digit joins a word", "ass1 2ass", "ass1 2ass"},
		{"underscore is no letter", "ass_hat", "***_hat"},
		{"hyphen is no letter", "smart-ass", "smart-***"},
		{"fullwidth letters", "ＡＳＳ and ｆｕｃｋ", "*** and ****"},
		{"mathematical letters", "𝐚𝐬𝐬", "***"},
		{"circled letters", "ⓕⓤⓒⓚ", "****"},
		{"ligature", "a ﬁg tree", "a ** tree"},
		{"ligature inside a word", "ﬁgure", "ﬁgure"},
		{"zero-width space inside", "a\u200Bss", "****"},
		{"soft hyphen inside", "fu\u00ADck", "*****"},
		{"sharp s folds to ss", "SCHEISSE and scheisse", "******** and ********"},
		{"capital sharp s", "SCHEIẞE", "*******"},
		{"decomposed accent", "cafe\u0301", "*****"},
		{"composed accent, upper case", "CAFÉ", "****"},
		{"accent makes another word", "cafe", "cafe"},
		{"phrase", "a bad word here", "a ******** here"},
		{"phrase across a line break and spaces", "bad\n \tword", "**********"},
		{"phrase across a no-break space", "bad\u00A0word", "********"},
		{"phrase glued", "badword", "badword"},
		{"phrase inside a longer word", "bad words", "bad words"},
		{"overlapping phrases", "bad word up!", "***********!"},
		{"word starting with a symbol", "a #tag, x#tag", "a ****, x****"},
		{"Hangul word alone", "너 바보!", "너 **!"},
		{"Hangul particle joins the word", "바보야", "바보야"},
		{"Hangul in conjoining jamo", "\u1107\u1161\u1107\u1169", "****"},
		{"Chinese has no spaces", "你是傻瓜吗", "你是**吗"},
		{"Japanese halfwidth katakana", "ﾊﾞｶだ", "***だ"},
		{"Latin next to Han", "ass你好", "***你好"},
		{"invalid UTF-8 kept", "\xffass\xfe", "\xff***\xfe"},
		{"nothing", "Happy birthday, Ana!", "Happy birthday, Ana!"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := f.MaskString(tt.in)
			if got != tt.want {
				t.Fatalf("MaskString(%q) = %q, want %q", tt.in, got, tt.want)
			}
			wantMatch := tt.want != tt.in
			if changed != wantMatch {
				t.Errorf("MaskString(%q) changed = %v, want %v", tt.in, changed, wantMatch)
			}
			if m := f.MatchString(tt.in); m != wantMatch {
				t.Errorf("MatchString(%q) = %v, want %v", tt.in, m, wantMatch)
			}
			if utf8.RuneCountInString(got) != utf8.RuneCountInString(tt.in) {
				t.Errorf("rune count %d -> %d", utf8.RuneCountInString(tt.in), utf8.RuneCountInString(got))
			}
		})
	}
}

func TestApplyString(t *testing.T) {
	got, err := newTestFilter(t, Reject).ApplyString("title", "Happy birthday, you ASS")
	if !errors.Is(err, ErrFiltered) || got != "Happy birthday, you ASS" {
		t.Fatalf("reject: %q, %v; want the text unchanged and ErrFiltered", got, err)
	}
	if !strings.Contains(err.Error(), "title") {
		t.Errorf("error %q does not name the title", err)
	}
	if got, err := newTestFilter(t, Reject).ApplyString("title", "Happy birthday"); err != nil || got != "Happy birthday" {
		t.Fatalf("reject, clean text: %q, %v", got, err)
	}
	if got, err := newTestFilter(t, Mask).ApplyString("name", "Ass Man"); err != nil || got != "*** Man" {
		t.Fatalf("mask: %q, %v; want \"*** Man\"", got, err)
	}
}

func TestOffFilterChangesNothing(t *testing.T) {
	for name, f := range map[string]*Filter{"nil": nil, "no words": mustFilter(t, []string{" ", "", "\u200B"}, Mask)} {
		t.Run(name, func(t *testing.T) {
			if f.Enabled() || f.Words() != 0 {
				t.Fatalf("enabled %v, %d words", f.Enabled(), f.Words())
			}
			if f.MatchString("ass") {
				t.Error("MatchString matched")
			}
			if s, _ := f.MaskString("ass"); s != "ass" {
				t.Errorf("MaskString = %q", s)
			}
			if v, err := f.ApplyJSON("x", []byte(`"ass"`)); err != nil || string(v) != `"ass"` {
				t.Errorf("ApplyJSON = %s, %v", v, err)
			}
		})
	}
}

func mustFilter(t testing.TB, words []string, p Policy) *Filter {
	t.Helper()
	f, err := NewFilter(words, p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestWordsAreFoldedAndDeduplicated(t *testing.T) {
	f := mustFilter(t, []string{"Ass", " ass ", "ＡＳＳ", "bad  word", "bad word"}, Reject)
	if f.Words() != 2 {
		t.Fatalf("%d words, want 2 (ass, bad word)", f.Words())
	}
	if !f.MatchString("a bad word") {
		t.Error("a phrase listed with two spaces does not match one space")
	}
	if _, err := NewFilter([]string{"\xff"}, Reject); err == nil {
		t.Error("a word that is not UTF-8 was accepted")
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
		err  bool
	}{
		{"", Reject, false},
		{"reject", Reject, false},
		{" Mask ", Mask, false},
		{"drop", "", true},
	}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParsePolicy(%q) = %q, %v", tt.in, got, err)
		}
	}
	if _, err := NewFilter([]string{"a"}, "drop"); err == nil {
		t.Error("NewFilter took an unknown policy")
	}
}

func TestReadWords(t *testing.T) {
	in := "\uFEFF# blocked words\r\nass\r\n\r\n   # indented comment\n  bad word  \nnot#comment\n\t\n"
	got, err := ReadWords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ass", "bad word", "not#comment"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ReadWords = %q, want %q", got, want)
	}
}

func TestNewReadsTheWordsFileAndTheInlineList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(path, []byte("# list\nbad word\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{BlockedWords: []string{"ass"}, BlockedWordsFile: path, Policy: Mask})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.MaskString("ass, bad word"); got != "***, ********" || f.Policy() != Mask {
		t.Fatalf("MaskString = %q, policy %q", got, f.Policy())
	}
	if _, err := New(Config{BlockedWordsFile: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "blocked_words_file") {
		t.Fatalf("missing file: err = %v", err)
	}
	long := filepath.Join(t.TempDir(), "long.txt")
	if err := os.WriteFile(long, []byte(strings.Repeat("a", 1<<17)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{BlockedWordsFile: long}); err == nil {
		t.Fatal("a 128 KiB line was accepted")
	}
}
