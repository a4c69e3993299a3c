// Package app is papercast's composition root: it reads the config, builds
// the store, the hub and the deliveries, and runs the HTTP server. It is the
// only package that knows every concrete type, and it can run a whole server
// inside a test.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/papercast/papercast/card"
	"github.com/papercast/papercast/delivery/admin"
	"github.com/papercast/papercast/delivery/jwtauth"
	"github.com/papercast/papercast/delivery/rest"
	"github.com/papercast/papercast/delivery/ws"
	"github.com/papercast/papercast/metrics"
	"github.com/papercast/papercast/repository/memory"
	redisstore "github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/usecase"
	"github.com/papercast/papercast/web"
)

// backend is a store that is also the presence store and the bus.
type backend interface {
	usecase.Store
	usecase.PresenceStore
	usecase.Bus
	usecase.ArchiveQueue
	Close()
}

// App is one running papercast replica.
type App struct {
	cfg     Config
	log     *slog.Logger
	store   backend
	papers  *usecase.Papers
	hub     *usecase.Hub
	ws      *ws.Handler
	echo    *echo.Echo
	srv     *http.Server
	metrics *metrics.Metrics
	sampler *admin.Sampler // the admin page's last 15 minutes; Start to Shutdown
	started time.Time
	ln      net.Listener
	served  chan error

	archive usecase.Archive // nil: archive.driver none
	// archiver moves finalized papers to the archive; it runs from Start
	// until Shutdown (stopArchiver).
	archiver     *usecase.Archiver
	stopArchiver func()
}

// NewLogger builds the slog logger the config asks for.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New builds a replica from a validated config: first the backend (the
// store, the papers service and the hub), then the HTTP side on top of it. It
// connects to the store (failing fast when Redis is unreachable at start)
// but does not listen yet. On an error nothing it started is left running.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, metrics: metrics.New()}
	if err := a.newBackend(ctx); err != nil {
		return nil, err
	}
	if err := a.newHTTP(); err != nil {
		a.closeBackend()
		return nil, err
	}
	return a, nil
}

// newBackend connects the store and builds the services on it. The hub's
// presence loops run from here on, until closeBackend (or Shutdown).
func (a *App) newBackend(ctx context.Context) error {
	// Before the store, so a bad words file leaves nothing to stop.
	filter, err := contentFilter(a.cfg.Moderation, a.log)
	if err != nil {
		return err
	}
	switch a.cfg.Store {
	case "memory":
		a.store = memory.New(a.cfg.memoryOptions())
	case "redis":
		o := a.cfg.redisOptions()
		o.Observer = a.metrics
		s, err := redisstore.New(ctx, o, a.log)
		if err != nil {
			return fmt.Errorf("connect to redis at %s: %w", strings.Join(a.cfg.Redis.Addrs, ","), err)
		}
		a.store = s
	default:
		return fmt.Errorf("config store: unknown store %q", a.cfg.Store)
	}
	arch, err := openArchive(ctx, a.cfg.Archive, a.log)
	if err != nil {
		a.store.Close()
		return err
	}
	a.archive = arch
	// Reads (REST, joins, the board's 404 check) find papers the store let
	// go in the archive; writes and the archiver use the store itself.
	var reads usecase.Store = a.store
	if arch != nil {
		reads = usecase.ArchiveBacked(a.store, arch)
		a.archiver = usecase.NewArchiver(a.store, a.store, arch, a.cfg.archiverOptions(), a.metrics, a.log)
	}
	limits := a.cfg.PaperLimits()
	a.papers = usecase.NewPapers(reads, a.store, limits)
	a.papers.SetFilter(filter)
	if arch != nil {
		a.papers.SetArchive(arch)
	}
	ho := a.cfg.hubOptions()
	ho.Filter = filter
	a.hub = usecase.NewHub(reads, a.store, a.store, limits, ho, a.metrics, a.log)
	a.metrics.SetActivePapers(func() float64 { return float64(a.hub.Rooms()) })
	return nil
}

// closeBackend stops what newBackend started, for when the replica never
// served (Shutdown stops a serving one, sessions first).
func (a *App) closeBackend() {
	a.hub.Close()
	a.store.Close()
	a.closeArchive()
}

// startArchiver runs the archiver in its own goroutine until stopArchiver.
func (a *App) startArchiver() {
	if a.archiver == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.archiver.Run(ctx)
	}()
	a.stopArchiver = func() {
		cancel()
		<-done
	}
}

// closeArchive stops the archiver (if it runs) and closes the archive.
func (a *App) closeArchive() {
	if a.stopArchiver != nil {
		a.stopArchiver()
		a.stopArchiver = nil
	}
	if a.archive != nil {
		if err := a.archive.Close(); err != nil {
			a.log.Warn("closing the archive", "error", err)
		}
		a.archive = nil
	}
}

