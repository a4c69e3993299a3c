package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// seedCmd creates sample papers through the running server's public API
// (REST to create, WebSocket to write notes), exactly as a frontend would.
func seedCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "base URL of a running papercast")
	n := fs.Int("papers", 3, "how many papers to create")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	samples := []struct{ title, to string }{
		{"Happy birthday, Ada!", "Ada"},
		{"Farewell, Grace", "Grace"},
		{"Congrats on the launch", "the papercast team"},
		{"Welcome aboard, Linus", "Linus"},
		{"Thank you, Margaret", "Margaret"},
	}
	// Colors from the board's palette (web/static/layout.js), so the board
	// shows which one a note has and can change it.
	notes := []map[string]any{
		{"text": "Have a wonderful day!", "x": 40, "y": 60, "color": "#fff59d"},
		{"text": "So glad to work with you.", "x": 280, "y": 90, "color": "#c8e6c9"},
		{"text": "Cake in the kitchen at 3!", "x": 150, "y": 260, "color": "#f8bbd0", "sticker": "cake"},
	}
	for i := 0; i < *n; i++ {
		s := samples[i%len(samples)]
		p, err := createPaper(ctx, *base, s.title, s.to)
		if err != nil {
			return err
		}
		if err := writeNotes(ctx, *base, p.ID, notes); err != nil {
			return fmt.Errorf("paper %s: %w", p.ID, err)
		}
		fmt.Fprintf(stdout, "paper %s  %q\n  board:    %s/p/%s\n  owner:    %s/p/%s#owner=%s\n  document: %s/v1/papers/%s\n  ownerKey: %s\n",
			p.ID, s.title, *base, p.ID, *base, p.ID, p.OwnerKey, *base, p.ID, p.OwnerKey)
	}
	return nil
}

type createdPaper struct {
	ID       string `json:"id"`
	OwnerKey string `json:"ownerKey"`
	Epoch    string `json:"epoch"`
}

func createPaper(ctx context.Context, base, title, to string) (createdPaper, error) {
	body, _ := json.Marshal(map[string]string{"title": title, "to": to})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/papers", bytes.NewReader(body))
	if err != nil {
		return createdPaper{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return createdPaper{}, fmt.Errorf("create paper (is the server running at %s?): %w", base, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusCreated {
		return createdPaper{}, fmt.Errorf("create paper: %s: %s", res.Status, raw)
	}
	var p createdPaper
	if err := json.Unmarshal(raw, &p); err != nil {
		return createdPaper{}, fmt.Errorf("create paper: %w", err)
	}
	return p, nil
}

// wsURL turns a base http(s) URL into the paper's WebSocket URL.
func wsURL(base, paperID string, q url.Values) string {
	u := strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1)
	s := u + "/v1/papers/" + paperID + "/ws"
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func writeNotes(ctx context.Context, base, paperID string, notes []map[string]any) error {
	c, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL(base, paperID, url.Values{"user": {"seed"}, "name": {"Seed bot"}}), nil)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetReadDeadline(d)
	}
	var first struct{ Type string }
	if err := c.ReadJSON(&first); err != nil || first.Type != "snapshot" {
		return fmt.Errorf("expected a snapshot first (got %q): %v", first.Type, err)
	}
	for i, fields := range notes {
		ref := fmt.Sprintf("seed-%d", i)
		if err := c.WriteJSON(map[string]any{"type": "upsert", "ref": ref, "id": fmt.Sprintf("note-%d", i+1), "fields": fields}); err != nil {
			return err
		}
		for {
			var f struct{ Type, Ref, Code, Message string }
			if err := c.ReadJSON(&f); err != nil {
				return fmt.Errorf("waiting for ack: %w", err)
			}
			if f.Type == "error" && f.Ref == ref {
				return fmt.Errorf("note %d refused: %s: %s", i+1, f.Code, f.Message)
			}
			if f.Type == "ack" && f.Ref == ref {
				break
			}
		}
	}
	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"))
	return nil
}
