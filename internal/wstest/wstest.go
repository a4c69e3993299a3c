// Package wstest is a protocol v1 test client: a real WebSocket connection
// (gorilla) reading in its own goroutine, helpers to wait for frames, and a
// Viewer that applies frames as a frontend does while checking seq order.
package wstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/papercast/papercast/paper"
)

// Frame is any server frame, decoded loosely.
type Frame struct {
	Type     string                       `json:"type"`
	Seq      uint64                       `json:"seq"`
	From     uint64                       `json:"from"`
	Epoch    string                       `json:"epoch"`
	Ref      string                       `json:"ref"`
	Code     string                       `json:"code"`
	Message  string                       `json:"message"`
	Op       string                       `json:"op"`
	ID       string                       `json:"id"`
	Fields   map[string]json.RawMessage   `json:"fields"`
	Elements []map[string]json.RawMessage `json:"elements"`
	Presence []map[string]json.RawMessage `json:"presence"`
	Event    string                       `json:"event"`
	Session  string                       `json:"session"`
	You      struct{ Session, User, Name, Token string }
	By       struct{ Session, User, Name string } // an op's sender
	Paper    struct{ Status string }
	Raw      []byte `json:"-"`
}

// Client is one session. Its reader queues every frame, without bound and
// without ever blocking, so a test may read at its own pace; the queue
// holds only the frames not yet taken (a fixed buffer of Frame values large
// enough for any test was tens of megabytes per client, all of it scanned by
// every GC cycle).
type Client struct {
	T    testing.TB
	Conn *websocket.Conn
	done chan struct{}
	wake chan struct{} // cap 1: a frame was queued or the connection ended

	mu    sync.Mutex
	queue []Frame // read and not yet taken
	wire  int     // WebSocket frames read (a batch frame holds several Frames)
	ended bool
	close int

	held []Frame // skipped by Next, for later calls (test goroutine only)
}

// URL is the WebSocket URL of a paper on a server with base http URL.
func URL(base, paperID string, q url.Values) string {
	u := "ws" + strings.TrimPrefix(base, "http") + "/v1/papers/" + paperID + "/ws"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Dial opens a session; the response is returned for refused handshakes.
func Dial(t testing.TB, base, paperID string, q url.Values) (*Client, *http.Response, error) {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(URL(base, paperID, q), nil)
	if err != nil {
		return nil, res, err
	}
	cl := &Client{T: t, Conn: c, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go cl.read()
	t.Cleanup(func() { cl.Conn.Close(); <-cl.done })
	return cl, res, nil
}

// MustDial opens a session or fails the test.
func MustDial(t testing.TB, base, paperID string, q url.Values) *Client {
	t.Helper()
	c, _, err := Dial(t, base, paperID, q)
	if err != nil {
		t.Fatalf("dial %s: %v", base, err)
	}
	return c
}

func (c *Client) read() {
	defer close(c.done)
	for {
		_, data, err := c.Conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			c.mu.Lock()
			if errors.As(err, &ce) {
				c.close = ce.Code
			} else {
				c.close = -1
			}
			c.ended = true
			c.mu.Unlock()
			c.signal()
			return
		}
		// A `?batch=1` session may get several events in one frame,
		// newline-separated; a v1 frame is one JSON object with no newline
		// in it, so splitting serves both.
		c.mu.Lock()
		c.wire++
		c.mu.Unlock()
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			var f Frame
			if err := json.Unmarshal(line, &f); err != nil {
				c.T.Errorf("server sent non-JSON: %q", line)
			}
			f.Raw = line
			c.mu.Lock()
			c.queue = append(c.queue, f)
			c.mu.Unlock()
		}
		c.signal()
	}
}

// WireFrames is how many WebSocket frames the client has read so far.
func (c *Client) WireFrames() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wire
}

