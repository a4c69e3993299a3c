package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/usecase"
)

// testRules: the rules of a rolling paper, which the store keeps inside its
// atomic step: every element's author, the edit policy, and bans. The last
// tests run the hub and the REST handlers on the store under test, because
// what they check (a banned join, authors in a snapshot frame and in GET)
// is only as good as what the store keeps.
func testRules(t *testing.T, e *env) {
	subtests(t, e, []subtest{
		{"CreatorIsTheAuthor", testCreatorIsTheAuthor},
		{"AuthorSurvivesEveryLaterUpsert", testAuthorSurvivesEveryLaterUpsert},
		{"ReCreatedElementHasItsNewAuthor", testReCreatedElementHasItsNewAuthor},
		{"OthersCannotChangeOrDeleteAnElement", testOthersCannotChangeOrDelete},
		{"OwnerSessionsAndOpenPapersEditAnything", testOwnerAndOpenEditAnything},
		{"PolicyChangeTakesASeq", testPolicyChangeTakesASeq},
		{"PolicyChangeAndEditsAreAtomic", testPolicyChangeAndEditsAreAtomic},
		{"BansBlockApplies", testBansBlockApplies},
		{"BansGoWithThePaper", testBansGoWithThePaper},
		{"HubRefusesBannedJoinsAndReservedNames", testHubRefusesBannedJoins},
		{"SnapshotFrameAndRESTCarryAuthors", testSnapshotFrameAndRESTCarryAuthors},
	})
}

var t0 = time.Date(2026, 11, 25, 18, 39, 38, 0, time.UTC)

// Editors of the rules tests. bob's user id and ada's name hold what a
// store's own record format could trip on: spaces, digits, a newline,
// quotes, non-ASCII.
var (
	ada = usecase.Editor{User: "ada", Name: `Ada "the" Writer 7`, At: t0.Add(750 * time.Millisecond)}
	bob = usecase.Editor{User: "12 3 bob\n🎉", At: t0.Add(time.Hour)}
	// owner is an owner session of a user who wrote nothing.
	owner = usecase.Editor{User: "zed", Name: "Zed", Owner: true, At: t0.Add(2 * time.Hour)}
)

// authorOf is the author an editor's new elements get.
func authorOf(ed usecase.Editor) domain.ElementAuthor {
	return domain.ElementAuthor{User: ed.User, Name: ed.Name}
}

// applyBy applies op as ed, with the op body a session of ed would send
// (no session order: these tests are about who, not when).
func (e *env) applyBy(t *testing.T, id string, op domain.Op, ed usecase.Editor) (uint64, error) {
	t.Helper()
	body := protocol.OpBody(op, domain.Author{Session: "s-" + ed.Name, User: ed.User, Name: ed.Name})
	return e.Store.Apply(t.Context(), id, op, body, usecase.OpOrder{}, ed)
}

// mustApplyBy applies op as ed and fails the test on error.
func (e *env) mustApplyBy(t *testing.T, id string, op domain.Op, ed usecase.Editor) uint64 {
	t.Helper()
	seq, err := e.applyBy(t, id, op, ed)
	if err != nil {
		t.Fatalf("Apply %s %s as %q: %v", op.Kind, op.ID, ed.User, err)
	}
	return seq
}

// newPaperWith creates an open paper with the given edit policy.
func (e *env) newPaperWith(t *testing.T, edit string) domain.Paper {
	t.Helper()
	p := paperFixture()
	p.Edit = edit
	created, err := e.Store.Create(t.Context(), p)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return created
}

