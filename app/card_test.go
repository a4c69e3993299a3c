package app_test

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/papercast/papercast/app"
	"github.com/papercast/papercast/internal/wstest"
)

func fetch(t testing.TB, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// TestFinishedCardDownloads: notes written over a real WebSocket, the
// paper finalized, and its card fetched as PNG and PDF from the replica,
// rendered with the configured fonts; the document's ETag gets a 304.
func TestFinishedCardDownloads(t *testing.T) {
	cfg := app.Defaults()
	cfg.Server.Addr = "127.0.0.1:0"
	a := startApp(t, cfg)
	base := a.URL()
	p := wstest.CreatePaper(t, base)
	c := wstest.MustDial(t, base, p.ID, wstest.Q("user", "u1", "name", "Ana"))
	c.First()
	for i, text := range []string{"생일 축하해요! 🎂", "עם כל הלב", "مع أطيب التمنيات", "Happy birthday, Ada!"} {
		ref := string(rune('a' + i))
		c.Send(wstest.Upsert(ref, "n"+ref, map[string]any{"text": text, "x": i * 220, "y": 40, "color": "#bbdefb"}))
		c.Next(wstest.OfType("op"))
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/papers/"+p.ID+"/finalize", nil)
	req.Header.Set("Authorization", "Bearer "+p.OwnerKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("finalize: %d", res.StatusCode)
	}
	docRes, _ := fetch(t, base+"/v1/papers/"+p.ID)
	tag := docRes.Header.Get("ETag")

	res, body := fetch(t, base+"/v1/papers/"+p.ID+"/card.png")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("card.png: %d %s %.200s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("card.png does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 700 || b.Dy() < 300 {
		t.Errorf("card is only %v", b)
	}
	if got := res.Header.Get("ETag"); got != tag {
		t.Errorf("card ETag %q, document ETag %q", got, tag)
	}
	res, body = fetch(t, base+"/v1/papers/"+p.ID+"/card.pdf")
	if res.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("card.pdf: %d %.40q", res.StatusCode, body)
	}
	res, body = fetch(t, base+"/v1/papers/"+p.ID+"/card.png", "If-None-Match", tag)
	if res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304 and none", res.StatusCode, len(body))
	}
	res, body = fetch(t, base+"/v1/papers/nosuchpaper/card.png")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not_found") {
		t.Errorf("unknown paper: %d %s", res.StatusCode, body)
	}
}
