// Command redismem measures the Redis bytes one paper takes: it starts a
// throwaway redis-server on a free loopback port, fills an open paper
// through the real repository/redis Store (10 notes, then ops on them
// until the history holds 1,000 frames), sums MEMORY USAGE (SAMPLES 0:
// every element counted) over the paper's keys, finalizes it and sums
// again. Presence and per-session order keys are left out: they expire by
// themselves within minutes.
//
//	go run ./scripts/redismem
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/papercast/papercast/domain"
	"github.com/papercast/papercast/protocol"
	"github.com/papercast/papercast/repository/redis"
	"github.com/papercast/papercast/scripts/internal/redisproc"
	"github.com/papercast/papercast/usecase"
)

const (
	notes = 10
	ops   = 1000
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "redismem:", err)
		os.Exit(1)
	}
}

func run() error {
	srv, err := redisproc.Start("redismem", nil)
	if err != nil {
		return err
	}
	defer srv.Stop(false)
	addr, c := srv.Addr, srv.Client
	ctx := context.Background()
	st, err := redis.New(ctx, redis.Options{Addrs: []string{addr}, KeyPrefix: "mem:"}, nil)
	if err != nil {
		return err
	}
	defer st.Close()

	p, err := st.Create(ctx, domain.Paper{ID: usecase.NewPaperID(), Title: "Happy birthday, Ana!", To: "Ana", Status: domain.StatusOpen, CreatedAt: time.Now(), OwnerKeyHash: usecase.HashOwnerKey("k")})
	if err != nil {
		return err
	}
	author := domain.Author{Session: "s1", User: "u-writer-0001", Name: "Writer"}
	ed := usecase.Editor{User: author.User, Name: author.Name, At: time.Now()}
	for i := range ops {
		op := domain.Op{Kind: domain.OpUpsert, ID: fmt.Sprintf("note-%02d", i%notes), Fields: map[string]json.RawMessage{
			"text":  json.RawMessage(strconv.Quote(fmt.Sprintf("Happy birthday! Have a wonderful year. (%d)", i))),
			"x":     json.RawMessage(strconv.Itoa(100 + i%notes*37)),
			"y":     json.RawMessage(strconv.Itoa(80 + i%notes*23)),
			"color": json.RawMessage(`"#ffd966"`),
		}}
		if _, err := st.Apply(ctx, p.ID, op, protocol.OpBody(op, author), usecase.OpOrder{}, ed); err != nil {
			return err
		}
	}
	fmt.Printf("| paper | keys | bytes |\n|---|---|---|\n")
	if err := report(ctx, c, p.ID, fmt.Sprintf("open, %d notes, %d ops of history", notes, ops)); err != nil {
		return err
	}
	if _, err := st.Finalize(ctx, p.ID, time.Now()); err != nil {
		return err
	}
	return report(ctx, c, p.ID, "the same paper once final")
}

// report sums MEMORY USAGE over the paper's data keys.
func report(ctx context.Context, c rueidis.Client, id, what string) error {
	keys, err := c.Do(ctx, c.B().Keys().Pattern("mem:{"+id+"}:*").Build()).AsStrSlice()
	if err != nil {
		return err
	}
	sort.Strings(keys)
	var total int64
	var parts []string
	for _, k := range keys {
		if strings.Contains(k, "}:o:") || strings.HasSuffix(k, ":p") || strings.HasSuffix(k, ":pl") || strings.HasSuffix(k, ":pz") {
			continue
		}
		n, err := c.Do(ctx, c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
		if err != nil {
			return fmt.Errorf("MEMORY USAGE %s: %w", k, err)
		}
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", k[strings.LastIndex(k, ":")+1:], n))
	}
	fmt.Printf("| %s | %s | %d |\n", what, strings.Join(parts, ", "), total)
	return nil
}