// wantAuthors fails unless the snapshot's elements have exactly these
// authors and creation times (whole seconds), in order.
func (e *env) wantAuthors(t *testing.T, id string, want ...domain.Element) {
	t.Helper()
	doc := e.snapshot(t, id)
	if len(doc.Elements) != len(want) {
		t.Fatalf("snapshot has %d elements, want %d", len(doc.Elements), len(want))
	}
	for i, w := range want {
		g := doc.Elements[i]
		if g.ID != w.ID || g.By != w.By || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Fatalf("element %d: %s by %q (%q) created %v, want %s by %q (%q) created %v",
				i, g.ID, g.By.User, g.By.Name, g.CreatedAt, w.ID, w.By.User, w.By.Name, w.CreatedAt)
		}
	}
}

// authored is the element id as ed created it.
func authored(id string, ed usecase.Editor) domain.Element {
	return domain.Element{ID: id, By: authorOf(ed), CreatedAt: ed.At.Truncate(time.Second)}
}

func testCreatorIsTheAuthor(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.mustApplyBy(t, p.ID, up("n1", "text", `"hi"`), ada)
	e.mustApplyBy(t, p.ID, up("n2", "text", "null"), bob)
	// createdAt is stamped with whole seconds, whatever the store's clock.
	e.wantAuthors(t, p.ID, authored("n1", ada), authored("n2", bob))
	if at := e.snapshot(t, p.ID).Elements[0].CreatedAt; !at.Equal(t0) {
		t.Fatalf("createdAt %v, want %v (whole seconds)", at, t0)
	}
}

func testAuthorSurvivesEveryLaterUpsert(t *testing.T, e *env) {
	for _, edit := range []string{domain.EditOpen, domain.EditAuthors} {
		t.Run(edit, func(t *testing.T) {
			p := e.newPaperWith(t, edit)
			e.mustApplyBy(t, p.ID, up("n1", "text", `"hi"`, "x", "1"), ada)
			renamed := ada
			renamed.Name, renamed.At = "Ada Lovelace", t0.Add(24*time.Hour)
			later := []struct {
				op domain.Op
				ed usecase.Editor
			}{
				{up("n1", "text", `"by the owner"`), owner},
				{up("n1", "text", "null", "x", "null"), owner},
				{up("n1", "y", "2"), renamed},
			}
			if edit == domain.EditOpen {
				later = append(later, struct {
					op domain.Op
					ed usecase.Editor
				}{up("n1", "text", `"bob was here"`), bob})
			}
			for _, l := range later {
				e.mustApplyBy(t, p.ID, l.op, l.ed)
				e.wantAuthors(t, p.ID, authored("n1", ada))
			}
		})
	}
}

func testReCreatedElementHasItsNewAuthor(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.mustApplyBy(t, p.ID, up("n1", "text", `"hi"`), ada)
	e.mustApplyBy(t, p.ID, del("n1"), ada)
	// Deleted, the id is free: creating it again is open to anyone.
	e.mustApplyBy(t, p.ID, up("n1", "text", `"mine now"`), bob)
	e.wantAuthors(t, p.ID, authored("n1", bob))
	if _, err := e.applyBy(t, p.ID, up("n1", "text", `"no"`), ada); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("the first author edits the re-created element: %v, want ErrForbidden", err)
	}
}

