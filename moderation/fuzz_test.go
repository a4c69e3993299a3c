package moderation

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzJSON: on any input MaskJSON and MatchJSON never panic and agree on
// whether something matched; on valid JSON the masked value is valid JSON
// with the same tokens in the same order, where each string keeps its
// length in runes and differs only by characters turned into '*'; with no
// match the value comes back byte for byte.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"text":"you ass"}`, `"ＡＳＳ"`, `["bad\nword", {"k":"\ud835\udc1a\ud835\udc2c\ud835\udc2c"}]`,
		`{"ass":"ass"}`, `"\ud800ass"`, `"a\u200bss"`, `{"t":"너 바보!"}`, `"你是傻瓜吗"`,
		`"cafe\u0301"`, `[1,true,null,"fuck"]`, "\"\xffass\"", `{`, ``,
	} {
		f.Add([]byte(s))
	}
	filter, err := NewFilter(testWords, Mask)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		masked, changed, err := filter.MaskJSON(in)
		matched, merr := filter.MatchJSON(in)
		if !json.Valid(in) {
			if !errors.Is(err, ErrInvalidJSON) || !errors.Is(merr, ErrInvalidJSON) {
				t.Fatalf("invalid JSON %q: errors %v, %v", in, err, merr)
			}
			return
		}
		if err != nil || merr != nil {
			t.Fatalf("valid JSON %q: errors %v, %v", in, err, merr)
		}
		if changed != matched {
			t.Fatalf("%q: MaskJSON says %v, MatchJSON says %v", in, changed, matched)
		}
		if !changed {
			if !bytes.Equal(masked, in) {
				t.Fatalf("%q: no match but the value changed to %q", in, masked)
			}
			return
		}
		if !json.Valid(masked) {
			t.Fatalf("%q: masked value is not JSON: %q", in, masked)
		}
		sameTokensMasked(t, in, masked)
	})
}

// sameTokensMasked checks that b is a with some characters of its strings
// replaced by '*', one for one.
func sameTokensMasked(t *testing.T, a, b []byte) {
	t.Helper()
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	for {
		ta, ea := da.Token()
		tb, eb := db.Token()
		if ea == io.EOF && eb == io.EOF {
			return
		}
		if ea != nil || eb != nil {
			t.Fatalf("tokens of %q / %q: %v, %v", a, b, ea, eb)
		}
		sa, okA := ta.(string)
		sb, okB := tb.(string)
		if !okA || !okB {
			if ta != tb {
				t.Fatalf("%q -> %q: token %v became %v", a, b, ta, tb)
			}
			continue
		}
		if utf8.RuneCountInString(sa) != utf8.RuneCountInString(sb) {
			t.Fatalf("%q -> %q: string %q (%d runes) became %q (%d runes)", a, b, sa, utf8.RuneCountInString(sa), sb, utf8.RuneCountInString(sb))
		}
		ra, rb := []rune(sa), []rune(sb)
		for i := range ra {
			if ra[i] != rb[i] && rb[i] != '*' {
				t.Fatalf("%q -> %q: string %q became %q", a, b, sa, sb)
			}
		}
	}
}

// FuzzString: MaskString keeps the length in runes, changes characters
// only to '*', and agrees with MatchString.
func FuzzString(f *testing.F) {
	for _, s := range []string{"you ass", "class", "ＡＳＳ", "bad\n word up", "ﬁg", "SCHEIẞE", "\xffass", "ﾊﾞｶだ", "\u1107\u1161\u1107\u1169"} {
		f.Add(s)
	}
	filter, err := NewFilter(testWords, Mask)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, changed := filter.MaskString(in)
		if changed != filter.MatchString(in) {
			t.Fatalf("%q: MaskString changed %v, MatchString disagrees", in, changed)
		}
		if !changed && out != in {
			t.Fatalf("%q: no match but became %q", in, out)
		}
		ra, rb := []rune(in), []rune(out)
		if len(ra) != len(rb) {
			t.Fatalf("%q (%d runes) became %q (%d runes)", in, len(ra), out, len(rb))
		}
		for i := range ra {
			if ra[i] != rb[i] && rb[i] != '*' {
				t.Fatalf("%q became %q", in, out)
			}
		}
	})
}
