package card

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/papercast/papercast/domain"
)

func testDoc(seq uint64) domain.Document {
	doc := domain.Document{Paper: domain.Paper{ID: "p1", Title: "Thanks, Ana", To: "Ana", Status: domain.StatusOpen,
		Seq: seq, Epoch: "ep", CreatedAt: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}}
	for i := range 8 {
		doc.Elements = append(doc.Elements, domain.Element{ID: fmt.Sprintf("n%d", i), Fields: map[string]json.RawMessage{
			"text": json.RawMessage(fmt.Sprintf(`"note %d 🎉"`, i)), "x": json.RawMessage(fmt.Sprint(i * 210)), "y": json.RawMessage("10"),
		}})
	}
	return doc
}

func TestConcurrentRequestsForOneCardRenderOnce(t *testing.T) {
	testWorker(t)
	s := NewCards(NewRenderer(Options{}), 0, 0)
	doc := testDoc(5)
	const n = 12
	results := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.PNG(context.Background(), doc)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if !bytes.Equal(results[i], results[0]) {
			t.Errorf("request %d got other bytes", i)
		}
	}
	if got := s.renders.Load(); got != 1 {
		t.Errorf("%d renders for %d concurrent requests of one card, want 1", got, n)
	}

	// Cached: the same version renders no more; a new version does.
	if _, err := s.PNG(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	if got := s.renders.Load(); got != 1 {
		t.Errorf("%d renders after a cached request, want 1", got)
	}
	if _, err := s.PNG(context.Background(), testDoc(6)); err != nil {
		t.Fatal(err)
	}
	if got := s.renders.Load(); got != 2 {
		t.Errorf("%d renders after a new seq, want 2", got)
	}
	// The PDF wraps the cached PNG: one more render (the PDF's), not two.
	if _, err := s.PDF(context.Background(), testDoc(6)); err != nil {
		t.Fatal(err)
	}
	if got := s.renders.Load(); got != 3 {
		t.Errorf("%d renders after the PDF of a cached PNG, want 3", got)
	}
}

func TestARenderOutlivesTheCallerThatStartedIt(t *testing.T) {
	testWorker(t)
	s := NewCards(NewRenderer(Options{}), 0, 0)
	doc := testDoc(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The caller is gone before the render ends; the render goes on and
	// lands in the cache for the next caller.
	if _, err := s.PNG(ctx, doc); err == nil {
		t.Log("the render finished before the select saw the cancelled context")
	}
	b, err := s.PNG(context.Background(), doc)
	if err != nil || len(b) == 0 {
		t.Fatalf("PNG = %d bytes, %v", len(b), err)
	}
	if got := s.renders.Load(); got != 1 {
		t.Errorf("%d renders, want 1: the first render was thrown away", got)
	}
}

func TestLRUStaysWithinItsSize(t *testing.T) {
	c := newLRU(100)
	c.add("a", make([]byte, 20))
	c.add("b", make([]byte, 20))
	c.add("c", make([]byte, 20))
	c.get("a") // a is now the most recent
	c.add("d", make([]byte, 20))
	c.add("e", make([]byte, 20))
	c.add("f", make([]byte, 20)) // over 100: b, the least recent, goes
	if _, ok := c.get("b"); ok {
		t.Error("b, the least recently used, was kept")
	}
	for _, k := range []string{"a", "c", "d", "e", "f"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if c.bytes() > 100 {
		t.Errorf("cache holds %d bytes, over 100", c.bytes())
	}
	c.add("big", make([]byte, 26)) // over a quarter of the cache: not kept
	if _, ok := c.get("big"); ok {
		t.Error("a value over a quarter of the cache was kept")
	}
	c.add("a", make([]byte, 5)) // replacing counts the new size only
	if c.bytes() != 85 {
		t.Errorf("cache holds %d bytes, want 85", c.bytes())
	}
}
