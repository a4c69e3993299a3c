#!/usr/bin/env bash
# Write syscalls per delivered frame under fan-out: for each binary in BINS
# (default: bin/papercast), starts one replica on the embedded store, runs
# the load generator against it (SESSIONS over SESSIONS/10 papers at RATE
# ops/s each: 10 deliveries per op) with --batch=true and --batch=false, and
# reads the replica's write(2) count from /proc/PID/io (syscw) around the
# run. Prints write syscalls per delivery, p50/p99 and CPU per delivery.
# Compare a build of an older commit: BINS="/tmp/old/papercast bin/papercast".
set -euo pipefail
cd "$(dirname "$0")/.."
BINS=${BINS:-bin/papercast}
SESSIONS=${SESSIONS:-2000}
RATE=${RATE:-1}
DUR=${DUR:-10s}
OUT=${OUT:-bin/writebench}
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || true
OUT=$(cd "$OUT" && pwd)
TOKEN=writebench-$$

replica=
cleanup() { [ -n "$replica" ] && kill "$replica" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
syscw() { awk '$1 == "syscw:" { print $2 }' "/proc/$1/io"; }

printf '| binary | batch | deliveries/s | write(2) per delivery | p50 / p99 ms | CPU us/delivery |\n|---|---|---|---|---|---|\n'
for bin in $BINS; do
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	for batch in true false; do
		p=$(port)
		dir=$(mktemp -d) # no config.yaml: the environment decides
		(cd "$dir" && exec env PAPERCAST_STORE=memory PAPERCAST_LOG_LEVEL=warn PAPERCAST_SERVER_ADDR="127.0.0.1:$p" \
			PAPERCAST_LIMITS_MAX_CONNECTIONS=100000 PAPERCAST_LIMITS_MAX_SESSIONS_PER_PAPER=100000 \
			PAPERCAST_LIMITS_CREATES_PER_MINUTE=1000000 PAPERCAST_LIMITS_CREATES_BURST=100000 \
			PAPERCAST_ADMIN_TOKEN="$TOKEN" "$bin" serve >"$OUT/replica.log" 2>&1) &
		replica=$!
		for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$p/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
		w0=$(syscw "$replica")
		name=$(basename "$(dirname "$bin")")-batch-$batch
		bin/papercast loadtest --targets "http://127.0.0.1:$p" --pids "$replica" --sessions "$SESSIONS" \
			--papers $((SESSIONS / 10)) --rate "$RATE" --presence-rate 0 --idle 0s --warmup 0s --duration "$DUR" \
			--batch="$batch" --out "$OUT/$name.json" >"$OUT/$name.txt" 2>&1
		w1=$(syscw "$replica")
		kill "$replica"; wait "$replica" 2>/dev/null || true; replica=
		rm -rf "$dir"
		python3 - "$OUT/$name.json" "$((w1 - w0))" "$bin" "$batch" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); writes = int(sys.argv[2])
# every write of the run (joins and acks included) against the op frames
# delivered (no warm-up, so the run is the measured window)
delivered = r["received_deliveries"]
lat = r.get("latency_ms") or {}
print("| {} | {} | {:.0f} | {:.3f} | {:.1f} / {:.1f} | {:.1f} |".format(sys.argv[3], sys.argv[4], r["deliveries_per_sec"],
      writes / delivered, lat.get("p50") or 0, lat.get("p99") or 0, r.get("cpu_us_per_delivery") or 0))
PY
	done
done