func (c *Client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take returns the next queued frame, waiting until deadline fires (nil:
// no limit); ok is false once the connection has ended and nothing is left.
func (c *Client) take(deadline <-chan time.Time) (f Frame, ok bool, err error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			f = c.queue[0]
			c.queue[0] = Frame{}
			c.queue = c.queue[1:]
			if len(c.queue) == 0 {
				c.queue = nil
			}
			c.mu.Unlock()
			return f, true, nil
		}
		ended := c.ended
		c.mu.Unlock()
		if ended {
			return Frame{}, false, nil
		}
		select {
		case <-c.wake:
		case <-deadline:
			return Frame{}, false, errors.New("timed out waiting for a frame")
		}
	}
}

// First reads the session's first frame and fails unless it is a snapshot
// or a resumed frame.
func (c *Client) First() Frame {
	c.T.Helper()
	f := c.Next(nil)
	if f.Type != "snapshot" && f.Type != "resumed" {
		c.T.Fatalf("first frame is not a snapshot or resumed: %s", f.Raw)
	}
	return f
}

// Send writes a frame: bytes and strings as they are, anything else as JSON.
func (c *Client) Send(v any) {
	c.T.Helper()
	if err := c.SendErr(v); err != nil {
		c.T.Fatalf("send: %v (server close code %d; frames not yet read: %d)", err, c.CloseCode(), c.queued())
	}
}

// SendErr is Send that reports a failed write (the connection is closing).
func (c *Client) SendErr(v any) error {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(v)
	}
	return c.Conn.WriteMessage(websocket.TextMessage, b)
}

func (c *Client) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Next returns the next frame matching keep (nil: any). Frames it skips are
// kept for later calls, in order.
func (c *Client) Next(keep func(Frame) bool) Frame {
	c.T.Helper()
	f, err := c.NextErr(keep, 10*time.Second)
	if err != nil {
		c.T.Fatal(err)
	}
	return f
}

// NextErr is Next that reports a closed connection or a timeout.
func (c *Client) NextErr(keep func(Frame) bool, timeout time.Duration) (Frame, error) {
	for i, f := range c.held {
		if keep == nil || keep(f) {
			c.held = append(c.held[:i:i], c.held[i+1:]...)
			return f, nil
		}
	}
	deadline := time.After(timeout)
	for {
		f, ok, err := c.take(deadline)
		if err != nil {
			return Frame{}, err
		}
		if !ok {
			return Frame{}, fmt.Errorf("connection closed (code %d) while waiting", c.CloseCode())
		}
		if keep == nil || keep(f) {
			return f, nil
		}
		c.held = append(c.held, f)
	}
}

// OfType matches frames of the given types.
func OfType(types ...string) func(Frame) bool {
	return func(f Frame) bool {
		for _, t := range types {
			if f.Type == t {
				return true
			}
		}
		return false
	}
}

// CloseCode is the close code received (-1: dropped without one; 0: open).
func (c *Client) CloseCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.close
}

// WaitClosed waits for the server to end the connection; it returns the code.
func (c *Client) WaitClosed() int {
	c.T.Helper()
	deadline := time.After(15 * time.Second)
	for {
		_, ok, err := c.take(deadline)
		if err != nil {
			c.T.Fatal("connection not closed")
		}
		if !ok {
			return c.CloseCode()
		}
	}
}

// Drain returns every frame left (held ones first) once the connection ends.
func (c *Client) Drain() []Frame {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append(c.held, c.queue...)
	c.held, c.queue = nil, nil
	return out
}

// Upsert builds an upsert frame.
func Upsert(ref, id string, fields map[string]any) map[string]any {
	return map[string]any{"type": "upsert", "ref": ref, "id": id, "fields": fields}
}

