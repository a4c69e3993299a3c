// Package archivetest is the contract every archive (usecase.Archive) keeps:
// one suite, run against repository/archive/sqlite and
// repository/archive/postgres, that pins down each sentence of the port's
// documentation through the interface alone.
//
//	func TestContract(t *testing.T) {
//		archivetest.Run(t, func(t *testing.T) usecase.Archive {
//			a, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "a.db"), logtest.Discard())
//			...
//			t.Cleanup(func() { a.Close() })
//			return a
//		})
//	}
package archivetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/repository/archive"
	"github.com/papercast/papercast/usecase"
)

// Run runs the whole contract. newArchive is called once per test with
// that test's *testing.T and must register its own cleanup (t.Cleanup).
// Tests use fresh random paper ids, so archives may share a backend.
func Run(t *testing.T, newArchive func(t *testing.T) usecase.Archive) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, a usecase.Archive)
	}{
		{"GetReturnsExactlyWhatWasPut", getReturnsExactlyWhatWasPut},
		{"UnstorableDocumentIsInvalidAndNotStored", unstorableDocumentIsInvalid},
		{"SecondPutChangesNothing", secondPutChangesNothing},
		{"PutAfterDeleteStoresNothing", putAfterDeleteStoresNothing},
		{"DeleteRemovesAnArchivedPaper", deleteRemovesAnArchivedPaper},
		{"GetOfMissingIsNotFound", getOfMissingIsNotFound},
		{"DeleteTwiceIsHarmless", deleteTwiceIsHarmless},
		{"ConcurrentPutsOfOnePaperStoreOne", concurrentPutsStoreOne},
		{"Ping", ping},
		{"CanceledContextFails", canceledContextFails},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newArchive(t)) })
	}
}

// ID is a fresh random paper id.
func ID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "a" + hex.EncodeToString(b[:])
}

var base = time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)