// newHTTP builds every HTTP route on the backend: REST (behind the optional
// JWT check and the create limit), the WebSocket delivery, the board page,
// /metrics and the admin surfaces.
func (a *App) newHTTP() error {
	cfg := a.cfg
	a.echo = rest.NewEcho(rest.Options{BodyLimit: cfg.Server.BodyLimit, AllowedOrigins: cfg.Server.AllowedOrigins, Dev: cfg.Server.Dev}, a.log)
	wso := cfg.wsOptions()
	if secret := cfg.Auth.JWT.HMACSecret; secret != "" {
		v, err := jwtauth.New(secret)
		if err != nil {
			return fmt.Errorf("config auth.jwt.hmac_secret: %w", err)
		}
		a.echo.Use(v.Middleware())
		wso.Identify = jwtIdentity(v)
	} else {
		s, err := guestSigner(cfg.Auth, a.log)
		if err != nil {
			return err
		}
		wso.Identify = guestIdentity(s, cfg.Auth.TrustQueryUser)
	}
	a.echo.Use(createLimit(cfg.Limits))
	rest.Register(a.echo, a.papers)
	cards := card.NewCards(card.NewRenderer(cfg.CardOptions()), cfg.Card.CacheBytes, cfg.Card.RenderTimeout)
	if err := cards.Check(); err != nil {
		// Not fatal: everything but the card routes works, and those answer
		// 503 with this error in the log until the fonts are installed.
		a.log.Warn("card rendering unavailable: fonts missing", "error", err)
	}
	rest.RegisterCards(a.echo, a.papers, cards)
	a.ws = ws.New(a.hub, wso, a.metrics, a.log)
	a.ws.Register(a.echo)
	web.Register(a.echo, a.papers)
	var guard []echo.MiddlewareFunc
	if cfg.Admin.Token != "" {
		guard = append(guard, admin.RequireToken(cfg.Admin.Token))
	}
	a.echo.GET("/metrics", echo.WrapHandler(a.metrics.Handler()), guard...)
	a.started = time.Now()
	a.sampler = admin.NewSampler(a.metrics, admin.DefaultSampleInterval, admin.DefaultSampleWindow)
	admin.Register(a.echo, cfg.Admin.Token, &admin.Local{
		ID: replicaID(), Addr: cfg.Server.Addr, StartedAt: a.started, StoreKind: cfg.Store,
		Hub: a.hub, Counts: a.metrics, Ping: admin.TimePing(a.store.Ping),
		Peers: peers(cfg.Admin), Sampler: a.sampler,
	}, cfg.Admin.Pprof)
	return nil
}

// jwtIdentity takes a session's identity from its token's claims.
func jwtIdentity(v *jwtauth.Verifier) func(r *http.Request, paperID string) (ws.Identity, error) {
	return func(r *http.Request, paperID string) (ws.Identity, error) {
		c, err := v.VerifyPaper(r, paperID)
		if err != nil {
			return ws.Identity{}, err
		}
		who := ws.Identity{User: c.Subject, Name: c.Name}
		return who, ws.ValidIdentity(who)
	}
}

// Start listens on the configured address and serves in the background.
func (a *App) Start() error {
	ln, err := net.Listen("tcp", a.cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Server.Addr, err)
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.served = make(chan error, 1)
	a.sampler.Start()
	a.startArchiver()
	go func() {
		var err error
		if a.cfg.Server.TLSCert != "" {
			err = a.srv.ServeTLS(ln, a.cfg.Server.TLSCert, a.cfg.Server.TLSKey)
		} else {
			err = a.srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.served <- err
	}()
	a.log.Info("papercast serving", "url", a.URL(), "store", a.cfg.Store, "archive", a.cfg.Archive.Driver)
	return nil
}

// Addr is the address the replica listens on (after Start).
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the base URL of the replica (after Start).
func (a *App) URL() string {
	scheme := "http"
	if a.cfg.Server.TLSCert != "" {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(a.Addr())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Hub exposes the live-session service (for tests and the admin page).
func (a *App) Hub() *usecase.Hub { return a.hub }

// Shutdown stops accepting connections, closes every session with 1001 after
// its in-flight op, waits for the rooms to unsubscribe, and closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		// Stops the listener; hijacked WebSocket connections are not waited for.
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	a.hub.Close()
	if err := a.ws.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := a.hub.Wait(ctx); err != nil {
		errs = append(errs, err)
	}
	a.sampler.Close()
	a.closeArchive() // the archiver first: it uses the store
	a.store.Close()
	if a.served != nil {
		if err := <-a.served; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run serves until ctx ends, then shuts down within the configured timeout.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		a.closeBackend()
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-a.served:
		a.served <- err
	}
	log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// Routes lists every HTTP route the replica serves (the OpenAPI test checks
// them against docs/openapi.yaml).
func (a *App) Routes() []*echo.Route { return a.echo.Routes() }