func testOthersCannotChangeOrDelete(t *testing.T, e *env) {
	p := e.newPaper(t) // the default policy: authors
	if p.Edit != domain.EditAuthors {
		t.Fatalf("a paper created without a policy has %q, want %q", p.Edit, domain.EditAuthors)
	}
	e.mustApplyBy(t, p.ID, up("n1", "text", `"ada's"`), ada)
	r, _ := e.subscribe(t, p.ID)
	before := e.snapshot(t, p.ID)
	sameName := bob
	sameName.Name = ada.Name // a name proves nothing; the user id decides
	otherCase := ada
	otherCase.User = "ADA"
	for _, c := range []struct {
		name string
		op   domain.Op
		ed   usecase.Editor
	}{
		{"UpsertByAnother", up("n1", "text", `"bob's now"`), bob},
		{"RemoveAFieldByAnother", up("n1", "text", "null"), bob},
		{"DeleteByAnother", del("n1"), bob},
		{"UpsertUnderTheAuthorsName", up("n1", "x", "1"), sameName},
		{"UserIdsAreCaseSensitive", up("n1", "x", "1"), otherCase},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.applyBy(t, p.ID, c.op, c.ed)
			if !errors.Is(err, domain.ErrForbidden) || errors.Is(err, domain.ErrBanned) {
				t.Fatalf("got %v, want ErrForbidden", err)
			}
			after := e.snapshot(t, p.ID)
			if after.Paper.Seq != before.Paper.Seq {
				t.Fatalf("a refused op moved the seq from %d to %d", before.Paper.Seq, after.Paper.Seq)
			}
			if d := diffElements(after.Elements, before.Elements); d != "" {
				t.Fatalf("a refused op changed the document: %s", d)
			}
		})
	}
	if got := e.barrier(t, r, p.ID); len(got) != 0 {
		t.Fatalf("refused ops were published:\n%s", framesString(got))
	}
	// Creating is open to everyone, and a new element is its creator's.
	e.mustApplyBy(t, p.ID, up("n2", "text", `"bob's"`), bob)
	e.mustApplyBy(t, p.ID, up("n2", "text", `"still bob's"`), bob)
	if _, err := e.applyBy(t, p.ID, del("n2"), ada); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("ada deletes bob's element: %v, want ErrForbidden", err)
	}
	// A delete of nothing is not found, whoever sends it.
	if _, err := e.applyBy(t, p.ID, del("nope"), bob); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("delete of a missing element: %v, want ErrNotFound", err)
	}
	e.mustApplyBy(t, p.ID, del("n1"), ada)
}

func testOwnerAndOpenEditAnything(t *testing.T, e *env) {
	t.Run("OwnerSession", func(t *testing.T) {
		p := e.newPaper(t)
		e.mustApplyBy(t, p.ID, up("n1", "text", `"ada's"`), ada)
		e.mustApplyBy(t, p.ID, up("n1", "text", `"moderated"`), owner)
		e.mustApplyBy(t, p.ID, del("n1"), owner)
		e.wantAuthors(t, p.ID)
	})
	t.Run("OpenPaper", func(t *testing.T) {
		p := e.newPaperWith(t, domain.EditOpen)
		if p.Edit != domain.EditOpen {
			t.Fatalf("created with %q, want open", p.Edit)
		}
		e.mustApplyBy(t, p.ID, up("n1", "text", `"ada's"`), ada)
		e.mustApplyBy(t, p.ID, up("n1", "text", `"bob's edit"`), bob)
		e.mustApplyBy(t, p.ID, del("n1"), bob)
		e.wantAuthors(t, p.ID)
	})
}

