package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// DefaultBodyLimit bounds a request body. A create body is a title and a
// recipient (200 characters each), so 64 KiB leaves ample room while a
// flood of huge bodies costs the server nothing.
const DefaultBodyLimit = 64 << 10

// Options configure the echo instance.
type Options struct {
	// BodyLimit is the largest request body in bytes; 0 means DefaultBodyLimit.
	BodyLimit int64
	// AllowedOrigins are the browser origins (scheme://host[:port]) besides
	// the server's own host that may call the API; see OriginAllowed.
	AllowedOrigins []string
	// Dev also allows localhost origins.
	Dev bool
}

func (o Options) bodyLimit() int64 {
	if o.BodyLimit <= 0 {
		return DefaultBodyLimit
	}
	return o.BodyLimit
}

// NewEcho builds the echo instance every HTTP route of the server shares,
// with no routes yet (Register adds REST v1; delivery/ws adds the WebSocket):
// request ids, a slog request log, panic recovery, CORS, the body limit, and
// the JSON error handler. The client IP is the TCP peer's (a client's own
// X-Forwarded-For is never trusted).
func NewEcho(opts Options, log *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(
		saneRequestID,
		middleware.RequestID(),
		requestLogger(log),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisableStackAll: true,
			StackSize:       8 << 10,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				log.LogAttrs(c.Request().Context(), slog.LevelError, "panic in handler",
					slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
					slog.String("method", c.Request().Method),
					slog.String("path", c.Request().URL.Path),
					slog.String("error", err.Error()),
					slog.String("stack", string(stack)))
				return fmt.Errorf("%w: %w", errRecovered, err)
			},
		}),
		cors(opts.AllowedOrigins, opts.Dev),
		// A plain byte count: gommon's parser reads "65536" as bytes.
		middleware.BodyLimit(strconv.FormatInt(opts.bodyLimit(), 10)),
	)
	return e
}

// saneRequestID drops a client's X-Request-Id unless it is a short token, so
// RequestID generates one instead and nobody writes arbitrary text into the
// server's logs and response headers.
func saneRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !validRequestID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func validRequestID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// requestLogger logs one line per request. It logs the path without the
// query (a JWT may ride in ?token=) and no headers (Authorization carries
// owner keys and tokens).
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogRequestID: true,
		LogMethod:    true,
		LogURIPath:   true,
		LogStatus:    true,
		LogLatency:   true,
		LogRemoteIP:  true,
		// The error handler runs first, so the logged status is the one sent.
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= http.StatusInternalServerError {
				level = slog.LevelWarn
			}
			log.LogAttrs(c.Request().Context(), level, "http request",
				slog.String("request_id", v.RequestID),
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("remote_ip", v.RemoteIP))
			return nil
		},
	})
}
