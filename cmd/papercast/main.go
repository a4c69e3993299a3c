// Command papercast is the papercast server and its tools: serve, seed and
// loadtest. See `papercast help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/papercast/papercast/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
