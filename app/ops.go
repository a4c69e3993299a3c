package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/papercast/papercast/delivery/admin"
	"github.com/papercast/papercast/domain"
)

// createLimit bounds how fast one client address may create papers, so a
// script cannot fill the store; echo's limiter keeps one x/time/rate bucket
// per address and forgets idle ones.
func createLimit(c LimitsConfig) echo.MiddlewareFunc {
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Skipper: func(c echo.Context) bool {
			return c.Request().Method != http.MethodPost || c.Path() != "/v1/papers"
		},
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(c.CreatesPerMinute / 60), Burst: c.CreatesBurst, ExpiresIn: 10 * time.Minute,
		}),
		DenyHandler: func(echo.Context, string, error) error {
			return fmt.Errorf("%w: too many papers created from this address; try again later", domain.ErrRateLimited)
		},
	})
}

// replicaID names this replica on the admin page: host name and pid.
func replicaID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// peers asks the other replicas listed in admin.peers for their stats, so
// the admin page shows the whole deployment.
func peers(c AdminConfig) func(ctx context.Context) []admin.Replica {
	if len(c.Peers) == 0 {
		return nil
	}
	return admin.HTTPPeers(&http.Client{Timeout: 2 * time.Second}, c.Token, c.Peers)
}
