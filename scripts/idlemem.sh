#!/usr/bin/env bash
# Memory of idle WebSocket sessions: starts papercast (STORES="memory redis":
# one replica on the embedded store, and 2 replicas on a throwaway Redis),
# opens N idle sessions over N/10 papers with the load generator (no ops, no
# presence), and once they have all joined reads each replica's RSS and a
# heap profile (after a GC). Prints KiB per session of RSS, Go heap in use
# and goroutine stacks, against the same figures before the sessions joined,
# and the goroutines per session; the heap profiles land in bin/idlemem/,
# with goroutine profiles grouped by stack (*.goroutine.txt) and the
# runtime's MemStats (*.memstats.txt) beside them (`go tool pprof -top -sample_index=inuse_space
# -diff_base bin/idlemem/memory-before.pb.gz bin/idlemem/memory-idle.pb.gz`).
# Run it on a quiet machine; it takes about a minute per store.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/papercast}
N=${N:-10000}
STORES=${STORES:-memory redis}
OUT=${OUT:-bin/idlemem}
TOKEN=idlemem-$$
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || true
[ -x "$BIN" ] && [ -x bin/papercast ] || { echo "build first: make build" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
OUT=$(cd "$OUT" && pwd)
RUN=$(mktemp -d) # replicas run here: no config.yaml, the environment decides

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# memstat FILE FIELD: a runtime.MemStats field from the heap profile's text form.
memstat() { awk -v f="# $2 =" 'index($0, f) == 1 { print $4 }' "$1"; }
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }
sessions() { curl -fsS "$1/metrics" -H "Authorization: Bearer $TOKEN" | awk '$1 == "papercast_sessions" { print int($2) }'; }

snapshot() { # name url pid: prints "rss heap stack" in bytes and saves the heap and goroutine profiles
	curl -fsS -H "Authorization: Bearer $TOKEN" "$2/debug/pprof/heap?gc=1" -o "$OUT/$1.pb.gz"
	curl -fsS -H "Authorization: Bearer $TOKEN" "$2/debug/pprof/goroutine?debug=1" -o "$OUT/$1.goroutine.txt"
	curl -fsS -H "Authorization: Bearer $TOKEN" "$2/debug/pprof/heap?debug=1&gc=1" -o "$OUT/$1.memstats.txt" # MemStats at its end
	echo "$(rss "$3") $(memstat "$OUT/$1.memstats.txt" HeapInuse) $(memstat "$OUT/$1.memstats.txt" Stack) $(awk 'NR == 1 { print $NF; exit }' "$OUT/$1.goroutine.txt")"
}

for store in $STORES; do
	urls=() rpids=()
	replicas=1
	env=(PAPERCAST_STORE="$store" PAPERCAST_LOG_LEVEL=warn PAPERCAST_ADMIN_TOKEN="$TOKEN" PAPERCAST_ADMIN_PPROF=true
		PAPERCAST_LIMITS_MAX_CONNECTIONS=100000 PAPERCAST_LIMITS_MAX_SESSIONS_PER_PAPER=100000
		PAPERCAST_LIMITS_CREATES_PER_MINUTE=1000000 PAPERCAST_LIMITS_CREATES_BURST=100000)
	if [ "$store" = redis ]; then
		replicas=2
		rp=$(port)
		redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
		redis=$!
		pids+=($redis)
		env+=(PAPERCAST_REDIS_ADDRS="127.0.0.1:$rp")
		sleep 0.5
	fi
	for i in $(seq 1 $replicas); do
		p=$(port)
		(cd "$RUN" && exec env "${env[@]}" PAPERCAST_SERVER_ADDR="127.0.0.1:$p" "$BIN" serve >"$OUT/$store-$i.log" 2>&1) &
		pids+=($!) rpids+=($!) urls+=("http://127.0.0.1:$p")
	done
	for u in "${urls[@]}"; do
		for _ in $(seq 100); do curl -fsS "$u/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
	done
	before=()
	for i in "${!urls[@]}"; do before+=("$(snapshot "$store-$i-before" "${urls[$i]}" "${rpids[$i]}")"); done

	targets=$(IFS=,; echo "${urls[*]}") pidlist=$(IFS=,; echo "${rpids[*]}")
	bin/papercast loadtest --targets "$targets" --pids "$pidlist" --sessions "$N" --papers $((N / 10)) \
		--rate 0 --presence-rate 0 --idle 25s --warmup 0s --duration 1s --drain 1s \
		--join-concurrency 128 --out "$OUT/$store-loadgen.json" >"$OUT/$store-loadgen.txt" 2>&1 &
	lg=$!
	pids+=($lg)
	for _ in $(seq 600); do
		total=0
		for u in "${urls[@]}"; do total=$((total + $(sessions "$u"))); done
		[ "$total" -ge "$N" ] && break
		sleep 0.5
	done
	[ "$total" -ge "$N" ] || { echo "$store: only $total of $N sessions joined" >&2; exit 1; }
	sleep 5 # the joins' garbage collected, buffers settled
	per=$(for i in "${!urls[@]}"; do
		read -r r0 h0 s0 g0 <<<"${before[$i]}"
		read -r r1 h1 s1 g1 <<<"$(snapshot "$store-$i-idle" "${urls[$i]}" "${rpids[$i]}")"
		echo "$((r1 - r0)) $((h1 - h0)) $((s1 - s0)) $((g1 - g0))"
	done | awk -v n="$N" '{ r += $1; h += $2; s += $3; g += $4 } END { printf "%.1f %.1f %.1f %.2f", r / n / 1024, h / n / 1024, s / n / 1024, g / n }')
	read -r kr kh ks kg <<<"$per"
	printf '%s, %d replica(s), %d idle sessions: RSS %s KiB/session (heap %s, stacks %s), %s goroutines/session\n' "$store" "$replicas" "$N" "$kr" "$kh" "$ks" "$kg"
	wait "$lg" || { echo "loadgen failed:" >&2; tail -5 "$OUT/$store-loadgen.txt" >&2; }
	for p in "${rpids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ "$store" = redis ] && kill "$redis" 2>/dev/null || true
	wait 2>/dev/null || true
	pids=()
done