// Document is a final paper with n notes of a few fields each, as a
// finalized paper comes out of the store.
func Document(id string, n int) domain.Document {
	fin := base.Add(time.Hour)
	hash := sha256.Sum256([]byte("owner key of " + id))
	doc := domain.Document{Paper: domain.Paper{
		ID: id, Title: "Happy birthday", To: "Ana", Status: domain.StatusFinal, Seq: uint64(2 * n), Epoch: "ep" + id[:4],
		CreatedAt: base, FinalizedAt: &fin, Edit: domain.EditAuthors, OwnerKeyHash: hash[:],
	}}
	for i := range n {
		doc.Elements = append(doc.Elements, domain.Element{
			ID:        fmt.Sprintf("n%d", i),
			By:        domain.ElementAuthor{User: fmt.Sprintf("u%d", i%7), Name: "Guest"},
			CreatedAt: base.Add(time.Duration(i) * time.Second),
			Fields: map[string]json.RawMessage{
				"text":  json.RawMessage(`"note number ` + fmt.Sprint(i) + ` with some words of wishes"`),
				"x":     json.RawMessage(fmt.Sprint(i * 13 % 900)),
				"y":     json.RawMessage(fmt.Sprint(i * 7 % 600)),
				"color": json.RawMessage(`"#ffd54f"`),
			},
		})
	}
	return doc
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func roundTripCases() []struct {
	name string
	doc  func(id string) domain.Document
} {
	return []struct {
		name string
		doc  func(id string) domain.Document
	}{
		{"NoElements", func(id string) domain.Document { return Document(id, 0) }},
		{"SomeNotes", func(id string) domain.Document { return Document(id, 5) }},
		{"Unicode", func(id string) domain.Document {
			d := Document(id, 0)
			d.Paper.Title, d.Paper.To = "¡Feliz cumpleaños! 🎂 عيد ميلاد سعيد", "김민준 & <Zoë>"
			d.Elements = []domain.Element{{
				ID: "n1", By: domain.ElementAuthor{User: "ユーザー", Name: "Ünïcødé 👩‍👩‍👧"}, CreatedAt: base,
				Fields: map[string]json.RawMessage{
					// As a client sent them: neither re-escaped (<, >, &,
					// U+2028) nor unescaped (\u00e9 stays six bytes).
					"text": raw(`"<b>ü & é</b> \u00e9 \u2028 ` + "\u2028" + ` 🎉 שלום"`),
					"ключ": raw(`"значение"`),
					"🎨":    raw(`{"nested":["a",1.50,1e3,-0,true,null]}`),
				},
			}}
			return d
		}},
		{"ValuesKeepTheirBytes", func(id string) domain.Document {
			d := Document(id, 0)
			d.Elements = []domain.Element{{ID: "n1", By: domain.ElementAuthor{User: "u1"}, CreatedAt: base,
				Fields: map[string]json.RawMessage{
					"spaced": raw(`{ "a" : [ 1 , 2 ] }`),
					"num":    raw(`1.000`),
					"big":    raw(`123456789012345678901234567890`),
					"str":    raw(`"\/\"\\\b\f\n\r\t"`),
				}}}
			return d
		}},
		{"OrderIsCreationOrderNotIDOrder", func(id string) domain.Document {
			d := Document(id, 0)
			for _, eid := range []string{"zz", "a", "m9", "m10", "0"} {
				d.Elements = append(d.Elements, domain.Element{ID: eid, By: domain.ElementAuthor{User: "u"}, CreatedAt: base,
					Fields: map[string]json.RawMessage{"text": raw(`"` + eid + `"`)}})
			}
			return d
		}},
		{"ElementsWithoutAuthorFieldsOrName", func(id string) domain.Document {
			d := Document(id, 0)
			d.Elements = []domain.Element{
				{ID: "legacy", Fields: map[string]json.RawMessage{"text": raw(`"stored before authors"`)}},
				{ID: "bare", By: domain.ElementAuthor{User: "u1"}, CreatedAt: base},
				{ID: "empty-map", By: domain.ElementAuthor{User: "u2"}, CreatedAt: base, Fields: map[string]json.RawMessage{}},
			}
			return d
		}},
		{"NoOwnerNoFinalizedAtOpenEditHugeSeq", func(id string) domain.Document {
			d := Document(id, 1)
			d.Paper.OwnerKeyHash, d.Paper.FinalizedAt, d.Paper.Edit, d.Paper.Seq = nil, nil, domain.EditOpen, math.MaxInt64
			d.Paper.Title, d.Paper.To = "", ""
			return d
		}},
		{"MicrosecondPaperTimes", func(id string) domain.Document {
			d := Document(id, 1)
			d.Paper.CreatedAt = base.Add(123456 * time.Microsecond)
			fin := base.Add(time.Hour + time.Microsecond)
			d.Paper.FinalizedAt = &fin
			return d
		}},
		{"BigDocument", func(id string) domain.Document {
			d := Document(id, 2000)
			long := raw(`"` + strings.Repeat("wish you the best ✨ ", 50) + `"`)
			for i := range d.Elements {
				d.Elements[i].Fields["long"] = long
			}
			return d
		}},
	}
}

func getReturnsExactlyWhatWasPut(t *testing.T, a usecase.Archive) {
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			id := ID()
			want := tc.doc(id)
			if err := a.Put(t.Context(), want); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := a.Get(t.Context(), id)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := Diff(got, want); diff != "" {
				t.Fatalf("Get differs from what was put: %s", diff)
			}
		})
	}
	t.Run("TimesComeBackUTC", func(t *testing.T) {
		id := ID()
		want := Document(id, 1)
		east := time.FixedZone("east", 5*3600)
		want.Paper.CreatedAt = want.Paper.CreatedAt.In(east)
		fin := want.Paper.FinalizedAt.In(east)
		want.Paper.FinalizedAt = &fin
		if err := a.Put(t.Context(), want); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := a.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if diff := Diff(got, want); diff != "" {
			t.Fatalf("Get differs: %s", diff)
		}
		if got.Paper.CreatedAt.Location() != time.UTC || got.Paper.FinalizedAt.Location() != time.UTC {
			t.Fatalf("times in %v and %v, want UTC", got.Paper.CreatedAt.Location(), got.Paper.FinalizedAt.Location())
		}
	})
}

