package card

import (
	"encoding/json"
	"image/color"
	"reflect"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
)

func TestMasonryPlacesNotesWithoutOverlap(t *testing.T) {
	cases := []struct {
		name    string
		heights []int
		cols    int
	}{
		{"one note", []int{120}, 1},
		{"equal notes", []int{120, 120, 120, 120, 120, 120, 120}, 4},
		{"mixed heights", []int{120, 800, 140, 120, 300, 120, 120, 500, 120, 121}, 4},
		{"more columns than notes", []int{200, 120}, 4},
		{"tall first", []int{2000, 120, 120, 120, 120, 120}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rects, h := masonry(tc.heights, tc.cols)
			if len(rects) != len(tc.heights) {
				t.Fatalf("%d rects for %d notes", len(rects), len(tc.heights))
			}
			for i, r := range rects {
				if r.Dy() != tc.heights[i] || r.Dx() != noteWidth {
					t.Errorf("note %d is %v, want %dx%d", i, r.Size(), noteWidth, tc.heights[i])
				}
				if r.Min.X < 0 || r.Max.X > columnsWidth(tc.cols) || r.Min.Y < 0 || r.Max.Y > h {
					t.Errorf("note %d at %v is outside the %dx%d area", i, r, columnsWidth(tc.cols), h)
				}
				for j := range i {
					if r.Overlaps(rects[j]) {
						t.Errorf("note %d at %v overlaps note %d at %v", i, r, j, rects[j])
					}
				}
			}
			again, h2 := masonry(tc.heights, tc.cols)
			if !reflect.DeepEqual(rects, again) || h != h2 {
				t.Error("the same notes were placed differently")
			}
		})
	}
}

func TestChooseColumns(t *testing.T) {
	many := func(n, h int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = h
		}
		return out
	}
	cases := []struct {
		name    string
		heights []int
		want    int
	}{
		{"one note, one column", many(1, 120), 1},
		{"three notes side by side", many(3, 120), 3},
		{"twenty short notes", many(20, 140), baseColumns},
		{"a hundred long notes get wider", many(100, 400), maxColumns},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := chooseColumns(tc.heights); got != tc.want {
				t.Errorf("columns = %d, want %d", got, tc.want)
			}
		})
	}
}

func el(id string, fields map[string]string) domain.Element {
	f := map[string]json.RawMessage{}
	for k, v := range fields {
		f[k] = json.RawMessage(v)
	}
	return domain.Element{ID: id, Fields: f}
}

func TestFromDocumentReadsNotesInBoardOrder(t *testing.T) {
	fin := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	doc := domain.Document{
		Paper: domain.Paper{ID: "p", Title: "T", To: "Ada", Status: domain.StatusFinal, FinalizedAt: &fin},
		Elements: []domain.Element{
			el("unplaced", map[string]string{"text": `"no position"`}),
			el("right", map[string]string{"text": `"top right"`, "x": "900", "y": "30"}),
			el("empty", map[string]string{"text": `"   "`, "x": "0", "y": "0"}),
			el("left", map[string]string{"text": `"top left"`, "x": "10", "y": "100", "color": `"#c8e6c9"`}),
			el("below", map[string]string{"text": `"second row"`, "x": "0", "y": "400"}),
			el("notext", map[string]string{"x": "5", "y": "5"}),
			el("badtext", map[string]string{"text": "42", "x": "5", "y": "5"}),
			el("badpos", map[string]string{"text": `"bad y"`, "x": "1", "y": `"top"`}),
		},
	}
	c := FromDocument(doc)
	var got []string
	for _, n := range c.Notes {
		got = append(got, n.Text)
	}
	want := []string{"top left", "top right", "second row", "no position", "bad y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notes = %q, want %q", got, want)
	}
	if c.Title != "T" || c.To != "Ada" || !c.Final || !c.Date.Equal(fin) {
		t.Errorf("card header = %+v", c)
	}
	if c.Notes[0].Color != "#c8e6c9" {
		t.Errorf("color = %q", c.Notes[0].Color)
	}
}

// TestNotesAreSignedByTheirAuthor: each note is signed with the display
// name of the element's server-stamped author, never with a field a
// client wrote; no name signs nothing.
func TestNotesAreSignedByTheirAuthor(t *testing.T) {
	named := el("a", map[string]string{"text": `"hi"`, "author": `"Mallory"`})
	named.By = domain.ElementAuthor{User: "u7", Name: "Ben"}
	anonymous := el("b", map[string]string{"text": `"yo"`})
	anonymous.By = domain.ElementAuthor{User: "u8"}
	c := FromDocument(domain.Document{Elements: []domain.Element{named, anonymous}})
	if len(c.Notes) != 2 || c.Notes[0].Author != "Ben" || c.Notes[1].Author != "" {
		t.Fatalf("notes %+v, want signed Ben, then unsigned", c.Notes)
	}
}

func TestParseColor(t *testing.T) {
	cases := []struct {
		in   string
		want color.NRGBA
	}{
		{"#fff59d", color.NRGBA{0xff, 0xf5, 0x9d, 0xff}},
		{"#BBDEFB", color.NRGBA{0xbb, 0xde, 0xfb, 0xff}},
		{"#abc", color.NRGBA{0xaa, 0xbb, 0xcc, 0xff}},
		{"#00000000", color.NRGBA{0xff, 0xff, 0xff, 0xff}}, // transparent over white
		{"#0008", color.NRGBA{0x77, 0x77, 0x77, 0xff}},
		{"red", defaultNote},
		{"#12345", defaultNote},
		{"#gggggg", defaultNote},
		{"", defaultNote},
	}
	for _, tc := range cases {
		if got := parseColor(tc.in); got != tc.want {
			t.Errorf("parseColor(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
