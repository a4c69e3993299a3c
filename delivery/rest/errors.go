package rest

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
)

// errRecovered marks an error made from a recovered panic: the Recover
// middleware has already logged it with its stack.
var errRecovered = errors.New("panic recovered")

// wireError is how one error goes on the wire. Message is for a person.
type wireError struct {
	status  int
	code    string
	message string
	// log says the error is the server's fault: the client gets a generic
	// message and the operator gets the real error in the log.
	log bool
}

// classify is the one place that maps errors to HTTP statuses and codes
// (protocol/errors.go). Domain errors are matched with errors.Is so wrapping
// keeps working, and carry their own text unless the code has a fixed one;
// echo's own *HTTPError (router 404/405, body limit 413) gets the same codes.
// Anything unknown is a 500 whose text never reaches the client.
func classify(err error) wireError {
	if status, code, ok := domainStatus(err); ok {
		// A server-side code's cause (a Redis address, a dial error) is for
		// the operator: it is logged, and the client gets the fixed text.
		return wireError{status, code, protocol.MessageFor(code, err), code == protocol.CodeUnavailable}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusBadRequest:
			return wireError{he.Code, protocol.CodeInvalid, "bad request", false}
		case http.StatusUnauthorized:
			return wireError{he.Code, protocol.CodeUnauthorized, "authentication required", false}
		case http.StatusForbidden:
			return wireError{he.Code, protocol.CodeForbidden, "forbidden", false}
		case http.StatusNotFound:
			return wireError{he.Code, protocol.CodeNotFound, "no such resource", false}
		case http.StatusMethodNotAllowed:
			return wireError{he.Code, protocol.CodeMethodNotAllowed, "method not allowed on this resource", false}
		case http.StatusRequestEntityTooLarge:
			return wireError{he.Code, protocol.CodeTooLarge, "request body too large", false}
		case http.StatusUnsupportedMediaType:
			return wireError{he.Code, protocol.CodeUnsupported, "unsupported media type", false}
		case http.StatusTooManyRequests:
			return wireError{he.Code, protocol.CodeRateLimited, "too many requests", false}
		case http.StatusServiceUnavailable:
			return wireError{he.Code, protocol.CodeUnavailable, protocol.ErrorOf(protocol.CodeUnavailable).Message, true}
		}
	}
	return wireError{http.StatusInternalServerError, protocol.CodeInternal, protocol.ErrorOf(protocol.CodeInternal).Message, true}
}

// domainStatuses gives each domain error its status and code; the first
// entry the error wraps wins.
var domainStatuses = []struct {
	err    error
	status int
	code   string
}{
	{domain.ErrInvalid, http.StatusBadRequest, protocol.CodeInvalid},
	{domain.ErrFiltered, http.StatusBadRequest, protocol.CodeFiltered},
	{domain.ErrUnauthorized, http.StatusUnauthorized, protocol.CodeUnauthorized},
	{domain.ErrForbidden, http.StatusForbidden, protocol.CodeForbidden},
	{domain.ErrNotFound, http.StatusNotFound, protocol.CodeNotFound},
	{domain.ErrConflict, http.StatusConflict, protocol.CodeConflict},
	{domain.ErrFinalized, http.StatusConflict, protocol.CodeConflict},
	{domain.ErrTooLarge, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge},
	{domain.ErrUnsupported, http.StatusUnsupportedMediaType, protocol.CodeUnsupported},
	{domain.ErrRateLimited, http.StatusTooManyRequests, protocol.CodeRateLimited},
	{domain.ErrFull, http.StatusServiceUnavailable, protocol.CodeFull},
	{domain.ErrOverloaded, http.StatusServiceUnavailable, protocol.CodeOverloaded},
	{domain.ErrUnavailable, http.StatusServiceUnavailable, protocol.CodeUnavailable},
}

// domainStatus maps a domain error to its status and code.
func domainStatus(err error) (status int, code string, ok bool) {
	for _, d := range domainStatuses {
		if errors.Is(err, d.err) {
			return d.status, d.code, true
		}
	}
	return 0, "", false
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorHandler is echo's HTTPErrorHandler: every error leaves as
// {"error":{"code","message"}} with its status, never with a stack trace.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		res := c.Response()
		if res.Committed {
			// The request logger already handed this error over; echo hands
			// it over again when it bubbles up.
			return
		}
		w := classify(err)
		if w.log && !errors.Is(err, errRecovered) {
			level := slog.LevelError
			if w.status == http.StatusServiceUnavailable {
				level = slog.LevelWarn
			}
			log.LogAttrs(c.Request().Context(), level, "request failed",
				slog.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
				slog.Int("status", w.status),
				slog.String("error", err.Error()))
		}
		if w.status == http.StatusUnauthorized {
			res.Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="papercast"`)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(w.status)
			return
		}
		body, _ := json.Marshal(errorBody{errorDetail{Code: w.code, Message: w.message}}) // strings always marshal
		if werr := c.Blob(w.status, echo.MIMEApplicationJSON, body); werr != nil {
			log.Debug("write error response", slog.String("error", werr.Error()))
		}
	}
}