func unstorableDocumentIsInvalid(t *testing.T, a usecase.Archive) {
	for _, tc := range []struct {
		name  string
		spoil func(d *domain.Document)
	}{
		{"NotFinal", func(d *domain.Document) { d.Paper.Status = domain.StatusOpen; d.Paper.FinalizedAt = nil }},
		{"TitleNotUTF8", func(d *domain.Document) { d.Paper.Title = "bad \xff byte" }},
		{"ToHoldsNUL", func(d *domain.Document) { d.Paper.To = "a\x00b" }},
		{"SubMicrosecondPaperTime", func(d *domain.Document) { d.Paper.CreatedAt = base.Add(time.Nanosecond) }},
		{"FinalizedAfterYear9999", func(d *domain.Document) { at := base.AddDate(8000, 0, 0); d.Paper.FinalizedAt = &at }},
		{"SeqOverflowsSQL", func(d *domain.Document) { d.Paper.Seq = math.MaxInt64 + 1 }},
		{"ValueWithLeadingSpace", func(d *domain.Document) { d.Elements[0].Fields["text"] = raw(` "x"`) }},
		{"ValueNotJSON", func(d *domain.Document) { d.Elements[0].Fields["text"] = raw(`{"a":`) }},
		{"ReservedFieldName", func(d *domain.Document) { d.Elements[0].Fields["createdAt"] = raw(`"x"`) }},
		{"NameWithoutUser", func(d *domain.Document) { d.Elements[0].By = domain.ElementAuthor{Name: "Ana"} }},
		{"SubSecondElementTime", func(d *domain.Document) { d.Elements[0].CreatedAt = base.Add(time.Millisecond) }},
		{"UserNotUTF8", func(d *domain.Document) { d.Elements[0].By.User = "\xc3" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := ID()
			d := Document(id, 2)
			tc.spoil(&d)
			if err := a.Put(t.Context(), d); !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("Put = %v, want ErrInvalid", err)
			}
			if _, err := a.Get(t.Context(), id); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("Get after a refused Put = %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("BadID", func(t *testing.T) {
		d := Document(ID(), 1)
		d.Paper.ID = "../etc"
		if err := a.Put(t.Context(), d); !errors.Is(err, domain.ErrInvalid) {
			t.Fatalf("Put = %v, want ErrInvalid", err)
		}
	})
}

func mustGet(t *testing.T, a usecase.Archive, id string) domain.Document {
	t.Helper()
	got, err := a.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return got
}

func mustNotFound(t *testing.T, a usecase.Archive, id, when string) {
	t.Helper()
	if _, err := a.Get(t.Context(), id); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Get %s: %v, want ErrNotFound", when, err)
	}
}

func secondPutChangesNothing(t *testing.T, a usecase.Archive) {
	id := ID()
	first := Document(id, 3)
	second := Document(id, 4)
	second.Paper.Title, second.Paper.Seq = "a later title", first.Paper.Seq+10
	for i, d := range []domain.Document{first, second, first} {
		if err := a.Put(t.Context(), d); err != nil {
			t.Fatalf("Put %d: %v", i+1, err)
		}
	}
	if diff := Diff(mustGet(t, a, id), first); diff != "" {
		t.Fatalf("after three Puts, Get is not the first: %s", diff)
	}
}

