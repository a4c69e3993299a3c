package rest

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/domain"
)

// Cards renders a document as the finished card; *card.Cards satisfies it.
// Errors wrap domain errors: ErrUnavailable when the renderer is busy or
// its fonts are missing.
type Cards interface {
	PNG(ctx context.Context, doc domain.Document) ([]byte, error)
	PDF(ctx context.Context, doc domain.Document) ([]byte, error)
}

// cardRetryAfter is the Retry-After, in seconds, of a card refused because
// the renderer is busy.
const cardRetryAfter = "2"

// RegisterCards adds GET /v1/papers/:id/card.png and /card.pdf: the
// paper's card, from the same document and with the same ETag as
// GET /v1/papers/:id (a final paper's final document; an open paper's
// current one, as a preview).
func RegisterCards(e *echo.Echo, svc Service, cards Cards) {
	e.GET("/v1/papers/:id/card.png", func(c echo.Context) error {
		return serveCard(c, svc, cards.PNG, "image/png", "png")
	})
	e.GET("/v1/papers/:id/card.pdf", func(c echo.Context) error {
		return serveCard(c, svc, cards.PDF, "application/pdf", "pdf")
	})
}

func serveCard(c echo.Context, svc Service, render func(context.Context, domain.Document) ([]byte, error), mime, ext string) error {
	id, err := paperID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	doc, err := svc.Document(ctx, id)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	tag := doc.Paper.ETag()
	if notModified(c, tag) {
		return c.NoContent(http.StatusNotModified)
	}
	b, err := render(ctx, doc)
	if err != nil {
		if errors.Is(err, domain.ErrUnavailable) {
			hdr.Set("Retry-After", cardRetryAfter)
		}
		return err
	}
	hdr.Set("ETag", tag)
	hdr.Set(echo.HeaderCacheControl, "no-cache")
	hdr.Set(echo.HeaderContentDisposition, `inline; filename="papercast-`+doc.Paper.ID+`.`+ext+`"`)
	return c.Blob(http.StatusOK, mime, b)
}
