// Command benchchart draws one benchmark sitting as an SVG chart: latency
// p50 and p99 (log scale) and CPU per delivery against deliveries/s, one
// mark per run. scripts/bench.sh runs it after its table; docs/bench holds
// the charts docs/benchmarks.md shows.
//
//	go run ./scripts/benchchart -title "sitting 3" -out docs/bench/sitting-3.svg bin/bench/*.json
//
// Inputs are loadgen results (`papercast loadtest --out`, the run named
// after the file) or CSV files with the header
// run,sessions_per_paper,replicas,deliveries_per_sec,p50_ms,p99_ms,cpu_us_per_delivery
// ('#' lines are comments; an empty CPU cell means not measured), for
// sittings whose JSON is gone and whose figures survive only in the doc.
// The SVG is written by hand: axes, ticks, series and a legend need no
// plotting library.
package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/papercast/papercast/loadgen"
)

func main() {
	title := flag.String("title", "papercast benchmark sitting", "chart title")
	out := flag.String("out", "", "SVG file to write (default: standard output)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: benchchart [-title T] [-out FILE.svg] RESULT.json|RUNS.csv...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*title, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

func run(title, out string, inputs []string) error {
	if len(inputs) == 0 {
		return errors.New("no input files")
	}
	var runs []Run
	for _, in := range inputs {
		rs, err := readInput(in)
		if err != nil {
			return err
		}
		runs = append(runs, rs...)
	}
	if len(runs) == 0 {
		return errors.New("no runs in the inputs")
	}
	svg := Chart(title, runs)
	if out == "" {
		_, err := io.WriteString(os.Stdout, svg)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	if err := os.WriteFile(out, []byte(svg), 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return nil
}

// Run is one load run as the chart needs it.
type Run struct {
	Name             string
	SessionsPerPaper float64
	Replicas         int
	DeliveriesPerSec float64
	P50MS, P99MS     float64
	// CPUUsPerDelivery is replicas plus Redis; NaN when not measured.
	CPUUsPerDelivery float64
}

func readInput(path string) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".csv") {
		runs, err := readCSV(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return runs, nil
	}
	var res loadgen.Result
	if err := json.NewDecoder(f).Decode(&res); err != nil {
		return nil, fmt.Errorf("%s: not a loadgen result: %w", path, err)
	}
	r := Run{
		Name:             strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)),
		SessionsPerPaper: res.Config.SessionsPerPap,
		Replicas:         res.Replicas,
		DeliveriesPerSec: res.DeliveriesPerSec,
		P50MS:            res.LatencyMS.P50,
		P99MS:            res.LatencyMS.P99,
		CPUUsPerDelivery: math.NaN(),
	}
	if res.CPUUsPerDelivery != nil {
		r.CPUUsPerDelivery = *res.CPUUsPerDelivery
	}
	return []Run{r}, nil
}

var csvHeader = []string{"run", "sessions_per_paper", "replicas", "deliveries_per_sec", "p50_ms", "p99_ms", "cpu_us_per_delivery"}

func readCSV(r io.Reader) ([]Run, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = len(csvHeader)
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || !slices.Equal(rows[0], csvHeader) {
		return nil, fmt.Errorf("want the header %s", strings.Join(csvHeader, ","))
	}
	var runs []Run
	for i, row := range rows[1:] {
		nums := make([]float64, len(row)-1)
		for j, cell := range row[1:] {
			if cell == "" && csvHeader[j+1] == "cpu_us_per_delivery" {
				nums[j] = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d, %s: %w", i+2, csvHeader[j+1], err)
			}
			nums[j] = v
		}
		runs = append(runs, Run{
			Name: row[0], SessionsPerPaper: nums[0], Replicas: int(nums[1]),
			DeliveriesPerSec: nums[2], P50MS: nums[3], P99MS: nums[4], CPUUsPerDelivery: nums[5],
		})
	}
	return runs, nil
}

// Group is the scenario a run belongs to: its name without the last
// "-part" (ramp-1000 and ramp-2000 are both "ramp").
func Group(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		return name[:i]
	}
	return name
}

// groups orders the runs by scenario (first seen first) and, inside one,
// by deliveries/s. A scenario's runs are Joined when they differ only in
// load (same sessions per paper and replicas): a line between them reads
// as "what more load does"; between other runs it would mean nothing.
type group struct {
	Name   string
	Runs   []Run
	Joined bool
}

func groups(runs []Run) []group {
	var out []group
	index := map[string]int{}
	for _, r := range runs {
		g := Group(r.Name)
		i, ok := index[g]
		if !ok {
			i = len(out)
			index[g] = i
			out = append(out, group{Name: g})
		}
		out[i].Runs = append(out[i].Runs, r)
	}
	for i := range out {
		rs := out[i].Runs
		slices.SortStableFunc(rs, func(a, b Run) int { return cmpFloat(a.DeliveriesPerSec, b.DeliveriesPerSec) })
		out[i].Joined = len(rs) > 1
		for _, r := range rs[1:] {
			if r.SessionsPerPaper != rs[0].SessionsPerPaper || r.Replicas != rs[0].Replicas {
				out[i].Joined = false
			}
		}
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// NiceStep is a 1, 2 or 5 times a power of ten step that cuts 0..max into
// at most about n intervals.
func NiceStep(max float64, n int) float64 {
	if max <= 0 || n <= 0 {
		return 1
	}
	raw := max / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// Decades is the log axis range: the powers of ten just below lo and just
// above hi (at least one decade apart).
func Decades(lo, hi float64) (from, to int) {
	if lo <= 0 || hi <= 0 || math.IsNaN(lo) || math.IsNaN(hi) {
		return 0, 1
	}
	from, to = int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	if to <= from {
		to = from + 1
	}
	return from, to
}

// FormatCount writes 40000 as "40k" and 2500 as "2.5k".
func FormatCount(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// FormatMS writes a latency: "1 ms", "100 ms", "1 s", "10 s", "0.1 ms".
func FormatMS(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}