func testPolicyChangeTakesASeq(t *testing.T, e *env) {
	p := e.newPaper(t)
	r, _ := e.subscribe(t, p.ID)
	e.mustApplyBy(t, p.ID, up("n1", "text", `"ada's"`), ada)
	got, err := e.Store.SetEdit(t.Context(), p.ID, domain.EditOpen)
	wantErr(t, "SetEdit", err, nil)
	if got.Edit != domain.EditOpen || got.Seq != 2 {
		t.Fatalf("SetEdit returned edit %q seq %d, want open 2", got.Edit, got.Seq)
	}
	if m, _ := e.Store.Paper(t.Context(), p.ID); m.Edit != domain.EditOpen {
		t.Fatalf("Paper has edit %q after SetEdit", m.Edit)
	}
	if doc := e.snapshot(t, p.ID); doc.Paper.Edit != domain.EditOpen || doc.Paper.Seq != 2 {
		t.Fatalf("snapshot paper edit %q seq %d", doc.Paper.Edit, doc.Paper.Seq)
	}
	// The same policy again changes nothing and takes no seq.
	again, err := e.Store.SetEdit(t.Context(), p.ID, domain.EditOpen)
	wantErr(t, "SetEdit (same)", err, nil)
	if again.Seq != 2 {
		t.Fatalf("setting the same policy moved the seq to %d", again.Seq)
	}
	e.mustApplyBy(t, p.ID, up("n1", "text", `"bob's edit"`), bob) // open now
	if _, err := e.Store.SetEdit(t.Context(), p.ID, domain.EditAuthors); err != nil {
		t.Fatal(err)
	}
	if _, err := e.applyBy(t, p.ID, up("n1", "text", `"no"`), bob); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("edit after the policy went back to authors: %v, want ErrForbidden", err)
	}
	frames := e.barrier(t, r, p.ID)
	if len(frames) != 4 || !slices.Equal(frames[1], protocol.PolicyFrame(2, domain.EditOpen)) || !slices.Equal(frames[3], protocol.PolicyFrame(4, domain.EditAuthors)) {
		t.Fatalf("published:\n%s\nwant an op, policy open (2), an op, policy authors (4)", framesString(frames))
	}
	evs, cur, err := e.Store.History(t.Context(), p.ID, p.Epoch, 1)
	wantErr(t, "History", err, nil)
	if cur != 4 || len(evs) != 3 || evs[0].Kind != domain.EventPolicy || evs[0].Seq != 2 || !slices.Equal(evs[0].Frame, frames[1]) {
		t.Fatalf("history after 1: %+v (cur %d), want the policy frame at 2 first", evs, cur)
	}
	_, err = e.Store.SetEdit(t.Context(), "nope-"+usecase.NewPaperID(), domain.EditOpen)
	wantErr(t, "SetEdit of an unknown paper", err, domain.ErrNotFound)
	if _, err := e.Store.Finalize(t.Context(), p.ID, t0); err != nil {
		t.Fatal(err)
	}
	_, err = e.Store.SetEdit(t.Context(), p.ID, domain.EditOpen)
	wantErr(t, "SetEdit of a final paper", err, domain.ErrFinalized)
}

// testPolicyChangeAndEditsAreAtomic races a non-author's edits against an
// owner flipping the policy. Seq order is the store's one order, so every
// edit of someone else's element that got a seq must come after a policy
// frame that opened the paper and before the next one that closed it: a
// check that read the policy outside the apply's atomic step would let some
// edits in just after the paper closed. The writers go on until edits were
// both applied and refused, so every run races both ways.
func testPolicyChangeAndEditsAreAtomic(t *testing.T, e *env) {
	p := e.newPaper(t)
	ids := []string{"n0", "n1", "n2"}
	for _, id := range ids {
		e.mustApplyBy(t, p.ID, up(id, "v", "0"), ada)
	}
	r, _ := e.subscribe(t, p.ID)
	const writers, minEach, maxEach = 4, 25, 2500
	var (
		mu             sync.Mutex
		acked          = map[uint64]bool{}
		denied         int
		writing, flips sync.WaitGroup
		stop           atomic.Bool
	)
	both := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 0 && denied > 0
	}
	start := make(chan struct{})
	for w := range writers {
		writing.Go(func() {
			<-start
			for i := 0; i < maxEach && (i < minEach || !both()); i++ {
				seq, err := e.applyBy(t, p.ID, up(ids[i%len(ids)], "v", fmt.Sprint(w*10000+i)), bob)
				mu.Lock()
				switch {
				case err == nil:
					acked[seq] = true
				case errors.Is(err, domain.ErrForbidden):
					denied++
				default:
					t.Errorf("writer %d: %v", w, err)
				}
				mu.Unlock()
				runtime.Gosched()
			}
		})
	}
	flips.Go(func() {
		<-start
		for i := 0; !stop.Load(); i++ {
			edit := domain.EditOpen
			if i%2 == 1 {
				edit = domain.EditAuthors
			}
			if _, err := e.Store.SetEdit(t.Context(), p.ID, edit); err != nil {
				t.Errorf("SetEdit: %v", err)
				return
			}
			runtime.Gosched()
		}
	})
	close(start)
	writing.Wait()
	stop.Store(true)
	flips.Wait()
	if t.Failed() {
		return
	}
	if !both() {
		t.Fatalf("the edits never raced the policy both ways: %d applied, %d refused", len(acked), denied)
	}
	policy, seen := domain.EditAuthors, 0
	for _, f := range e.barrier(t, r, p.ID) {
		var v struct {
			Type string `json:"type"`
			Seq  uint64 `json:"seq"`
			Edit string `json:"edit"`
			By   struct {
				User string `json:"user"`
			} `json:"by"`
		}
		if err := json.Unmarshal(f, &v); err != nil {
			t.Fatalf("frame %s: %v", f, err)
		}
		switch v.Type {
		case domain.EventPolicy:
			policy = v.Edit
		case domain.EventOp:
			if policy != domain.EditOpen {
				t.Fatalf("seq %d: %q's edit of ada's element was applied while the policy was %q", v.Seq, v.By.User, policy)
			}
			if !acked[v.Seq] {
				t.Fatalf("seq %d was published but no Apply returned it", v.Seq)
			}
			seen++
		}
	}
	if seen != len(acked) {
		t.Fatalf("%d edits acked, %d published", len(acked), seen)
	}
	t.Logf("%d edits applied while open, %d refused while closed", seen, denied)
}

