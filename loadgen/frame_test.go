package loadgen

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestScansReadServerFrames(t *testing.T) {
	op := []byte(`{"type":"op","seq":42,"op":"upsert","id":"n7","fields":{"src":7,"t":123456789,"text":"happy tt"},"by":{"session":"s1","user":"lg-u7"}}`)
	if got := string(frameType(op)); got != "op" {
		t.Fatalf("type %q", got)
	}
	if seq, ok := uintAfter(op, keySeq); !ok || seq != 42 {
		t.Fatalf("seq %d %v", seq, ok)
	}
	if v, ok := uintAfter(op, keyT); !ok || v != 123456789 {
		t.Fatalf("t %d %v", v, ok)
	}
	if v, ok := uintAfter(op, keySrc); !ok || v != 7 {
		t.Fatalf("src %d %v", v, ok)
	}
	del := []byte(`{"type":"op","seq":43,"op":"delete","id":"n7","by":{"session":"s1","user":"lg-u7"}}`)
	if _, ok := uintAfter(del, keyT); ok {
		t.Fatal("a delete has no t")
	}
	ack := []byte(`{"type":"ack","ref":"987","seq":44}`)
	if ref, ok := stringAfter(ack, keyRef); !ok || string(ref) != "987" {
		t.Fatalf("ref %q %v", ref, ok)
	}
	e := []byte(`{"type":"error","code":"rate_limited","message":"slow down"}`)
	if code, ok := stringAfter(e, keyCode); !ok || string(code) != "rate_limited" {
		t.Fatalf("code %q", code)
	}
	for _, bad := range []string{``, `{"type":`, `[1]`, `{"seq":1,"type":"op"}`} {
		if frameType([]byte(bad)) != nil {
			t.Errorf("frameType(%q) should be nil", bad)
		}
	}
	if _, ok := parseUintBytes([]byte("12a")); ok {
		t.Error("12a parsed as a number")
	}
}

// newTestRunner is a runner with the window open at [0, 1h).
func newTestRunner() *runner {
	r := &runner{start: time.Now(), errs: map[string]int64{}}
	r.mStart.Store(0)
	r.mEnd.Store(int64(time.Hour))
	return r
}

func TestReceiverCountsOrderGapsAndDuplicates(t *testing.T) {
	r := newTestRunner()
	p := &paperState{id: "p"}
	p.alive.Store(3)
	s := &session{r: r, idx: 1, paper: p, lastSeq: 10}
	frame := func(seq string, src string) []byte {
		return []byte(`{"type":"op","seq":` + seq + `,"op":"upsert","id":"n","fields":{"src":` + src + `,"t":5},"by":{"session":"x","user":"y"}}`)
	}
	s.handle(frame("11", "2"), 1000) // in order, another sender
	s.handle(frame("11", "2"), 1000) // duplicate
	s.handle(frame("9", "2"), 1000)  // old: duplicate
	s.handle(frame("14", "1"), 1000) // skips 12 and 13; own echo
	s.handle([]byte(`{"type":"ack","ref":"5-1","seq":14}`), 1000)
	s.handle([]byte(`{"type":"error","ref":"6-2","code":"rate_limited","message":"m"}`), 1000)
	s.handle([]byte(`{"type":"presence","event":"update","session":"a","user":"b","name":"c","state":{}}`), 1000)
	st := &s.st
	checks := []struct {
		name      string
		got, want int64
	}{
		{"received", st.received.Load(), 2},
		{"duplicates", st.duplicates.Load(), 2},
		{"out of order", st.outOfOrder.Load(), 1},
		{"gap seqs", st.gapMissing.Load(), 2},
		{"own echoes", st.ownEchoes.Load(), 1},
		{"acked", st.acked.Load(), 1},
		{"expected (alive at ack)", st.expected.Load(), 3},
		{"op errors", st.opErrors.Load(), 1},
		{"presence", st.presence.Load(), 1},
		{"rate_limited errors", r.errs["rate_limited"], 1},
		{"latency samples (others)", int64(r.lat.snapshot().total), 1},
		{"latency samples (own)", int64(r.own.snapshot().total), 1},
		{"ack samples", int64(r.ack.snapshot().total), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if s.lastSeq != 14 {
		t.Errorf("last seq %d, want 14", s.lastSeq)
	}
}

// The seqs cannot show an op stored after its sender's next op: receivers
// check each sender's own counter, and senders match error frames with
// their own echoes.
func TestReceiverCountsPerSenderOrderAndErroredDelivered(t *testing.T) {
	r := newTestRunner()
	r.cfg.Papers = 2 // senders 1, 3, 5 are places 0, 1, 2 on the paper
	p := &paperState{id: "p"}
	s := &session{r: r, idx: 1, paper: p, lastSeq: 10}
	seq := 10
	op := func(src, n string) []byte {
		seq++
		return []byte(`{"type":"op","seq":` + strconv.Itoa(seq) + `,"op":"upsert","id":"n` + src + `","fields":{"n":` + n + `,"src":` + src + `,"t":5},"by":{"session":"x","user":"y"}}`)
	}
	errFor := func(ref string) []byte {
		return []byte(`{"type":"error","ref":"` + ref + `","code":"unavailable","message":"m"}`)
	}
	s.handle(op("3", "1"), 1000)
	s.handle(op("5", "1"), 1000)
	s.handle(op("3", "3"), 1000)
	s.handle(op("3", "2"), 1000) // sender 3's op 2 after its op 3
	s.handle(op("5", "2"), 1000)
	s.handle([]byte(`{"type":"op","seq":`+strconv.Itoa(seq+1)+`,"op":"delete","id":"n3","by":{"session":"x","user":"y"}}`), 1000)
	seq++
	s.handle(op("3", "4"), 1000)
	// Own ops: 4 refused then delivered, 5 delivered then refused, 6 only
	// refused, 7 only delivered.
	s.handle(errFor("100-4"), 1000)
	s.handle(op("1", "4"), 1000)
	s.handle(op("1", "5"), 1000)
	s.handle(errFor("101-5"), 1000)
	s.handle(errFor("102-6"), 1000)
	s.handle(op("1", "7"), 1000)
	st := &s.st
	if got := st.senderOutOfOrder.Load(); got != 1 {
		t.Errorf("sender out of order = %d, want 1", got)
	}
	if got := st.erroredDelivered.Load(); got != 2 {
		t.Errorf("errored but delivered = %d, want 2", got)
	}
	if got := st.opErrors.Load(); got != 3 {
		t.Errorf("op errors = %d, want 3", got)
	}
}

func TestConnectionErrorsAreNamedByCause(t *testing.T) {
	cases := map[string]error{
		"econnreset": &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
		"eof":        io.ErrUnexpectedEOF,
		"timeout":    os.ErrDeadlineExceeded,
		"error":      errors.New("something else"),
	}
	for want, err := range cases {
		if got := errKind(err); got != want {
			t.Errorf("errKind(%v) = %q, want %q", err, got, want)
		}
	}
}
