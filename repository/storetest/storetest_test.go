package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/repository/memory"
	"github.com/papercast/papercast/repository/storetest"
	"github.com/papercast/papercast/usecase"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The suite is only worth something if it fails on a store that breaks the
// contract. Each mutant below wraps the memory store with one plausible bug;
// the suite must fail on it, in the group that owns that guarantee, and
// pass on the unmutated store. Mutants run in child processes because a
// failing suite must not fail this test.

const mutantEnv = "STORETEST_MUTANT"

// mutant wraps a correct store with one bug.
type mutant struct {
	name     string
	failIn   string // the group whose failure proves the bug was caught
	wrapStor func(usecase.Store) usecase.Store
	wrapPres func(usecase.PresenceStore) usecase.PresenceStore
	wrapBus  func(usecase.Bus) usecase.Bus
	wrapQ    func(usecase.ArchiveQueue) usecase.ArchiveQueue
}

var mutants = []mutant{
	{name: "none"},
	{
		name: "HistoryDropsTheOldestEvent", failIn: "History",
		wrapStor: func(s usecase.Store) usecase.Store { return historyOffByOne{s} },
	},
	{
		name: "TouchIsANoOp", failIn: "Retention",
		wrapStor: func(s usecase.Store) usecase.Store { return untouched{s} },
	},
	{
		name: "SnapshotSortsElementsByID", failIn: "Apply",
		wrapStor: func(s usecase.Store) usecase.Store { return sortedSnapshot{s} },
	},
	{
		name: "DeleteOfAnUnknownElementSucceeds", failIn: "Apply",
		wrapStor: func(s usecase.Store) usecase.Store { return lenientDelete{s} },
	},
	{
		name: "ApplyIgnoresTheSessionsOrder", failIn: "Apply",
		wrapStor: func(s usecase.Store) usecase.Store { return unordered{s} },
	},
	{
		name: "EveryEditorIsAnOwner", failIn: "Rules",
		wrapStor: func(s usecase.Store) usecase.Store { return everyoneOwns{s} },
	},
	{
		name: "SnapshotForgetsAuthors", failIn: "Rules",
		wrapStor: func(s usecase.Store) usecase.Store { return anonymousSnapshot{s} },
	},
	{
		name: "BansAreOnlyPublished", failIn: "Rules",
		wrapStor: func(s usecase.Store) usecase.Store { return forgetfulBans{s} },
	},
	{
		name: "ListPresenceUnsorted", failIn: "Presence",
		wrapPres: func(p usecase.PresenceStore) usecase.PresenceStore { return reversedPresence{p} },
	},
	{
		name: "BusDeliversTwice", failIn: "Apply",
		wrapBus: func(b usecase.Bus) usecase.Bus { return doublingBus{b} },
	},
	{
		name: "SubscribeActivatesLate", failIn: "Bus",
		wrapBus: func(b usecase.Bus) usecase.Bus { return lateBus{Bus: b} },
	},
	{
		name: "ClaimIgnoresLeases", failIn: "Archive",
		wrapQ: func(q usecase.ArchiveQueue) usecase.ArchiveQueue { return leaselessQueue{q} },
	},
	{
		name: "ALeaseNeverRunsOut", failIn: "Archive",
		wrapQ: func(q usecase.ArchiveQueue) usecase.ArchiveQueue { return foreverLeases{q} },
	},
	{
		name: "DoneDropsThePaperAtOnce", failIn: "Archive",
		wrapQ: func(q usecase.ArchiveQueue) usecase.ArchiveQueue { return keeplessDone{q} },
	},
}

// leaselessQueue hands out every due paper without leasing it.
type leaselessQueue struct{ usecase.ArchiveQueue }

func (q leaselessQueue) Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]string, error) {
	return q.ArchiveQueue.Claim(ctx, now, 0, n)
}

// foreverLeases leases for a year.
type foreverLeases struct{ usecase.ArchiveQueue }

func (q foreverLeases) Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]string, error) {
	return q.ArchiveQueue.Claim(ctx, now, 365*24*time.Hour, n)
}

// keeplessDone drops the paper's data at once, leaving open sessions and
// resumes nothing to read.
type keeplessDone struct{ usecase.ArchiveQueue }

func (q keeplessDone) Done(ctx context.Context, id string, _ time.Duration) error {
	return q.ArchiveQueue.Done(ctx, id, 0)
}

func TestSuiteCatchesBrokenStores(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child process")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			// Only the group that owns the guarantee runs: it alone must catch the bug.
			run := "^TestMutantChild$"
			if m.failIn != "" {
				run += "/^" + m.failIn + "$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.failfast")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			if m.failIn == "" {
				if err != nil {
					t.Fatalf("the suite fails on the correct store: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed on a store whose bug is %s", m.name)
			}
			if want := "--- FAIL: TestMutantChild/" + m.failIn + "/"; !strings.Contains(string(out), want) {
				t.Fatalf("the suite failed, but not in a test of %s:\n%s", m.failIn, out)
			}
			t.Logf("caught:\n%s", firstFailure(string(out)))
		})
	}
}