func testBansBlockApplies(t *testing.T, e *env) {
	p := e.newPaperWith(t, domain.EditOpen) // so only the ban can refuse
	e.mustApplyBy(t, p.ID, up("n1", "text", `"ada's"`), ada)
	r, _ := e.subscribe(t, p.ID)
	banned := func(user string) bool {
		t.Helper()
		b, err := e.Store.Banned(t.Context(), p.ID, user)
		wantErr(t, "Banned", err, nil)
		return b
	}
	if banned(bob.User) {
		t.Fatal("bob is banned before any ban")
	}
	wantErr(t, "Ban", e.Store.Ban(t.Context(), p.ID, bob.User), nil)
	published := e.barrier(t, r, p.ID)
	if len(published) != 1 || !slices.Equal(published[0], protocol.BanFrame(bob.User)) {
		t.Fatalf("Ban published:\n%s\nwant %s", framesString(published), protocol.BanFrame(bob.User))
	}
	if !banned(bob.User) || banned(ada.User) {
		t.Fatalf("after banning bob: bob banned %v, ada banned %v", banned(bob.User), banned(ada.User))
	}
	seq := e.seqOf(t, p.ID)
	bobOwner := owner
	bobOwner.User = bob.User // an owner session of a banned user is banned too
	for _, c := range []struct {
		name string
		op   domain.Op
		ed   usecase.Editor
	}{
		{"Create", up("n2", "text", `"bob's"`), bob},
		{"Upsert", up("n1", "text", `"bob's"`), bob},
		{"Delete", del("n1"), bob},
		{"AsOwner", up("n1", "text", `"bob's"`), bobOwner},
	} {
		if _, err := e.applyBy(t, p.ID, c.op, c.ed); !errors.Is(err, domain.ErrBanned) || !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("%s by a banned user: %v, want ErrBanned (an ErrForbidden)", c.name, err)
		}
	}
	if got := e.seqOf(t, p.ID); got != seq {
		t.Fatalf("a banned user's ops moved the seq from %d to %d", seq, got)
	}
	if got := e.barrier(t, r, p.ID); len(got) != len(published) {
		t.Fatalf("a banned user's ops were published:\n%s", framesString(got[len(published):]))
	}
	e.mustApplyBy(t, p.ID, up("n1", "text", `"ada still writes"`), ada)
	wantErr(t, "Ban again", e.Store.Ban(t.Context(), p.ID, bob.User), nil)
	odd := "a b\n\"c\" é"
	wantErr(t, "Ban", e.Store.Ban(t.Context(), p.ID, odd), nil)
	bans, err := e.Store.Bans(t.Context(), p.ID)
	wantErr(t, "Bans", err, nil)
	slices.Sort(bans)
	if want := []string{bob.User, odd}; !slices.Equal(bans, want) {
		t.Fatalf("Bans = %q, want %q", bans, want)
	}
	wantErr(t, "Unban", e.Store.Unban(t.Context(), p.ID, bob.User), nil)
	wantErr(t, "Unban of no ban", e.Store.Unban(t.Context(), p.ID, "nobody"), nil)
	if banned(bob.User) || !banned(odd) {
		t.Fatal("Unban lifted the wrong ban")
	}
	e.mustApplyBy(t, p.ID, up("n2", "text", `"bob is back"`), bob)

	unknown := "nope-" + usecase.NewPaperID()
	wantErr(t, "Ban of an unknown paper", e.Store.Ban(t.Context(), unknown, bob.User), domain.ErrNotFound)
	wantErr(t, "Unban of an unknown paper", e.Store.Unban(t.Context(), unknown, bob.User), domain.ErrNotFound)
	if b, err := e.Store.Banned(t.Context(), unknown, bob.User); b || err != nil {
		t.Fatalf("Banned on an unknown paper: %v %v, want false nil", b, err)
	}
	if l, err := e.Store.Bans(t.Context(), unknown); len(l) != 0 || err != nil {
		t.Fatalf("Bans on an unknown paper: %q %v, want none", l, err)
	}
}

