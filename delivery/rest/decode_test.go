package rest

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/papercast/papercast/domain"
)

func TestDecodeCreate(t *testing.T) {
	cases := []struct {
		body      string
		title, to string
		ok        bool
	}{
		{`{"title":"t","to":"Ana"}`, "t", "Ana", true},
		{` {"to":"Ana", "title":"t"} `, "t", "Ana", true},
		{`{"title":"t","to":null}`, "t", "", true},
		{`{"title":"t","unknown":{"deep":[1,2,3]}}`, "t", "", true},
		{`{"title":"\u00e9\ud83d\ude00"}`, "é😀", "", true},
		{`{"title":"a","title":"b"}`, "b", "", true}, // last wins, as JSON.parse does
		{`{"title":""}`, "", "", true},               // the service checks the title rules
		{`{"title":null}`, "", "", false},
		{`{"title":1}`, "", "", false},
		{`{"title":true}`, "", "", false},
		{`{"title":{"a":1}}`, "", "", false},
		{`{"title":"t","to":1}`, "", "", false},
		{`{"Title":"t"}`, "", "", false},
		{`{}`, "", "", false},
		{``, "", "", false},
		{`null`, "", "", false},
		{`"t"`, "", "", false},
		{`[]`, "", "", false},
		{`{"title":"t"}x`, "", "", false},
		{`{"title":"t"}{}`, "", "", false},
		{`{"title":"t",}`, "", "", false},
		{`{"title":'t'}`, "", "", false},
		{"{\"title\":\"\xc3\x28\"}", "", "", false},
	}
	for _, tc := range cases {
		got, err := decodeCreate([]byte(tc.body))
		if tc.ok != (err == nil) {
			t.Errorf("decodeCreate(%q) error = %v, want ok=%v", tc.body, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("decodeCreate(%q) error %v does not wrap ErrInvalid", tc.body, err)
			}
			continue
		}
		if got.Title != tc.title || got.To != tc.to {
			t.Errorf("decodeCreate(%q) = %+v, want title %q to %q", tc.body, got, tc.title, tc.to)
		}
	}
}

func TestDecodeCreateEdit(t *testing.T) {
	cases := []struct {
		body string
		edit string
		ok   bool
	}{
		{`{"title":"t"}`, "", true},
		{`{"title":"t","edit":null}`, "", true},
		{`{"title":"t","edit":"open"}`, "open", true},
		{`{"title":"t","edit":"anything"}`, "anything", true}, // the service checks the policy
		{`{"title":"t","edit":1}`, "", false},
		{`{"title":"t","edit":["open"]}`, "", false},
	}
	for _, tc := range cases {
		got, err := decodeCreate([]byte(tc.body))
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("decodeCreate(%q) error = %v, want ok=%v", tc.body, err, tc.ok)
			continue
		}
		if got.Edit != tc.edit {
			t.Errorf("decodeCreate(%q) edit %q, want %q", tc.body, got.Edit, tc.edit)
		}
	}
}

func TestDecodeRequired(t *testing.T) {
	cases := []struct {
		body string
		want string
		ok   bool
	}{
		{`{"user":"u7"}`, "u7", true},
		{`{"user":"a \"b\" \u00e9","x":1}`, `a "b" é`, true},
		{`{"user":""}`, "", true}, // the service checks the user rules
		{`{"user":null}`, "", false},
		{`{"user":7}`, "", false},
		{`{"User":"u7"}`, "", false},
		{`{}`, "", false},
		{`{"user":"u7"} {}`, "", false},
		{``, "", false},
	}
	for _, tc := range cases {
		got, err := decodeRequired([]byte(tc.body), "user")
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("decodeRequired(%q) error = %v, want ok=%v", tc.body, err, tc.ok)
			continue
		}
		if got != tc.want {
			t.Errorf("decodeRequired(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestCheckJSONContentType(t *testing.T) {
	for ct, ok := range map[string]bool{
		"application/json":                 true,
		"application/json; charset=utf-8":  true,
		"Application/JSON":                 true,
		"":                                 false,
		"text/plain":                       false,
		"application/jsonp":                false,
		"application/json-patch+json":      false,
		"multipart/form-data; boundary=xx": false,
		"application/json; =bad":           false,
	} {
		err := checkJSONContentType(ct)
		if (err == nil) != ok {
			t.Errorf("checkJSONContentType(%q) = %v, want ok=%v", ct, err, ok)
		}
		if err != nil && !errors.Is(err, domain.ErrUnsupported) {
			t.Errorf("checkJSONContentType(%q) error %v does not wrap ErrUnsupported", ct, err)
		}
	}
}

// FuzzDecodeCreate: the create-body decoder never panics; it accepts only
// single valid JSON objects whose "title" is a string (and "to" a string or
// null), returns exactly those strings, and rejects everything else with
// ErrInvalid.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"title":"Happy birthday","to":"Ana"}`,
		`{"title":"t","to":null,"extra":[1,{"a":null}]}`,
		`{"title":"\u00e9\ud83d"}`,
		`{"title":1}`,
		`{"title":"t"} {}`,
		`{"title":"t"`,
		`[{"title":"t"}]`,
		"{\"title\":\"\xff\"}",
		`  {"to":"x","title":""}  `,
		`{"title":"a","title":"b"}`,
		`{"TITLE":"t"}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeCreate(body)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not valid JSON/UTF-8: %q", body)
		}
		var top map[string]any
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("accepted a non-object: %q", body)
		}
		title, ok := top["title"].(string)
		if !ok || title != got.Title {
			t.Fatalf("title %q, json says %#v", got.Title, top["title"])
		}
		switch to := top["to"].(type) {
		case nil:
			if got.To != "" {
				t.Fatalf("to %q from a missing/null to", got.To)
			}
		case string:
			if to != got.To {
				t.Fatalf("to %q, json says %q", got.To, to)
			}
		default:
			t.Fatalf("accepted to of type %T", to)
		}
		if !utf8.ValidString(got.Title) || !utf8.ValidString(got.To) {
			t.Fatalf("decoded strings are not UTF-8: %+v from %q", got, body)
		}
	})
}
