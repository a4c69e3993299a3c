package docs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/papercast/papercast/metrics"
)

// dashboardQuery is one PromQL expression of the dashboard and where it is.
type dashboardQuery struct {
	where, expr string
}

// dashboardQueries lists every query of a Grafana dashboard: panel targets
// (rows' nested panels included) and template variables.
func dashboardQueries(t *testing.T, raw []byte) []dashboardQuery {
	t.Helper()
	var dash struct {
		Panels     []grafanaPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var out []dashboardQuery
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out = append(out, dashboardQuery{fmt.Sprintf("panel %q target %s", p.Title, tg.RefID), tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			_ = json.Unmarshal(v.Query, &q.Query) // the older form: a plain string
		}
		out = append(out, dashboardQuery{fmt.Sprintf("variable %q", v.Name), q.Query})
	}
	return out
}

type grafanaPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

// grafanaDurations are the interval variables Grafana fills in before a
// query reaches Prometheus.
var grafanaDurations = strings.NewReplacer("$__rate_interval", "1m", "${__rate_interval}", "1m",
	"$__interval", "1m", "${__interval}", "1m", "$__range", "1h", "${__range}", "1h")

// labelValues is Grafana's variable query label_values(selector, label).
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// metricNames parses one dashboard query as PromQL and returns the metric
// names its selectors name.
func metricNames(expr string) ([]string, error) {
	if m := labelValues.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	e, err := parser.ParseExpr(grafanaDurations.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	var missing error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == "__name__" && m.Type.String() == "=" {
				name = m.Value
			}
		}
		if name == "" {
			missing = fmt.Errorf("selector %s names no metric", vs)
		}
		names = append(names, name)
		return nil
	})
	return names, missing
}

// exported is what a registry exports, by family name.
type exported map[string]dto.MetricType

// exists reports whether name is a series papercast exports: a family
// itself, or a histogram's _bucket/_sum/_count or a summary's _sum/_count.
func (ex exported) exists(name string) bool {
	if typ, ok := ex[name]; ok {
		// A classic histogram or summary is only its suffixed series.
		return typ != dto.MetricType_HISTOGRAM && typ != dto.MetricType_SUMMARY
	}
	for suffix, types := range map[string][]dto.MetricType{
		"_bucket": {dto.MetricType_HISTOGRAM},
		"_sum":    {dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY},
		"_count":  {dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY},
	} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if typ, ok := ex[base]; ok && slices.Contains(types, typ) {
				return true
			}
		}
	}
	return false
}

// papercastExports gathers what metrics.New() exports, after touching the
// vectors whose children appear on first use.
func papercastExports(t *testing.T) exported {
	t.Helper()
	m := metrics.New()
	m.ObserveRedis("apply", time.Millisecond, errors.New("touch the error counter too"))
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	ex := exported{}
	for _, f := range fams {
		ex[f.GetName()] = f.GetType()
	}
	return ex
}

// checkQueries reports every query that does not parse or names a metric
// papercast does not export.
func checkQueries(ex exported, queries []dashboardQuery) []string {
	var problems []string
	for _, q := range queries {
		names, err := metricNames(q.expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %q: %v", q.where, q.expr, err))
			continue
		}
		if len(names) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %q queries no metric", q.where, q.expr))
		}
		for _, n := range names {
			if !ex.exists(n) {
				problems = append(problems, fmt.Sprintf("%s queries %s, which papercast does not export", q.where, n))
			}
		}
	}
	return problems
}

// TestGrafanaDashboardQueriesOnlyExportedMetrics: every query of
// docs/grafana/papercast.json is valid PromQL and every metric it names
// is in the registry metrics.New() builds, so a renamed or removed metric
// cannot leave a panel silently empty.
func TestGrafanaDashboardQueriesOnlyExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("grafana/papercast.json")
	if err != nil {
		t.Fatal(err)
	}
	queries := dashboardQueries(t, raw)
	if len(queries) < 20 {
		t.Fatalf("found %d queries in the dashboard; the walk is missing panels", len(queries))
	}
	ex := papercastExports(t)
	for _, p := range checkQueries(ex, queries) {
		t.Error(p)
	}
	// The dashboard covers what the issue asks of it.
	all := string(raw)
	for _, name := range []string{
		"papercast_sessions", "papercast_active_papers", "papercast_ops_total", "papercast_deliveries_total",
		"papercast_fanout_duration_seconds_bucket", "papercast_redis_command_duration_seconds_bucket",
		"papercast_redis_command_errors_total", "papercast_pubsub_resubscribes_total", "papercast_resyncs_total",
		"papercast_send_buffer_overflows_total", "papercast_slow_consumer_closes_total",
		"papercast_join_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes",
		"papercast_archive_backlog", "papercast_archived_total", "papercast_archive_failures_total",
	} {
		if !strings.Contains(all, name+"{") {
			t.Errorf("the dashboard has no panel querying %s", name)
		}
	}
}

// TestDashboardCheckCatchesUnknownMetrics: the check itself fails on a query
// naming a metric that does not exist, a suffix its type does not have, or
// a query that is not PromQL.
func TestDashboardCheckCatchesUnknownMetrics(t *testing.T) {
	ex := papercastExports(t)
	for _, tc := range []struct {
		expr string
		ok   bool
	}{
		{`papercast_sessions`, true},
		{`sum(rate(papercast_deliveries_total{instance=~"$instance"}[$__rate_interval]))`, true},
		{`histogram_quantile(0.99, sum by (le) (rate(papercast_fanout_duration_seconds_bucket[5m])))`, true},
		{`rate(papercast_join_duration_seconds_sum[5m]) / rate(papercast_join_duration_seconds_count[5m])`, true},
		{`rate(go_gc_duration_seconds_count[1m])`, true},         // a summary's count
		{`{__name__="papercast_resyncs_total"}`, true},           // the name as a matcher
		{`label_values(papercast_sessions, instance)`, true},     // a variable query
		{`rate(papercast_nope_total[5m])`, false},                // no such metric
		{`papercast_sessions + papercast_sesions`, false},        // a typo beside a real one
		{`papercast_sessions_bucket`, false},                     // a gauge has no buckets
		{`go_gc_duration_seconds_bucket`, false},                 // a summary has no buckets
		{`papercast_deliveries_total_count`, false},              // a counter has no count
		{`papercast_fanout_duration_seconds`, false},             // a histogram's bare name is no series
		{`sum(rate(papercast_ops_total[5m])`, false},             // not PromQL
		{`label_values(papercast_nope, instance)`, false},        // a variable naming a missing metric
		{`{instance="a"}`, false},                                // no metric at all
		{`rate(papercast_deliveries_total[$__nonsense])`, false}, // an unknown Grafana variable
	} {
		problems := checkQueries(ex, []dashboardQuery{{"test", tc.expr}})
		if ok := len(problems) == 0; ok != tc.ok {
			t.Errorf("%s: passed %v, want %v (%v)", tc.expr, ok, tc.ok, problems)
		}
	}
}
