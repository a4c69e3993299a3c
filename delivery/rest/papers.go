package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/docs"
	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/paper"
	"github.com/papercast/papercast/protocol"
)

// HeaderOwnerKey carries the owner key when Authorization is taken by a
// JWT (JWT mode); otherwise the key goes in Authorization: Bearer.
const HeaderOwnerKey = "X-Owner-Key"

// handlers serves REST v1 from one Service.
type handlers struct {
	svc Service
}

// Register adds the REST v1 routes, /healthz, /readyz and /v1/openapi.yaml
// to e (built by NewEcho, whose error handler writes every error returned
// here). The WebSocket route GET /v1/papers/:id/ws belongs to delivery/ws.
func Register(e *echo.Echo, svc Service) {
	h := &handlers{svc: svc}
	e.POST("/v1/papers", h.create)
	e.GET("/v1/papers/:id", h.get)
	e.DELETE("/v1/papers/:id", h.delete)
	e.PATCH("/v1/papers/:id", h.patch)
	e.POST("/v1/papers/:id/finalize", h.finalize)
	e.POST("/v1/papers/:id/bans", h.ban)
	e.DELETE("/v1/papers/:id/bans/:user", h.unban)
	e.GET("/v1/openapi.yaml", openAPI)
	e.GET("/healthz", healthz)
	e.GET("/readyz", h.readyz)
}

// paperMeta is a paper's metadata in REST bodies. It has no owner key field
// on purpose: only createdPaper, sent once, carries the key.
type paperMeta struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	To          string  `json:"to"`
	Status      string  `json:"status"`
	Seq         uint64  `json:"seq"`
	Epoch       string  `json:"epoch"`
	CreatedAt   string  `json:"createdAt"`
	FinalizedAt *string `json:"finalizedAt,omitempty"`
	Edit        string  `json:"edit"`
}

type createdPaper struct {
	paperMeta
	OwnerKey string `json:"ownerKey"`
}

func metaOf(p domain.Paper) paperMeta {
	w := protocol.Paper(p)
	return paperMeta{
		ID: w.ID, Title: w.Title, To: w.To, Status: w.Status,
		Seq: p.Seq, Epoch: p.Epoch, CreatedAt: w.CreatedAt, FinalizedAt: w.FinalizedAt, Edit: w.Edit,
	}
}

// documentJSON writes a document as the paper's metadata plus "elements".
// Elements go through protocol.AppendElements so field values leave exactly
// as they were stored (encoding/json would re-escape <, > and &).
func documentJSON(doc domain.Document) []byte {
	meta, _ := json.Marshal(metaOf(doc.Paper)) // strings and numbers always marshal
	b := make([]byte, 0, len(meta)+64+256*len(doc.Elements))
	b = append(b, meta[:len(meta)-1]...)
	b = append(b, `,"elements":`...)
	b = protocol.AppendElements(b, doc.Elements)
	return append(b, '}')
}

