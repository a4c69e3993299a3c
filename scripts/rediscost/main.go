// Command rediscost measures what one apply op costs Redis: it starts a
// throwaway redis-server on a free loopback port (optionally under
// valgrind's callgrind), drives ops through the real repository/redis Store
// (so batching, when the store does it, is measured too) and prints, per
// op: the time Redis spent in the apply script (INFO commandstats, EVALSHA
// usec over ops), the server's whole CPU (INFO cpu, networking included)
// and, under -callgrind, the instructions the server executed.
//
// Two scenarios, each on one fresh paper: "serial" (one session, one op at
// a time) and "64 sessions" (64 sessions on one paper, each sending its
// next op when the last one is acknowledged, as Member.Edit does).
//
//	go run ./scripts/rediscost              # commandstats and CPU
//	go run ./scripts/rediscost -callgrind   # plus instructions (slow: fewer ops)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/scripts/internal/redisproc"
	"github.com/papercast/papercast/usecase"
)

func main() {
	callgrind := flag.Bool("callgrind", false, "run redis-server under valgrind --tool=callgrind and report instructions per op")
	serialOps := flag.Int("serial", 0, "ops in the serial run (default 20000, 2000 under -callgrind)")
	keep := flag.Bool("keep", false, "keep the callgrind dumps (their directory is printed) for callgrind_annotate")
	perSession := flag.Int("per-session", 0, "ops per session in the 64-session run (default 500, 40 under -callgrind)")
	flag.BoolVar(&resize, "resize", false, "change the text's length from one op of a note to the next, so every op rewrites the element record (by default an op rewrites a note with values of the same lengths)")
	flag.Parse()
	if *serialOps == 0 {
		*serialOps = map[bool]int{false: 20000, true: 2000}[*callgrind]
	}
	if *perSession == 0 {
		*perSession = map[bool]int{false: 500, true: 40}[*callgrind]
	}
	keepDumps = *keep
	if err := run(*callgrind, *serialOps, *perSession); err != nil {
		fmt.Fprintln(os.Stderr, "rediscost:", err)
		os.Exit(1)
	}
}

// server is the throwaway Redis the ops run on.
type server struct {
	*redisproc.Server
	cg bool
}

func startServer(callgrind bool) (*server, error) {
	var wrap func(string) []string
	if callgrind {
		wrap = func(dir string) []string {
			return []string{"valgrind", "--tool=callgrind", "--callgrind-out-file=" + filepath.Join(dir, "cg.out")}
		}
	}
	s, err := redisproc.Start("rediscost", wrap)
	if err != nil {
		return nil, err
	}
	return &server{Server: s, cg: callgrind}, nil
}

var keepDumps, resize bool

func (s *server) stop() {
	keep := keepDumps && s.cg
	s.Stop(keep)
	if keep {
		fmt.Fprintln(os.Stderr, "callgrind dumps kept in", s.Dir)
	}
}

// info returns the text of INFO section.
func (s *server) info(section string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Client.Do(ctx, s.Client.B().Info().Section(section).Build()).ToString()
}

type sample struct {
	calls, usec int64   // EVALSHA + EVAL
	cpu         float64 // used_cpu_user + used_cpu_sys, seconds
}

var statRe = regexp.MustCompile(`cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)`)

func (s *server) sample() (sample, error) {
	var sm sample
	info, err := s.info("commandstats")
	if err != nil {
		return sm, err
	}
	for _, m := range statRe.FindAllStringSubmatch(info, -1) {
		c, _ := strconv.ParseInt(m[2], 10, 64)
		u, _ := strconv.ParseInt(m[3], 10, 64)
		sm.calls += c
		sm.usec += u
	}
	cpu, err := s.info("cpu")
	if err != nil {
		return sm, err
	}
	for _, line := range strings.Split(cpu, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			sm.cpu += f
		}
	}
	return sm, nil
}