func putAfterDeleteStoresNothing(t *testing.T, a usecase.Archive) {
	t.Run("NeverArchived", func(t *testing.T) {
		id := ID()
		if err := a.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := a.Put(t.Context(), Document(id, 2)); err != nil {
			t.Fatalf("late Put = %v, want nil", err)
		}
		mustNotFound(t, a, id, "after Delete then Put")
	})
	t.Run("Archived", func(t *testing.T) {
		id := ID()
		if err := a.Put(t.Context(), Document(id, 2)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := a.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := a.Put(t.Context(), Document(id, 2)); err != nil {
			t.Fatalf("late Put = %v, want nil", err)
		}
		mustNotFound(t, a, id, "after Put, Delete, Put")
	})
}

func deleteRemovesAnArchivedPaper(t *testing.T, a usecase.Archive) {
	keep, gone := ID(), ID()
	for _, id := range []string{keep, gone} {
		if err := a.Put(t.Context(), Document(id, 2)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if err := a.Delete(t.Context(), gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustNotFound(t, a, gone, "after Delete")
	if diff := Diff(mustGet(t, a, keep), Document(keep, 2)); diff != "" {
		t.Fatalf("Delete of another paper changed this one: %s", diff)
	}
}

func getOfMissingIsNotFound(t *testing.T, a usecase.Archive) {
	for _, id := range []string{ID(), "not a paper id", "", strings.Repeat("x", 500)} {
		mustNotFound(t, a, id, fmt.Sprintf("of missing %q", id))
	}
}

func deleteTwiceIsHarmless(t *testing.T, a usecase.Archive) {
	id := ID()
	if err := a.Put(t.Context(), Document(id, 1)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for i := range 2 {
		if err := a.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete %d: %v", i+1, err)
		}
	}
	mustNotFound(t, a, id, "after two Deletes")
}

// Two replicas archive one paper at once (both saw it finalized): both
// succeed and one document is kept whole, never a mix of the two.
func concurrentPutsStoreOne(t *testing.T, a usecase.Archive) {
	const n = 8
	id := ID()
	docs := make([]domain.Document, n)
	for i := range docs {
		docs[i] = Document(id, 3+i)
		docs[i].Paper.Title = fmt.Sprintf("variant %d", i)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = a.Put(t.Context(), docs[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	got := mustGet(t, a, id)
	for _, d := range docs {
		if Diff(got, d) == "" {
			return
		}
	}
	t.Fatalf("Get %q with %d elements is none of the documents put", got.Paper.Title, len(got.Elements))
}

func ping(t *testing.T, a usecase.Archive) {
	if err := a.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func canceledContextFails(t *testing.T, a usecase.Archive) {
	id := ID()
	if err := a.Put(t.Context(), Document(id, 1)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range map[string]func() error{
		"Put":    func() error { return a.Put(ctx, Document(ID(), 1)) },
		"Get":    func() error { _, err := a.Get(ctx, id); return err },
		"Delete": func() error { return a.Delete(ctx, id) },
		"Ping":   func() error { return a.Ping(ctx) },
	} {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	// The canceled Delete did nothing.
	mustGet(t, a, id)
}

// Diff describes how got differs from want in what the archive keeps ("" if
// it does not): every paper field (instants compared as instants), every
// element in order, every field value byte for byte. A nil and an empty
// slice or map are the same.
func Diff(got, want domain.Document) string {
	g, w := got.Paper, want.Paper
	var d []string
	add := func(what string, gv, wv any) { d = append(d, fmt.Sprintf("%s: got %v, want %v", what, gv, wv)) }
	if g.ID != w.ID || g.Title != w.Title || g.To != w.To || g.Status != w.Status || g.Seq != w.Seq ||
		g.Epoch != w.Epoch || g.Edit != w.Edit {
		add("paper", fmt.Sprintf("%q", []any{g.ID, g.Title, g.To, g.Status, g.Seq, g.Epoch, g.Edit}),
			fmt.Sprintf("%q", []any{w.ID, w.Title, w.To, w.Status, w.Seq, w.Epoch, w.Edit}))
	}
	if !g.CreatedAt.Equal(w.CreatedAt) {
		add("createdAt", g.CreatedAt, w.CreatedAt)
	}
	if (g.FinalizedAt == nil) != (w.FinalizedAt == nil) || g.FinalizedAt != nil && !g.FinalizedAt.Equal(*w.FinalizedAt) {
		add("finalizedAt", g.FinalizedAt, w.FinalizedAt)
	}
	if !bytes.Equal(g.OwnerKeyHash, w.OwnerKeyHash) {
		add("ownerKeyHash", g.OwnerKeyHash, w.OwnerKeyHash)
	}
	if len(got.Elements) != len(want.Elements) {
		add("elements", len(got.Elements), len(want.Elements))
		return strings.Join(d, "; ")
	}
	for i, ge := range got.Elements {
		we := want.Elements[i]
		if ge.ID != we.ID || ge.By != we.By || !ge.CreatedAt.Equal(we.CreatedAt) {
			add(fmt.Sprintf("element %d", i), fmt.Sprintf("%q %q %v", ge.ID, ge.By, ge.CreatedAt), fmt.Sprintf("%q %q %v", we.ID, we.By, we.CreatedAt))
		}
		if !maps.EqualFunc(ge.Fields, we.Fields, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }) {
			add(fmt.Sprintf("element %d fields", i), fields(ge.Fields), fields(we.Fields))
		}
	}
	return strings.Join(d, "; ")
}

func fields(m map[string]json.RawMessage) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%q=%q ", k, m[k])
	}
	return b.String()
}

// MigrationsGoDownAndUp takes every migration of the schema in db down to
// nothing and up again (the archive behind db should hold data), then
// checks db is at the newest version: a broken Down is caught before
// someone needs it.
func MigrationsGoDownAndUp(t *testing.T, dialect goose.Dialect, db *sql.DB, migrations fs.FS) {
	t.Helper()
	p, err := archive.NewMigrator(dialect, db, migrations, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if v, err := p.GetDBVersion(t.Context()); err != nil || v != int64(len(p.ListSources())) {
		t.Fatalf("version %d (%v), want %d", v, err, len(p.ListSources()))
	}
}