// TestMutantChild runs the suite on the mutant named in the environment.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	i := slices.IndexFunc(mutants, func(m mutant) bool { return m.name == name })
	if i < 0 {
		t.Fatalf("unknown mutant %q", name)
	}
	m := mutants[i]
	storetest.Run(t, func(t *testing.T) storetest.Env {
		clk := &clock{t: time.Unix(1e9, 0)}
		const ttl = 10 * time.Second
		const idle = time.Hour
		s := memory.New(memory.Options{Limits: storetest.SmallLimits(), HistorySize: storetest.SmallHistory, PresenceTTL: ttl, OpenIdle: idle, Now: clk.Now})
		t.Cleanup(s.Close)
		e := storetest.Env{
			Store: s, Presence: s, Bus: s, Queue: s,
			Limits: storetest.SmallLimits(), HistorySize: storetest.SmallHistory, PresenceTTL: ttl, OpenIdle: idle,
			Advance: clk.Advance, WaitTimeout: time.Second,
		}
		if m.wrapStor != nil {
			e.Store = m.wrapStor(e.Store)
		}
		if m.wrapPres != nil {
			e.Presence = m.wrapPres(e.Presence)
		}
		if m.wrapBus != nil {
			e.Bus = m.wrapBus(e.Bus)
		}
		if m.wrapQ != nil {
			e.Queue = m.wrapQ(e.Queue)
		}
		return e
	})
}

// firstFailure is the first failing leaf test's lines, for the log.
func firstFailure(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "--- FAIL") && i+1 < len(lines) && !strings.Contains(lines[i+1], "--- FAIL") {
			return strings.Join(lines[i:min(i+4, len(lines))], "\n")
		}
	}
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type historyOffByOne struct{ usecase.Store }

func (s historyOffByOne) History(ctx context.Context, id, epoch string, since uint64) ([]domain.Event, uint64, error) {
	evs, cur, err := s.Store.History(ctx, id, epoch, since)
	if len(evs) > 0 {
		evs = evs[1:]
	}
	return evs, cur, err
}

type untouched struct{ usecase.Store }

func (untouched) Touch(context.Context, string) error { return nil }

type sortedSnapshot struct{ usecase.Store }

func (s sortedSnapshot) Snapshot(ctx context.Context, id string) (domain.Document, error) {
	doc, err := s.Store.Snapshot(ctx, id)
	slices.SortFunc(doc.Elements, func(a, b domain.Element) int { return strings.Compare(a.ID, b.ID) })
	return doc, err
}

type lenientDelete struct{ usecase.Store }

func (s lenientDelete) Apply(ctx context.Context, id string, op domain.Op, body []byte, order usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	seq, err := s.Store.Apply(ctx, id, op, body, order, ed)
	if op.Kind == domain.OpDelete && errors.Is(err, domain.ErrNotFound) {
		if p, perr := s.Store.Paper(ctx, id); perr == nil {
			return p.Seq, nil
		}
	}
	return seq, err
}

type unordered struct{ usecase.Store }

func (s unordered) Apply(ctx context.Context, id string, op domain.Op, body []byte, _ usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	return s.Store.Apply(ctx, id, op, body, usecase.OpOrder{}, ed)
}

type everyoneOwns struct{ usecase.Store }

func (s everyoneOwns) Apply(ctx context.Context, id string, op domain.Op, body []byte, order usecase.OpOrder, ed usecase.Editor) (uint64, error) {
	ed.Owner = true
	return s.Store.Apply(ctx, id, op, body, order, ed)
}

type anonymousSnapshot struct{ usecase.Store }

func (s anonymousSnapshot) Snapshot(ctx context.Context, id string) (domain.Document, error) {
	doc, err := s.Store.Snapshot(ctx, id)
	for i := range doc.Elements {
		doc.Elements[i].By, doc.Elements[i].CreatedAt = domain.ElementAuthor{}, time.Time{}
	}
	return doc, err
}

type forgetfulBans struct{ usecase.Store }

func (s forgetfulBans) Ban(ctx context.Context, id, user string) error {
	if err := s.Store.Ban(ctx, id, user); err != nil {
		return err
	}
	return s.Store.Unban(ctx, id, user)
}

type reversedPresence struct{ usecase.PresenceStore }

func (p reversedPresence) ListPresence(ctx context.Context, id string) ([]domain.Presence, error) {
	l, err := p.PresenceStore.ListPresence(ctx, id)
	slices.Reverse(l)
	return l, err
}

type doublingBus struct{ usecase.Bus }

func (b doublingBus) Subscribe(ctx context.Context, id string, h usecase.BusHandler) (func(), error) {
	return b.Bus.Subscribe(ctx, id, twice{h})
}

type twice struct{ usecase.BusHandler }

func (h twice) Event(f []byte) { h.BusHandler.Event(f); h.BusHandler.Event(f) }

// lateBus drops what is published in the first moments of a subscription,
// like a Redis bus that returns before the SUBSCRIBE is confirmed.
type lateBus struct{ usecase.Bus }

func (b lateBus) Subscribe(ctx context.Context, id string, h usecase.BusHandler) (func(), error) {
	return b.Bus.Subscribe(ctx, id, &late{BusHandler: h, from: time.Now().Add(20 * time.Millisecond)})
}

type late struct {
	usecase.BusHandler
	from time.Time
}

func (h *late) Event(f []byte) {
	if time.Now().Before(h.from) {
		return
	}
	h.BusHandler.Event(f)
}
