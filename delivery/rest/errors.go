package rest

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/domain"
)

// Error codes of REST v1 error bodies: {"error":{"code":"..","message":".."}}.
const (
	CodeInvalid          = "invalid"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeTooLarge         = "too_large"
	CodeUnsupported      = "unsupported"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
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

// classify is the one place that maps errors to HTTP statuses and codes.
// Domain errors are matched with errors.Is so wrapping keeps working; echo's
// own *HTTPError (router 404/405, body limit 413) gets the same codes.
// Anything unknown is a 500 whose text never reaches the client.
func classify(err error) wireError {
	switch {
	case errors.Is(err, domain.ErrInvalid):
		return wireError{http.StatusBadRequest, CodeInvalid, err.Error(), false}
	case errors.Is(err, domain.ErrUnauthorized):
		return wireError{http.StatusUnauthorized, CodeUnauthorized, err.Error(), false}
	case errors.Is(err, domain.ErrForbidden):
		return wireError{http.StatusForbidden, CodeForbidden, err.Error(), false}
	case errors.Is(err, domain.ErrNotFound):
		return wireError{http.StatusNotFound, CodeNotFound, err.Error(), false}
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrFinalized):
		return wireError{http.StatusConflict, CodeConflict, err.Error(), false}
	case errors.Is(err, domain.ErrTooLarge):
		return wireError{http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error(), false}
	case errors.Is(err, domain.ErrUnsupported):
		return wireError{http.StatusUnsupportedMediaType, CodeUnsupported, err.Error(), false}
	case errors.Is(err, domain.ErrRateLimited):
		return wireError{http.StatusTooManyRequests, CodeRateLimited, err.Error(), false}
	case errors.Is(err, domain.ErrUnavailable), errors.Is(err, domain.ErrFull):
		// The cause (a Redis address, a dial error) is for the operator.
		return wireError{http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable, try again shortly", true}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusBadRequest:
			return wireError{he.Code, CodeInvalid, "bad request", false}
		case http.StatusUnauthorized:
			return wireError{he.Code, CodeUnauthorized, "authentication required", false}
		case http.StatusForbidden:
			return wireError{he.Code, CodeForbidden, "forbidden", false}
		case http.StatusNotFound:
			return wireError{he.Code, CodeNotFound, "no such resource", false}
		case http.StatusMethodNotAllowed:
			return wireError{he.Code, CodeMethodNotAllowed, "method not allowed on this resource", false}
		case http.StatusRequestEntityTooLarge:
			return wireError{he.Code, CodeTooLarge, "request body too large", false}
		case http.StatusUnsupportedMediaType:
			return wireError{he.Code, CodeUnsupported, "unsupported media type", false}
		case http.StatusTooManyRequests:
			return wireError{he.Code, CodeRateLimited, "too many requests", false}
		case http.StatusServiceUnavailable:
			return wireError{he.Code, CodeUnavailable, "the service is temporarily unavailable, try again shortly", true}
		}
	}
	return wireError{http.StatusInternalServerError, CodeInternal, "internal error", true}
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
