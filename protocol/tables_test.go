package protocol

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/papercast/papercast/domain"
)

// section returns the lines of docs/protocol.md under heading, up to the
// next heading of the same or a higher level.
func section(t *testing.T, heading string) []string {
	t.Helper()
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	level := strings.Index(heading, " ")
	var out []string
	in := false
	for _, line := range strings.Split(string(doc), "\n") {
		if line == heading {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "#") && strings.Index(line, " ") <= level {
			break
		}
		if in {
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("docs/protocol.md has no %q", heading)
	}
	return out
}

// tableRows returns the cells of each body row of the markdown tables in lines.
func tableRows(lines []string) [][]string {
	var rows [][]string
	for _, l := range lines {
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| ---") {
			continue
		}
		rows = append(rows, strings.Split(strings.Trim(l, "| "), " | "))
	}
	return rows[1:] // the header
}

var backticked = regexp.MustCompile("`([a-z_]+)`")

// TestErrorTableMatchesTheDocs: the WebSocket error code table of
// docs/protocol.md lists exactly the frame codes of Errors, and its REST
// error table exactly the REST codes, so the table here is the one truth.
func TestErrorTableMatchesTheDocs(t *testing.T) {
	var docFrame []string
	for _, row := range tableRows(section(t, "## Error codes")) {
		docFrame = append(docFrame, strings.Trim(row[0], "`"))
	}
	if want := FrameCodes(); !slices.Equal(docFrame, want) {
		t.Errorf("docs/protocol.md error codes %v, protocol.Errors frame codes %v", docFrame, want)
	}
	var docREST []string
	for _, row := range tableRows(section(t, "### Errors")) {
		for _, m := range backticked.FindAllStringSubmatch(row[1], -1) {
			docREST = append(docREST, m[1])
		}
	}
	var want []string
	for _, e := range Errors {
		if e.REST {
			want = append(want, e.Code)
		}
	}
	slices.Sort(docREST)
	slices.Sort(want)
	if !slices.Equal(docREST, want) {
		t.Errorf("docs/protocol.md REST codes %v, protocol.Errors REST codes %v", docREST, want)
	}
	seen := map[string]bool{}
	for _, e := range Errors {
		if seen[e.Code] || e.Meaning == "" || !(e.Frame || e.REST) {
			t.Errorf("error table entry %+v: duplicate, no meaning, or used nowhere", e)
		}
		seen[e.Code] = true
	}
}

// TestCloseTableMatchesTheDocs: the close code table of docs/protocol.md
// lists exactly the codes of Disconnects (plus 1006, which only a client
// sees), and says "do not reconnect" exactly for those that should not.
func TestCloseTableMatchesTheDocs(t *testing.T) {
	reconnect := map[int]bool{}
	for _, d := range Disconnects {
		if r, ok := reconnect[d.Code]; ok && r != d.Reconnect {
			t.Errorf("close code %d both does and does not reconnect", d.Code)
		}
		reconnect[d.Code] = d.Reconnect
		if len(d.Reason) > 123 || d.Reason == "" {
			t.Errorf("close %d: reason %q must be 1-123 bytes", d.Code, d.Reason)
		}
	}
	documented := map[int]bool{}
	for _, row := range tableRows(section(t, "## Close codes")) {
		code, err := strconv.Atoi(row[0])
		if err != nil {
			t.Fatalf("close table row %v", row)
		}
		documented[code] = true
		if code == 1006 {
			continue
		}
		r, ok := reconnect[code]
		if !ok {
			t.Errorf("docs/protocol.md lists close %d, which the server never sends", code)
			continue
		}
		if stop := strings.HasPrefix(row[len(row)-1], "Do not reconnect"); stop == r {
			t.Errorf("close %d: docs say %q, table says reconnect=%v", code, row[len(row)-1], r)
		}
	}
	for code := range reconnect {
		if !documented[code] {
			t.Errorf("close %d is not in docs/protocol.md", code)
		}
	}
}

// TestDecodeAcceptsExactlyTheClientTypes: each type of ClientTypes decodes,
// and a type outside it is unsupported.
func TestDecodeAcceptsExactlyTheClientTypes(t *testing.T) {
	samples := map[string]string{
		TypeUpsert:   `{"type":"upsert","id":"n1","fields":{"a":1}}`,
		TypeDelete:   `{"type":"delete","id":"n1"}`,
		TypePresence: `{"type":"presence","state":{}}`,
		TypeClaim:    `{"type":"claim","ownerKey":"k"}`,
		TypeBan:      `{"type":"ban","user":"u7"}`,
	}
	for _, typ := range ClientTypes() {
		in, ok := samples[typ]
		if !ok {
			t.Errorf("client type %q has no sample here", typ)
			continue
		}
		if f, err := DecodeClient([]byte(in)); err != nil || f.Type != typ {
			t.Errorf("%s: %+v %v", in, f, err)
		}
	}
	if _, err := DecodeClient([]byte(`{"type":"move","id":"n1"}`)); !errors.Is(err, domain.ErrUnsupported) {
		t.Errorf("a type outside ClientTypes: %v", err)
	}
}
