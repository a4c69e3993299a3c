package app

import (
	"context"
	"flag"
	"fmt"
	"io"
)

const usage = `papercast: real-time collaborative rolling papers

usage:
  papercast serve [--config PATH]              serve HTTP + WebSocket
  papercast seed [--url URL] [--papers N]      create sample papers on a running server
  papercast loadtest [flags]                   measure a running deployment (see --help)
  papercast help

Config: config.yaml in the working directory (or --config PATH), overridden by
PAPERCAST_<SECTION>_<KEY> environment variables (e.g. PAPERCAST_SERVER_ADDR).
`

// Main runs the papercast command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stderr)
	case "seed":
		err = seedCmd(ctx, args[1:], stdout)
	case "loadtest":
		err = loadtestCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "papercast: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "papercast %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func serveCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (default ./config.yaml when present)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := Load(*path)
	if err != nil {
		return err
	}
	return Run(ctx, cfg, NewLogger(cfg.Log, stderr))
}