func testBansGoWithThePaper(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.mustApplyBy(t, p.ID, up("n1", "text", `"ada's"`), ada)
	wantErr(t, "Ban", e.Store.Ban(t.Context(), p.ID, bob.User), nil)
	wantErr(t, "Delete", e.Store.Delete(t.Context(), p.ID), nil)
	again := paperFixture()
	again.ID = p.ID
	if _, err := e.Store.Create(t.Context(), again); err != nil {
		t.Fatalf("Create with the deleted paper's id: %v", err)
	}
	if b, err := e.Store.Banned(t.Context(), p.ID, bob.User); b || err != nil {
		t.Fatalf("the new paper inherited the old one's ban: %v %v", b, err)
	}
	e.mustApplyBy(t, p.ID, up("n1", "text", `"bob's"`), bob)
	e.wantAuthors(t, p.ID, authored("n1", bob))
}

// ruleSink is a session as the hub sees it: it keeps the frames and the
// close reason.
type ruleSink struct {
	mu     sync.Mutex
	frames [][]byte
	closed chan domain.CloseReason
}

func newRuleSink() *ruleSink { return &ruleSink{closed: make(chan domain.CloseReason, 1)} }

func (s *ruleSink) Start(frames [][]byte) error {
	for _, f := range frames {
		s.Send(f)
	}
	return nil
}

func (s *ruleSink) Send(f []byte) {
	s.mu.Lock()
	s.frames = append(s.frames, f)
	s.mu.Unlock()
}

func (s *ruleSink) Close(r domain.CloseReason) {
	select {
	case s.closed <- r:
	default:
	}
}

func (s *ruleSink) first(t *testing.T) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.frames) == 0 {
		t.Fatal("no first frame")
	}
	return s.frames[0]
}

