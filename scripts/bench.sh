#!/usr/bin/env bash
# Runs the load scenarios of docs/benchmarks.md with `papercast loadtest
# --spawn` (throwaway Redis + replicas on loopback), prints a Markdown
# table of the runs and draws them as a chart (scripts/benchchart) in
# docs/bench/$SITTING.svg, to commit beside docs/benchmarks.md. JSON results
# go to bin/bench/. Run it on a quiet machine: the generator shares the
# cores with the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/papercast}
OUT=${OUT:-bin/bench}
DUR=${DUR:-20s}
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
SITTING=${SITTING:-sitting-$COMMIT}
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || true

run() { # name, then loadtest flags
	local name=$1; shift
	echo "== $name: $*" >&2
	"$BIN" loadtest --duration "$DUR" --out "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>&1 || {
		echo "run $name failed:" >&2; tail -20 "$OUT/$name.txt" >&2; return 1; }
}

SCENARIOS=${SCENARIOS:-target ramp perpaper replicas steady}
for s in $SCENARIOS; do
	case $s in
	ramp) # deliveries/s ramp at 10 sessions per paper, 1 op/s each
		for n in 1000 2000 3000 4000; do run "ramp-$n" --spawn 2 --sessions $n --papers $((n / 10)) --rate 1; done ;;
	perpaper) # ~20k deliveries/s with 2, 10, 50 and 500 sessions per paper
		run perpaper-2 --spawn 2 --sessions 2000 --papers 1000 --rate 5
		run perpaper-10 --spawn 2 --sessions 2000 --papers 200 --rate 1
		run perpaper-50 --spawn 2 --sessions 2000 --papers 40 --rate 0.2
		run perpaper-500 --spawn 2 --sessions 2000 --papers 4 --rate 0.02 ;;
	replicas) # the same load on 1, 2 and 3 replicas
		for r in 1 2 3; do run "replicas-$r" --spawn $r --sessions 2000 --papers 200 --rate 1; done ;;
	target) # issue 13's sitting: 10,000 sessions over 1,000 papers x 10, 2 replicas;
		# each op reaches 10 sessions, so --rate 0.1 is 10,000 deliveries/s; no
		# presence, as in ../shared/ANCHORS.md, so the rows compare with the anchors
		for r in ${TARGET_RATES:-0.1 0.2 0.3 0.45 0.6}; do
			run "target-$(awk -v r="$r" 'BEGIN{printf "%dk", r*100}')" --spawn 2 --sessions 10000 --papers 1000 --rate "$r" --presence-rate 0 --join-concurrency 128
		done ;;
	steady) # the issue's target: 10,000 sessions, 1,000 papers, 1 op/s each
		run steady-10k --spawn 2 --sessions 10000 --papers 1000 --rate 1 --join-concurrency 128 ;;
	esac
done

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = []
for f in sorted(os.listdir(out)):
    if not f.endswith(".json"):
        continue
    r = json.load(open(os.path.join(out, f)))
    lat = {k: (v or 0) for k, v in (r.get("latency_ms") or {}).items()}
    for k in ("p50", "p99", "p999", "max"):
        lat.setdefault(k, 0)
    r = {k: (0 if v is None else v) for k, v in r.items()}
    errs = ", ".join(f"{k}={v}" for k, v in sorted(r.get("errors", {}).items())) or "none"
    # Redis CPU per applied op (issue 13's target), over the measured window.
    ops = r["ops_acked_per_sec"] * r.get("measured_s", 0)
    redis_op = (r.get("redis") or {}).get("cpu_seconds", 0) * 1e6 / ops if ops else 0
    rows.append("| {} | {} | {:.0f} / {:.0f} | {:.0f} | {:.1f} / {:.1f} / {:.1f} / {:.0f} | {}/{}/{} | {}/{} | {:.1f} | {:.1f} | {:.0f} | {} |".format(
        f[:-5], r["sessions"], r["ops_acked_per_sec"], r.get("ops_offered_per_sec", 0), r["deliveries_per_sec"],
        lat["p50"], lat["p99"], lat["p999"], lat["max"], r["lost"], r["out_of_order"], r["duplicates"],
        r.get("sender_out_of_order", 0), r.get("errored_delivered", 0),
        r["rss_bytes_per_session"] / 1024, r.get("cpu_us_per_delivery", 0), redis_op, errs))
print("| run | sessions | ops acked/s / offered | deliveries/s | latency ms p50 / p99 / p99.9 / max | lost/ooo/dup | sender ooo / refused but stored | idle KiB/session | CPU us/delivery (replicas+Redis) | Redis CPU us/op | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY

# The chart: latency p50/p99 and CPU per delivery against deliveries/s.
go run ./scripts/benchchart -out "docs/bench/$SITTING.svg" \
	-title "papercast $SITTING (commit $COMMIT, $(date -u +%Y-%m-%d)): make bench on $(nproc) cores" "$OUT"/*.json
echo "chart: docs/bench/$SITTING.svg" >&2
