package admin

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed admin.html
var pageHTML []byte

// pageCSP allows exactly the page's own inline script and style (by hash)
// and requests to this origin: injected markup could run nothing.
var pageCSP = buildCSP(string(pageHTML))

func buildCSP(html string) string {
	return "default-src 'none'; " +
		"script-src " + inlineHash(html, "<script>", "</script>") + "; " +
		"style-src " + inlineHash(html, "<style>", "</style>") + "; " +
		"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// inlineHash is the CSP source of the one inline element between open and
// close ('none' if there is none).
func inlineHash(html, open, close string) string {
	_, rest, ok := strings.Cut(html, open)
	if !ok {
		return "'none'"
	}
	body, _, ok := strings.Cut(rest, close)
	if !ok {
		return "'none'"
	}
	sum := sha256.Sum256([]byte(body))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func servePage(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusOK, echo.MIMETextHTMLCharsetUTF8, pageHTML)
}