// hub runs a hub on the store under test until the test ends.
func (e *env) hub(t *testing.T) *usecase.Hub {
	t.Helper()
	h := usecase.NewHub(e.Store, e.Presence, e.Bus, e.Limits, usecase.HubOptions{Now: func() time.Time { return t0 }}, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(h.Close)
	return h
}

func (e *env) join(t *testing.T, h *usecase.Hub, paperID string, ed usecase.Editor) (*usecase.Member, *ruleSink) {
	t.Helper()
	s := newRuleSink()
	m, err := h.Join(t.Context(), usecase.JoinRequest{PaperID: paperID, User: ed.User, Name: ed.Name}, s)
	if err != nil {
		t.Fatalf("Join as %q: %v", ed.User, err)
	}
	t.Cleanup(m.Leave)
	return m, s
}

func testHubRefusesBannedJoins(t *testing.T, e *env) {
	h := e.hub(t)
	p := e.newPaper(t)
	adaM, adaS := e.join(t, h, p.ID, ada)
	bobM, bobS := e.join(t, h, p.ID, bob)
	if _, err := bobM.Edit(t.Context(), up("n1", "text", `"hi"`)); err != nil {
		t.Fatal(err)
	}
	seq := e.seqOf(t, p.ID)
	for _, name := range []string{"by", "createdAt"} {
		if _, err := adaM.Edit(t.Context(), up("n2", "text", `"x"`, name, `"forged"`)); !errors.Is(err, domain.ErrInvalid) {
			t.Fatalf("upsert naming %q: %v, want ErrInvalid", name, err)
		}
	}
	if got := e.seqOf(t, p.ID); got != seq {
		t.Fatalf("upserts of reserved names moved the seq from %d to %d", seq, got)
	}
	wantErr(t, "Ban", e.Store.Ban(t.Context(), p.ID, bob.User), nil)
	select {
	case r := <-bobS.closed:
		if r != domain.CloseBanned {
			t.Fatalf("bob's session closed with %v, want CloseBanned", r)
		}
	case <-time.After(e.waitTimeout()):
		t.Fatal("the banned user's session was not closed")
	}
	if _, err := h.Join(t.Context(), usecase.JoinRequest{PaperID: p.ID, User: bob.User}, newRuleSink()); !errors.Is(err, domain.ErrBanned) {
		t.Fatalf("a banned user joins: %v, want ErrBanned", err)
	}
	if _, err := bobM.Edit(t.Context(), up("n1", "text", `"still here?"`)); !errors.Is(err, domain.ErrBanned) {
		t.Fatalf("a banned user's open session edits: %v, want ErrBanned", err)
	}
	e.join(t, h, p.ID, ada) // others still join
	select {
	case r := <-adaS.closed:
		t.Fatalf("ada's session closed with %v by bob's ban", r)
	default:
	}
}

func testSnapshotFrameAndRESTCarryAuthors(t *testing.T, e *env) {
	p := e.newPaper(t)
	e.mustApplyBy(t, p.ID, up("n1", "text", `"hi"`), ada)
	e.mustApplyBy(t, p.ID, up("n2", "text", `"yo"`), bob)
	want := []map[string]any{
		{"id": "n1", "by": map[string]any{"user": ada.User, "name": ada.Name}, "createdAt": "2026-11-25T18:39:38Z", "text": "hi"},
		{"id": "n2", "by": map[string]any{"user": bob.User}, "createdAt": "2026-11-25T19:39:38Z", "text": "yo"},
	}
	check := func(what string, body []byte, paper func(map[string]any) map[string]any) {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v: %s", what, err, body)
		}
		var els []map[string]any
		raw, _ := json.Marshal(v["elements"])
		_ = json.Unmarshal(raw, &els)
		if fmt.Sprint(els) != fmt.Sprint(want) {
			t.Fatalf("%s elements:\n got %v\nwant %v", what, els, want)
		}
		if edit := paper(v)["edit"]; edit != domain.EditAuthors {
			t.Fatalf("%s: edit %v, want authors", what, edit)
		}
	}
	_, s := e.join(t, e.hub(t), p.ID, owner)
	check("snapshot frame", s.first(t), func(v map[string]any) map[string]any { m, _ := v["paper"].(map[string]any); return m })

	srv := rest.NewEcho(rest.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rest.Register(srv, usecase.NewPapers(e.Store, e.Bus, e.Limits))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/papers/"+p.ID, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET: %d %s", rec.Code, rec.Body)
	}
	check("GET /v1/papers/{id}", rec.Body.Bytes(), func(v map[string]any) map[string]any { return v })
}