// callgrind zeroes (before) or dumps (after) the server's counters; after
// returns the instructions since the zeroing.
func (s *server) callgrind(zero bool) (int64, error) {
	pid := strconv.Itoa(s.Cmd.Process.Pid)
	if zero {
		return 0, exec.Command("callgrind_control", "-z", pid).Run()
	}
	before, _ := filepath.Glob(filepath.Join(s.Dir, "cg.out*"))
	if out, err := exec.Command("callgrind_control", "-d", pid).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("callgrind_control -d: %v: %s", err, out)
	}
	var dump string
	for i := 0; i < 100 && dump == ""; i++ {
		after, _ := filepath.Glob(filepath.Join(s.Dir, "cg.out*"))
		sort.Strings(after)
		for _, f := range after {
			if !slices.Contains(before, f) {
				dump = f
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if dump == "" {
		return 0, errors.New("no callgrind dump appeared")
	}
	time.Sleep(200 * time.Millisecond) // let the dump finish writing
	b, err := os.ReadFile(dump)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "summary:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "totals:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, errors.New("no totals in the callgrind dump")
}

func run(callgrind bool, serialOps, perSession int) error {
	srv, err := startServer(callgrind)
	if err != nil {
		return err
	}
	defer srv.stop()
	ctx := context.Background()
	timeout := 5 * time.Second
	if callgrind {
		timeout = 60 * time.Second
	}
	st, err := redis.New(ctx, redis.Options{Addrs: []string{srv.Addr}, CommandTimeout: timeout, KeyPrefix: "cost:"}, nil)
	if err != nil {
		return err
	}
	defer st.Close()

	ops := make([]domain.Op, 200) // with -resize, note i%100 alternates between ops i and i+100
	bodies := make([][]byte, len(ops))
	author := domain.Author{User: "u-cost", Name: "Cost"}
	for i := range ops {
		text := `"Happy birthday! Have a wonderful year."`
		if i >= 100 {
			text = `"Happy birthday! Have a wonderful year!!"`
		}
		ops[i] = domain.Op{Kind: domain.OpUpsert, ID: fmt.Sprintf("n%d", i%100), Fields: map[string]json.RawMessage{
			"text": json.RawMessage(text),
			"x":    json.RawMessage(`120.5`),
			"y":    json.RawMessage(`88`),
		}}
		bodies[i] = protocol.OpBody(ops[i], author)
	}
	session := func(paperID string, n int) error {
		order := usecase.OpOrder{Session: usecase.NewSessionID()}
		for k := 0; k < n; k++ {
			i := int(order.N) % 100
			if resize && int(order.N)%200 >= 100 {
				i += 100
			}
			order.N++
			if _, err := st.Apply(ctx, paperID, ops[i], bodies[i], order, usecase.Editor{User: author.User, Name: author.Name, At: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Printf("| run | ops | script calls | EVALSHA usec/op | Redis CPU us/op |%s\n", map[bool]string{true: " instructions/op |", false: ""}[callgrind])
	fmt.Printf("|---|---|---|---|---|%s\n", map[bool]string{true: "---|", false: ""}[callgrind])
	for _, sc := range []struct {
		name     string
		sessions int
		each     int
	}{{"serial", 1, serialOps}, {"64 sessions, one paper", 64, perSession}} {
		p, err := st.Create(ctx, domain.Paper{ID: usecase.NewPaperID(), Title: "cost", Status: domain.StatusOpen, CreatedAt: time.Now(), OwnerKeyHash: usecase.HashOwnerKey("k")})
		if err != nil {
			return err
		}
		if err := session(p.ID, 200); err != nil { // warm up: script loaded, elements exist
			return err
		}
		if callgrind {
			if _, err := srv.callgrind(true); err != nil {
				return err
			}
		}
		s0, err := srv.sample()
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, sc.sessions)
		for range sc.sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- session(p.ID, sc.each)
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			if e != nil {
				return e
			}
		}
		s1, err := srv.sample()
		if err != nil {
			return err
		}
		n := float64(sc.sessions * sc.each)
		line := fmt.Sprintf("| %s | %d | %d | %.2f | %.2f |", sc.name, int(n), s1.calls-s0.calls, float64(s1.usec-s0.usec)/n, (s1.cpu-s0.cpu)*1e6/n)
		if callgrind {
			ir, err := srv.callgrind(false)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %.0f |", float64(ir)/n)
		}
		fmt.Println(line)
	}
	return nil
}