// etagMatches implements If-None-Match: a list of (possibly weak) tags or *.
func etagMatches(ifNoneMatch, tag string) bool {
	for part := range strings.SplitSeq(ifNoneMatch, ",") {
		t := strings.TrimSpace(part)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// paperID reads the :id path param. Anything that cannot be a paper id is
// simply not found, before any store is asked.
func paperID(c echo.Context) (string, error) {
	id := c.Param("id")
	if !paper.ValidID(id) {
		return "", fmt.Errorf("paper: %w", domain.ErrNotFound)
	}
	return id, nil
}

// ownerKey reads the owner key: X-Owner-Key if present, else a Bearer
// Authorization. An absent or non-Bearer credential is "" (401 from the
// service, after it has said whether the paper exists).
func ownerKey(r *http.Request) string {
	if k := r.Header.Get(HeaderOwnerKey); k != "" {
		return k
	}
	scheme, key, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(key)
}

// readJSON reads a request body that must be JSON.
func readJSON(req *http.Request) ([]byte, error) {
	if err := checkJSONContentType(req.Header.Get(echo.HeaderContentType)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(req.Body) // bounded by the BodyLimit middleware
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return body, nil
}

func (h *handlers) create(c echo.Context) error {
	req := c.Request()
	body, err := readJSON(req)
	if err != nil {
		return err
	}
	in, err := decodeCreate(body)
	if err != nil {
		return err
	}
	p, key, err := h.svc.Create(req.Context(), in.Title, in.To, in.Edit)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/papers/"+p.ID)
	return c.JSON(http.StatusCreated, createdPaper{paperMeta: metaOf(p), OwnerKey: key})
}

func writeDocument(c echo.Context, doc domain.Document) error {
	hdr := c.Response().Header()
	hdr.Set("ETag", doc.Paper.ETag())
	hdr.Set(echo.HeaderCacheControl, "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, documentJSON(doc))
}

func (h *handlers) get(c echo.Context) error {
	id, err := paperID(c)
	if err != nil {
		return err
	}
	doc, err := h.svc.Document(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if notModified(c, doc.Paper.ETag()) {
		return c.NoContent(http.StatusNotModified)
	}
	return writeDocument(c, doc)
}

// notModified answers If-None-Match: when the request's tags match tag, it
// sets the 304's headers and reports true.
func notModified(c echo.Context, tag string) bool {
	inm := c.Request().Header.Get("If-None-Match")
	if inm == "" || !etagMatches(inm, tag) {
		return false
	}
	hdr := c.Response().Header()
	hdr.Set("ETag", tag)
	hdr.Set(echo.HeaderCacheControl, "no-cache")
	return true
}

func (h *handlers) finalize(c echo.Context) error {
	id, err := paperID(c)
	if err != nil {
		return err
	}
	doc, err := h.svc.Finalize(c.Request().Context(), id, ownerKey(c.Request()))
	if err != nil {
		return err
	}
	return writeDocument(c, doc)
}

func (h *handlers) delete(c echo.Context) error {
	id, err := paperID(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.Request().Context(), id, ownerKey(c.Request())); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// patch changes what an owner may change of a paper: its edit policy.
func (h *handlers) patch(c echo.Context) error {
	id, edit, err := idAndMember(c, "edit")
	if err != nil {
		return err
	}
	p, err := h.svc.SetEdit(c.Request().Context(), id, ownerKey(c.Request()), edit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, metaOf(p))
}

func (h *handlers) ban(c echo.Context) error {
	id, user, err := idAndMember(c, "user")
	if err != nil {
		return err
	}
	if err := h.svc.Ban(c.Request().Context(), id, ownerKey(c.Request()), user); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// idAndMember reads the :id path param and a JSON body of one required
// string member, key.
func idAndMember(c echo.Context, key string) (id, value string, err error) {
	if id, err = paperID(c); err != nil {
		return "", "", err
	}
	body, err := readJSON(c.Request())
	if err != nil {
		return "", "", err
	}
	if value, err = decodeRequired(body, key); err != nil {
		return "", "", err
	}
	return id, value, nil
}

func (h *handlers) unban(c echo.Context) error {
	id, err := paperID(c)
	if err != nil {
		return err
	}
	user, err := lastSegment(c.Request())
	if err != nil {
		return err
	}
	if err := h.svc.Unban(c.Request().Context(), id, ownerKey(c.Request()), user); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// lastSegment is the request path's last segment, percent-decoded once. The
// router's own param is decoded or not depending on whether the path needed
// escaping; a user id may hold any character, "/" and "%" included.
func lastSegment(r *http.Request) (string, error) {
	p := r.URL.EscapedPath()
	seg, err := url.PathUnescape(p[strings.LastIndexByte(p, '/')+1:])
	if err != nil {
		return "", fmt.Errorf("%w: bad escape in the path", domain.ErrInvalid)
	}
	return seg, nil
}

type statusBody struct {
	Status string `json:"status"`
}

// healthz says the process serves HTTP; it checks no dependency, so a Redis
// outage never gets a healthy replica restarted.
func healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, statusBody{Status: "ok"})
}

// readyTimeout bounds one readiness probe: a store that takes longer than
// this is not ready, whatever it answers later.
const readyTimeout = 2 * time.Second

// readyz says this replica can do its work: store and bus (the subscriber
// connection too) answer.
func (h *handlers) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := h.svc.Ready(ctx); err != nil {
		return fmt.Errorf("not ready: %w: %w", domain.ErrUnavailable, err)
	}
	return c.JSON(http.StatusOK, statusBody{Status: "ok"})
}

func openAPI(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
	return c.Blob(http.StatusOK, "application/yaml", docs.OpenAPI)
}
