package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/papercast/papercast/internal/redistest"
	"github.com/papercast/papercast/internal/wstest"
)

func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for status(t, url) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d", url, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisOutageAndReturn: with Redis down, edits get `unavailable` (never
// an ack), /readyz is 503 and /healthz 200; when Redis comes back the
// replicas reconnect and resubscribe by themselves, live fan-out resumes and
// no session misses anything.
func TestRedisOutageAndReturn(t *testing.T) {
	srv := redistest.Start(t, redistest.WithAOF())
	replicas := startReplicas(t, 2, []string{srv.Addr()}, "standalone")
	paper := wstest.CreatePaper(t, replicas[0].URL())
	a := wstest.MustDial(t, replicas[0].URL(), paper.ID, nil)
	b := wstest.MustDial(t, replicas[1].URL(), paper.ID, nil)
	va, vb := wstest.NewViewer(), wstest.NewViewer()
	va.Apply(a.Next(nil))
	vb.Apply(b.Next(nil))
	send := func(ref string) wstest.Frame {
		a.Send(wstest.Upsert(ref, "n1", map[string]any{"ref": ref}))
		for {
			f := a.Next(nil)
			va.Apply(f)
			if f.Ref == ref && (f.Type == "ack" || f.Type == "error") {
				return f
			}
		}
	}
	if f := send("before"); f.Type != "ack" {
		t.Fatalf("edit before the outage: %s", f.Raw)
	}

	srv.Kill()
	for _, r := range replicas {
		waitStatus(t, r.URL()+"/readyz", 503)
		if got := status(t, r.URL()+"/healthz"); got != 200 {
			t.Fatalf("healthz %d during the outage", got)
		}
	}
	if f := send("during"); f.Type != "error" || f.Code != "unavailable" {
		t.Fatalf("edit during the outage: %s", f.Raw)
	}

	srv.Restart()
	for _, r := range replicas {
		waitStatus(t, r.URL()+"/readyz", 200)
	}
	// Fan-out works again without restarting anything.
	var f wstest.Frame
	deadline := time.Now().Add(15 * time.Second)
	for {
		if f = send(fmt.Sprint("after-", time.Now().UnixNano())); f.Type == "ack" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edits still refused after Redis returned: %s", f.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for vb.Seq < f.Seq {
		g, err := b.NextErr(nil, 15*time.Second)
		if err != nil {
			t.Fatalf("replica 1 session never got seq %d (at %d): %v", f.Seq, vb.Seq, err)
		}
		vb.Apply(g)
	}
	for va.Seq < f.Seq {
		va.Apply(a.Next(nil))
	}
	doc := wstest.GetDocument(t, replicas[1].URL(), paper.ID)
	if len(va.Errors)+len(vb.Errors) > 0 || doc.Seq != f.Seq {
		t.Fatalf("streams: %v %v; document seq %d, last ack %d", va.Errors, vb.Errors, doc.Seq, f.Seq)
	}
}
