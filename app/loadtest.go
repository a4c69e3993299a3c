package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/papercast/papercast/loadgen"
)

// loadtestCmd runs the load generator (package loadgen) from the command
// line: it prints a table and, with --out, writes the result as JSON.
func loadtestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := loadgen.Defaults()
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: papercast loadtest (--targets URL,URL | --spawn R) [flags]

Opens --sessions WebSocket sessions over --papers papers, spread over the
replicas; each session sends --rate edits/s and --presence-rate presence
updates/s. Measures join time, ops acked/s, deliveries/s, latency from send
to every receiver, lost/out-of-order/duplicate deliveries, each sender's
order at every receiver, ops refused but stored anyway, errors, and the
replicas' RSS and CPU (from /proc; with --targets give --pids for those).

flags:
`)
		fs.PrintDefaults()
	}
	targets := fs.String("targets", "", "comma-separated base URLs of running replicas, e.g. http://127.0.0.1:8081,http://127.0.0.1:8082")
	pids := fs.String("pids", "", "comma-separated pids of the --targets (same order), for RSS and CPU")
	fs.IntVar(&cfg.Spawn, "spawn", 0, "start a throwaway redis-server and this many replicas instead of --targets")
	fs.StringVar(&cfg.Bin, "bin", "", "papercast binary for spawned replicas (default: this executable)")
	fs.StringVar(&cfg.RedisBin, "redis-bin", "redis-server", "redis-server binary for --spawn")
	fs.StringVar(&cfg.Store, "store", cfg.Store, "store of spawned replicas: redis, or memory (with --spawn 1)")
	var env multiFlag
	fs.Var(&env, "replica-env", "extra KEY=VALUE for spawned replicas (repeatable), e.g. PAPERCAST_WS_SEND_BUFFER=512")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "WebSocket sessions to open")
	fs.IntVar(&cfg.Papers, "papers", cfg.Papers, "papers to spread the sessions over (session j on paper j mod papers)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "edits (upserts, the odd delete) per second per session")
	fs.Float64Var(&cfg.PresenceRate, "presence-rate", cfg.PresenceRate, "presence updates per second per session")
	fs.BoolVar(&cfg.Batch, "batch", cfg.Batch, "sessions ask for ?batch=1 (several events per frame); --batch=false for one per frame")
	fs.DurationVar(&cfg.Idle, "idle", cfg.Idle, "idle time with every session connected before the load (idle RSS)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "load before measuring (not measured)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured window")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "longest wait after the last send for outstanding acks and deliveries")
	fs.IntVar(&cfg.JoinConcurrency, "join-concurrency", cfg.JoinConcurrency, "dials in flight while joining")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of payloads and jitter")
	out := fs.String("out", "", "write the result as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write loadgen's own CPU profile to this file (is the generator the bottleneck?)")
	verbose := fs.Bool("v", false, "log debug details (each failed join)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	if *targets != "" {
		cfg.Targets = splitList(*targets)
	}
	for _, p := range splitList(*pids) {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return fmt.Errorf("--pids: %q is not a pid", p)
		}
		cfg.Pids = append(cfg.Pids, n)
	}
	cfg.ReplicaEnv = env
	if cfg.Spawn > 0 && cfg.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this executable for --bin: %w", err)
		}
		cfg.Bin = exe
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	if *out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
