package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/papercast/papercast/loadgen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wellFormed parses the SVG as XML and returns its element names.
func wellFormed(t *testing.T, svg string) map[string]int {
	t.Helper()
	names := map[string]int{}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names[se.Name.Local]++
		}
	}
}

func writeResult(t *testing.T, dir, name string, dps, p50, p99 float64, cpu *float64, spp float64, replicas int) string {
	t.Helper()
	res := loadgen.Result{DeliveriesPerSec: dps, LatencyMS: loadgen.Quantiles{P50: p50, P99: p99}, CPUUsPerDelivery: cpu, Replicas: replicas}
	res.Config.SessionsPerPap = spp
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChartsLoadgenResultsAndCSV(t *testing.T) {
	dir := t.TempDir()
	cpu := 40.5
	inputs := []string{
		writeResult(t, dir, "ramp-2000", 20000, 3, 30, &cpu, 10, 2),
		writeResult(t, dir, "ramp-1000", 10000, 1.5, 8, &cpu, 10, 2),
		writeResult(t, dir, "solo", 5000, 2, 12, nil, 10, 2), // no pids: CPU not measured
	}
	csvPath := filepath.Join(dir, "old.csv")
	if err := os.WriteFile(csvPath, []byte("# transcribed\n"+strings.Join(csvHeader, ",")+"\nperpaper-2,2,2,16005,4227.9,7348.4,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs = append(inputs, csvPath)
	out := filepath.Join(dir, "sub", "chart.svg")
	if err := run(`sitting <3> & "more"`, out, inputs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	names := wellFormed(t, svg)
	for _, want := range []string{
		"sitting &lt;3&gt; &amp; &#34;more&#34;",
		"<title>ramp-1000: 10000 deliveries/s, p50 1.5 ms, p99 8 ms, CPU per delivery 40.5 µs</title>",
		"<title>solo: 5000 deliveries/s, p50 2 ms, p99 12 ms, CPU per delivery not measured</title>",
		"<title>perpaper-2: 16005 deliveries/s, p50 4.2279 s, p99 7.3484 s, CPU per delivery not measured</title>",
		"ramp (2 runs)", "solo (1 run)", "perpaper (1 run)", ">deliveries/s<", ">20k<", "capacity limit",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	// Lines only for the ramp: p50, p99 and CPU.
	if names["polyline"] != 3 {
		t.Errorf("%d polylines, want 3 (the ramp's p50, p99 and CPU)", names["polyline"])
	}
	// Marks: 4 runs x (p50 + p99) + the 2 with CPU, in one <g> per run.
	if names["g"] != 4 {
		t.Errorf("%d runs drawn, want 4", names["g"])
	}
}

func TestMarksSitWhereTheirValuesAre(t *testing.T) {
	runs := []Run{
		{Name: "a-1", SessionsPerPaper: 10, Replicas: 2, DeliveriesPerSec: 10000, P50MS: 1, P99MS: 100, CPUUsPerDelivery: 50},
		{Name: "a-2", SessionsPerPaper: 10, Replicas: 2, DeliveriesPerSec: 20000, P50MS: 10, P99MS: 1000, CPUUsPerDelivery: 100},
	}
	svg := Chart("t", runs)
	// Circles are the first scenario's marks (and the legend's): collect
	// the ones inside the runs' <g> elements.
	var cx, cy []float64
	for _, g := range strings.Split(svg, "<g>")[1:] {
		g, _, _ = strings.Cut(g, "</g>")
		for _, c := range strings.Split(g, "<circle ")[1:] {
			var x, y, r float64
			if _, err := fmt.Sscanf(c, `cx="%g" cy="%g" r="%g"`, &x, &y, &r); err != nil {
				t.Fatalf("circle %q: %v", c, err)
			}
			cx, cy = append(cx, x), append(cy, y)
		}
	}
	if len(cx) != 6 {
		t.Fatalf("%d marks, want 6", len(cx))
	}
	// Per run: p50, p99, CPU. x doubles from run 1 to run 2 (from 0).
	x0 := float64(plotL + pad)
	if math.Abs((cx[3]-x0)-2*(cx[0]-x0)) > 0.2 {
		t.Errorf("x of 20k = %v, of 10k = %v: not proportional", cx[3], cx[0])
	}
	// Log scale: p50 1 -> 10 ms rises as far as p99 100 -> 1000 ms, and
	// p99 sits two decades above p50.
	if d1, d2 := cy[0]-cy[3], cy[1]-cy[4]; math.Abs(d1-d2) > 0.2 || d1 <= 0 {
		t.Errorf("one decade is %v px for p50 and %v px for p99", d1, d2)
	}
	if d := cy[0] - cy[1]; math.Abs(d-2*(cy[0]-cy[3])) > 0.2 {
		t.Errorf("p99 is %v px above p50, want two decades", d)
	}
	// Linear CPU from 0: 100 us is twice as high above the bottom as 50.
	bottom := float64(cpuB - pad)
	if math.Abs((bottom-cy[5])-2*(bottom-cy[2])) > 0.2 {
		t.Errorf("CPU marks at %v and %v: not proportional from 0", cy[2], cy[5])
	}
}

func TestGroupsJoinOnlyRunsThatDifferInLoad(t *testing.T) {
	r := func(name string, spp float64, replicas int, dps float64) Run {
		return Run{Name: name, SessionsPerPaper: spp, Replicas: replicas, DeliveriesPerSec: dps}
	}
	for _, tc := range []struct {
		name string
		runs []Run
		want string
	}{
		{"a ramp, sorted by load", []Run{r("ramp-2", 10, 2, 20), r("ramp-1", 10, 2, 10)}, "ramp joined [ramp-1 ramp-2]"},
		{"sessions per paper vary", []Run{r("perpaper-2", 2, 2, 16), r("perpaper-10", 10, 2, 20)}, "perpaper apart [perpaper-2 perpaper-10]"},
		{"replicas vary", []Run{r("replicas-1", 10, 1, 20), r("replicas-2", 10, 2, 20)}, "replicas apart [replicas-1 replicas-2]"},
		{"one run", []Run{r("steady-10k", 10, 2, 30)}, "steady apart [steady-10k]"},
		{"no dash", []Run{r("solo", 10, 2, 30)}, "solo apart [solo]"},
		{"two scenarios keep their order", []Run{r("b-1", 1, 1, 1), r("a-1", 1, 1, 1), r("b-2", 1, 1, 2)}, "b joined [b-1 b-2]; a apart [a-1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var parts []string
			for _, g := range groups(tc.runs) {
				how := "apart"
				if g.Joined {
					how = "joined"
				}
				var names []string
				for _, r := range g.Runs {
					names = append(names, r.Name)
				}
				parts = append(parts, fmt.Sprintf("%s %s %v", g.Name, how, names))
			}
			if got := strings.Join(parts, "; "); got != tc.want {
				t.Errorf("groups = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAxisScales(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		n    int
		want float64
	}{
		{39418, 8, 5000}, {89.7, 5, 20}, {100, 5, 20}, {7, 5, 2}, {0.3, 3, 0.1}, {0, 5, 1}, {1, 1, 1}, {11, 1, 20},
	} {
		if got := NiceStep(tc.max, tc.n); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("NiceStep(%v, %d) = %v, want %v", tc.max, tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		lo, hi   float64
		from, to int
	}{
		{1.1, 25501, 0, 5}, {0.7, 2550, -1, 4}, {10, 10, 1, 2}, {5, 9, 0, 1}, {0, 10, 0, 1},
	} {
		if from, to := Decades(tc.lo, tc.hi); from != tc.from || to != tc.to {
			t.Errorf("Decades(%v, %v) = %d, %d; want %d, %d", tc.lo, tc.hi, from, to, tc.from, tc.to)
		}
	}
	for v, want := range map[float64]string{40000: "40k", 2500: "2.5k", 0: "0", 80: "80"} {
		if got := FormatCount(v); got != want {
			t.Errorf("FormatCount(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{1: "1 ms", 0.1: "0.1 ms", 1000: "1 s", 25501: "25.501 s"} {
		if got := FormatMS(v); got != want {
			t.Errorf("FormatMS(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestBadInputsAreRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	header := strings.Join(csvHeader, ",") + "\n"
	for name, inputs := range map[string][]string{
		"no inputs":       nil,
		"missing file":    {filepath.Join(dir, "nope.json")},
		"not JSON":        {write("x.json", "ramp,1,2")},
		"wrong header":    {write("h.csv", "run,dps\nramp-1,10\n")},
		"bad number":      {write("n.csv", header+"ramp-1,10,2,lots,1,2,3\n")},
		"missing p99":     {write("p.csv", header+"ramp-1,10,2,100,1,,3\n")},
		"short row":       {write("s.csv", header+"ramp-1,10,2\n")},
		"header, no runs": {write("e.csv", header)},
	} {
		if err := run("t", filepath.Join(dir, "out.svg"), inputs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestCommittedChartsShowTheirData: each docs/bench/<sitting>.csv has its
// chart beside it, drawn from exactly those runs.
func TestCommittedChartsShowTheirData(t *testing.T) {
	csvs, _ := filepath.Glob("../../docs/bench/*.csv")
	if len(csvs) == 0 {
		t.Fatal("no sitting data in docs/bench")
	}
	for _, path := range csvs {
		runs, err := readInput(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(strings.TrimSuffix(path, ".csv") + ".svg")
		if err != nil {
			t.Fatalf("no chart beside %s: %v", path, err)
		}
		svg := string(b)
		wellFormed(t, svg)
		if got := strings.Count(svg, "<g><title>"); got != len(runs) {
			t.Errorf("%s: %d runs drawn, the data has %d", path, got, len(runs))
		}
		want := Chart("", runs)
		_, wantBody, _ := strings.Cut(want, "</text>") // all after the title
		_, gotBody, _ := strings.Cut(svg, "</text>")
		if gotBody != wantBody {
			t.Errorf("%s: the committed chart is not what benchchart draws from its data; rerun it", path)
		}
	}
}
