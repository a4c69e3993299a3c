package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxPeerBody bounds what is read from a peer's /admin/stats.
const maxPeerBody = 8 << 20

// HTTPPeers returns a Local.Peers that reads each peer's
// GET {baseURL}/admin/stats?scope=self with the shared admin token, all
// peers at once. A peer that cannot be read is reported with its Addr set to
// its base URL and the error; it never hides the others.
func HTTPPeers(client *http.Client, token string, baseURLs []string) func(ctx context.Context) []Replica {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) []Replica {
		out := make([]Replica, len(baseURLs))
		var wg sync.WaitGroup
		for i, base := range baseURLs {
			wg.Go(func() {
				r, err := fetchPeer(ctx, client, token, base)
				if err != nil {
					r = Replica{Addr: base, Error: err.Error()}
				}
				out[i] = r
			})
		}
		wg.Wait()
		return out
	}
}

func fetchPeer(ctx context.Context, client *http.Client, token, base string) (Replica, error) {
	url := strings.TrimRight(base, "/") + "/admin/stats?scope=self"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Replica{}, fmt.Errorf("peer %s: %w", base, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return Replica{}, fmt.Errorf("peer %s: %w", base, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxPeerBody))
		return Replica{}, fmt.Errorf("peer %s: status %s", base, res.Status)
	}
	var s Stats
	if err := json.NewDecoder(io.LimitReader(res.Body, maxPeerBody)).Decode(&s); err != nil {
		return Replica{}, fmt.Errorf("peer %s: decode stats: %w", base, err)
	}
	if len(s.Replicas) == 0 {
		return Replica{}, fmt.Errorf("peer %s: %w", base, errors.New("no replica in its stats"))
	}
	r := s.Replicas[0]
	r.Self = false
	if r.Addr == "" {
		r.Addr = base
	}
	return r, nil
}
