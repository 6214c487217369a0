#!/usr/bin/env bash
# Where the CPU of a POSTed and executed job goes, per thread: robotni serve (the example
# robot's job types, worker processes) takes N `add` jobs from wrk (bench.lua's submit mode);
# the user+system CPU of every thread of serve and of its worker processes is read from
# /proc/PID/task/TID/stat before and after, divided by the jobs, with the context switches per
# job. Not a test: no assertions on time. Needs wrk (scripts/setup.sh --bench).
#
# Env: ROBOTNI (binary, default build/robotni), N=10000 (jobs measured),
#      PREFILL=100 (jobs run first, per wrk thread: a store that holds 100,000 jobs is slower)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3.11
ROBOTNI=${ROBOTNI:-$ROOT/build/robotni}
N=${N:-10000}
PREFILL=${PREFILL:-100}
for tool in wrk "$PY" "$ROBOTNI"; do
  command -v "$tool" >/dev/null || { echo "threads.sh: $tool not found" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/robotni-threads-XXXXXX)
SERVE=
cleanup() {
  if [[ -n $SERVE ]]; then kill "$SERVE" 2>/dev/null || true; wait "$SERVE" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && exec "$ROBOTNI" serve -r "$ROOT/robot.yaml" --listen 127.0.0.1:0 \
   --store "$WORK/wi.db" --no-auth --concurrency 2 --grace 5) 2>"$WORK/log" &
SERVE=$!
for _ in $(seq 300); do grep -q "serving on" "$WORK/log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*serving on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/log")
[[ -n $PORT ]] || { cat "$WORK/log" >&2; exit 1; }
sql() {
  "$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute(sys.argv[2]).fetchone()[0] or 0)' \
    "$WORK/wi.db" "$1"
}
drained() {
  while [[ $(sql "SELECT count(*) FROM items WHERE state IN ('PENDING','RESERVED')") != 0 ]]; do
    sleep 0.1
  done
}
submit() {  # submit PER_THREAD: wrk's two threads each POST that many add jobs
  local want=$(($(sql "SELECT count(*) FROM items") + 2 * $1)) wrk_pid
  wrk -t2 -c64 -d600s -s "$ROOT/bench/http/bench.lua" "http://127.0.0.1:$PORT" -- submit "$1" \
    >/dev/null 2>&1 &
  wrk_pid=$!
  # Each wrk thread stops after its share; wrk itself exits on SIGINT.
  while [[ $(sql "SELECT count(*) FROM items") -lt $want ]]; do sleep 0.05; done
  sleep 0.3
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
}
# Every thread of serve and its workers: "pid/tid ticks switches".
snapshot() {
  local p t
  for p in $SERVE $(pgrep -P "$SERVE"); do
    for t in /proc/"$p"/task/*; do
      echo "$p/${t##*/} $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)" \
        "$(awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}' "$t/status" 2>/dev/null)"
    done
  done | sort
}

submit "$PREFILL"  # warm: the types run once, the workers are up
drained
snapshot >"$WORK/before"
base=$(sql "SELECT max(id) FROM items")
submit $(((N + 1) / 2))
drained
snapshot >"$WORK/after"
jobs=$(sql "SELECT count(*) FROM items WHERE id > $base")
span=$(sql "SELECT max(finished) - min(created) FROM items WHERE id > $base")
echo "robotni: $ROBOTNI ($(cd "$ROOT" && git rev-parse --short HEAD)); $jobs jobs in $span ms;" \
  "store held $base before; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %-10s %12s %14s\n' thread process "us CPU/job" "switches/job"
join "$WORK/before" "$WORK/after" | awk -v n="$jobs" -v serve="$SERVE" '
  { split($1, id, "/"); us = ($4 - $2) * 1e6 / 100 / n; total += us
    if (us >= 0.5) printf "%-14s %-10s %12.1f %14.2f\n", $1, (id[1] == serve ? "serve" : "worker"), us, ($5 - $3) / n }
  END { printf "%-25s %12.1f\n", "total", total }'