// Q builds query params from pairs.
func Q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// Elements turns REST or snapshot elements into id -> fields.
func Elements(list []map[string]json.RawMessage) map[string]map[string]json.RawMessage {
	out := map[string]map[string]json.RawMessage{}
	for _, e := range list {
		var id string
		_ = json.Unmarshal(e["id"], &id)
		fields := map[string]json.RawMessage{}
		for k, v := range e {
			// id, by and createdAt are the element's own members, not fields.
			if !slices.Contains(paper.ReservedFields, k) {
				fields[k] = v
			}
		}
		out[id] = fields
	}
	return out
}

// Viewer applies frames the way a frontend does and records every
// violation of the stream's guarantees (gap, duplicate, bad resume).
type Viewer struct {
	Els    map[string]map[string]json.RawMessage
	Seq    uint64
	Epoch  string
	Errors []string
	Acked  map[string]uint64 // ref -> seq of acks seen
}

// NewViewer returns an empty viewer.
func NewViewer() *Viewer {
	return &Viewer{Els: map[string]map[string]json.RawMessage{}, Acked: map[string]uint64{}}
}

// Apply applies one frame.
func (v *Viewer) Apply(f Frame) {
	switch f.Type {
	case "snapshot":
		v.Els = Elements(f.Elements)
		v.Seq, v.Epoch = f.Seq, f.Epoch
	case "resumed":
		if f.From != v.Seq || f.Epoch != v.Epoch {
			v.Errors = append(v.Errors, fmt.Sprintf("resumed from %d/%s, had %d/%s", f.From, f.Epoch, v.Seq, v.Epoch))
		}
	case "op", "finalized":
		if f.Seq != v.Seq+1 {
			v.Errors = append(v.Errors, fmt.Sprintf("seq %d after %d", f.Seq, v.Seq))
		}
		v.Seq = f.Seq
		switch f.Op {
		case "upsert":
			v.Els[f.ID] = paper.Merge(v.Els[f.ID], f.Fields)
		case "delete":
			delete(v.Els, f.ID)
		}
	case "ack":
		v.Acked[f.Ref] = f.Seq
	case "presence", "error":
	default:
		// policy, and any later frame type with a seq: it consumes the seq.
		if f.Seq != 0 {
			if f.Seq != v.Seq+1 {
				v.Errors = append(v.Errors, fmt.Sprintf("%s seq %d after %d", f.Type, f.Seq, v.Seq))
			}
			v.Seq = f.Seq
		}
	}
}

// Document is GET /v1/papers/{id} decoded.
type Document struct {
	Seq      uint64                       `json:"seq"`
	Epoch    string                       `json:"epoch"`
	Status   string                       `json:"status"`
	Elements []map[string]json.RawMessage `json:"elements"`
}

// GetDocument fetches a paper's document over REST.
func GetDocument(t testing.TB, base, id string) Document {
	t.Helper()
	res, err := http.Get(base + "/v1/papers/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var d Document
	if res.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
		t.Fatalf("GET paper %s: %d %s", id, res.StatusCode, body)
	}
	return d
}

// Created is the POST /v1/papers answer.
type Created struct {
	ID       string `json:"id"`
	Epoch    string `json:"epoch"`
	OwnerKey string `json:"ownerKey"`
}

// CreatePaper creates a paper over REST, with the default edit policy
// (authors: each element is its author's and the owner's to change).
func CreatePaper(t testing.TB, base string) Created {
	t.Helper()
	return CreatePaperWith(t, base, `{"title":"Happy birthday","to":"Ada"}`)
}

// CreateOpenPaper creates a paper anyone may edit all of ("edit":"open"):
// for scenarios where many clients edit the same elements.
func CreateOpenPaper(t testing.TB, base string) Created {
	t.Helper()
	return CreatePaperWith(t, base, `{"title":"Happy birthday","to":"Ada","edit":"open"}`)
}

// CreatePaperWith creates a paper over REST from a create body.
func CreatePaperWith(t testing.TB, base, body string) Created {
	t.Helper()
	res, err := http.Post(base+"/v1/papers", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c Created
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	return c
}
