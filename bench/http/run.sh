#!/usr/bin/env bash
# HTTP benchmarks: robotni serve against the FastAPI + uvicorn reference
# (bench/http/reference_app.py), both started here and measured in the same run with wrk
# on 127.0.0.1:
#   get-miss  GET /api/worker/jobs/{id}                      -> 200 with the job
#   get-hit   GET /api/worker/jobs/{id} + If-None-Match     -> 304
#   get-cold  GET /api/worker/jobs/{id} of every job the post row made, in turn (more than
#             robotni keeps rendered: each read goes to the store), after the post row
#   post      POST /api/worker/jobs {"type":"add",...}       -> 202 (jobs run meanwhile)
#   e2e       submit N add jobs, wait until all are done: jobs/s from the store's own
#             timestamps (first created -> last finished)
# A third implementation, floor (bench/http/floor_server.c, compiled here with cc -O2), answers
# every request with a canned response and does no work: its requests/s is what ANY server
# reaches on this machine under the same wrk load, so floor/reference is the largest ratio
# over the reference this machine can show. It is measured on the get-miss, get-hit and post
# rows (no e2e: it runs no jobs) and printed in a second table.
# Prints requests/s, p99 latency and robotni/reference per row. Not a test: no assertions on
# time. Needs wrk, python3-fastapi, python3-uvicorn (scripts/setup.sh --bench) and a
# Release robotni (cmake --preset bench && cmake --build build-bench --target robotni -j2).
#
# Env: ROBOTNI (binary, default build-bench/robotni), THREADS=2 CONNS=64 DURATION=10s
#      N=20000 (e2e jobs) CONCURRENCY=2 (robotni --concurrency = reference worker processes)
#      ONLY="get-miss get-hit post e2e"  IMPLS="robotni reference floor"
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/http"
PY=/usr/bin/python3.11
ROBOTNI=${ROBOTNI:-$ROOT/build-bench/robotni}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10s}
N=${N:-20000}
CONCURRENCY=${CONCURRENCY:-2}
ONLY=${ONLY:-get-miss get-hit post get-cold e2e}
IMPLS=${IMPLS:-robotni reference floor}

for tool in wrk curl "$PY" "$ROBOTNI"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 2; }
done
if [[ " $IMPLS " == *" floor "* ]] && ! command -v cc >/dev/null; then
  echo "run.sh: cc not found, leaving out floor" >&2
  IMPLS=${IMPLS//floor/}
fi
"$PY" -c 'import fastapi, uvicorn' 2>/dev/null ||
  { echo "run.sh: python3-fastapi / python3-uvicorn missing (scripts/setup.sh --bench)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/robotni-http-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

declare -A PORT DB SPID
# cpu_ticks IMPL: user+system CPU (1/100 s) of the server process and its children (the
# reference's worker processes). A figure that the machine's other load does not inflate.
cpu_ticks() {
  local t=0 p
  for p in ${SPID[$1]} $(pgrep -P "${SPID[$1]}" || true); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
start_robotni() {
  mkdir -p "$WORK/robotni"
  DB[robotni]="$WORK/robotni/wi.db"
  (cd "$ROOT" && exec "$ROBOTNI" serve -r "$ROOT/robot.yaml" --jobs workers/jobs/jobs.py \
     --listen 127.0.0.1:0 --store "${DB[robotni]}" --no-auth --concurrency "$CONCURRENCY" \
     --grace 5) 2>"$WORK/robotni/log" &
  PIDS+=($!)
  SPID[robotni]=$!
  for _ in $(seq 300); do
    grep -q "serving on" "$WORK/robotni/log" && break
    sleep 0.1
  done
  PORT[robotni]=$(sed -n 's/.*serving on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/robotni/log")
  [[ -n "${PORT[robotni]}" ]] || { cat "$WORK/robotni/log" >&2; exit 1; }
}
# wait_healthy IMPL: until its /healthz answers (30 s), else print its log and stop.
wait_healthy() {
  for _ in $(seq 300); do
    curl -sf "127.0.0.1:${PORT[$1]}/healthz" >/dev/null && return
    sleep 0.1
  done
  cat "$WORK/$1/log" >&2
  exit 1
}
start_reference() {
  mkdir -p "$WORK/reference"
  DB[reference]="$WORK/reference/ref.db"
  PORT[reference]=$(free_port)
  "$PY" "$HERE/reference_app.py" --db "${DB[reference]}" --port "${PORT[reference]}" \
    --workers "$CONCURRENCY" 2>"$WORK/reference/log" &
  PIDS+=($!)
  SPID[reference]=$!
  wait_healthy reference
}
start_floor() {
  mkdir -p "$WORK/floor"
  cc -O2 -o "$WORK/floor/floor_server" "$HERE/floor_server.c"
  PORT[floor]=$(free_port)
  "$WORK/floor/floor_server" "${PORT[floor]}" 2>"$WORK/floor/log" &
  PIDS+=($!)
  SPID[floor]=$!
  wait_healthy floor
}

# sql IMPL QUERY: one value from the implementation's SQLite store.
sql() {
  "$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute(sys.argv[2]).fetchone()[0] or 0)' \
    "${DB[$1]}" "$2"
}
# wait_drained IMPL: until no add job is PENDING or RESERVED.
wait_drained() {
  for _ in $(seq 6000); do
    [[ $(sql "$1" "SELECT count(*) FROM items WHERE queue='add' AND state IN ('PENDING','RESERVED')") == 0 ]] && return
    sleep 0.1
  done
  echo "run.sh: $1 did not drain its queue" >&2
}

# wrk_run IMPL ARGS...: runs wrk with bench.lua, echoes the RESULT line.
wrk_run() {
  local impl=$1 duration=$2
  shift 2
  wrk -t"$THREADS" -c"$CONNS" -d"$duration" --latency -s "$HERE/bench.lua" \
    "http://127.0.0.1:${PORT[$impl]}" -- "$@" >"$WORK/wrk.out" 2>&1
  grep '^RESULT' "$WORK/wrk.out" || { cat "$WORK/wrk.out" >&2; echo "RESULT rps=0 p99_us=0"; }
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }

declare -A RPS P99 NOTE CPU
measure() {  # measure ROW IMPL ARGS...
  local row=$1 impl=$2
  shift 2
  local r t0
  t0=$(cpu_ticks "$impl")
  r=$(wrk_run "$impl" "$DURATION" "$@")
  CPU[$row,$impl]=$(awk "BEGIN{print ($(cpu_ticks "$impl") - $t0) * 10000 / $(field requests "$r")}")
  RPS[$row,$impl]=$(field rps "$r")
  P99[$row,$impl]=$(field p99_us "$r")
  local bad=$(($(field status_errors "$r") + $(field connect_errors "$r") + $(field read_errors "$r") + $(field timeouts "$r")))
  NOTE[$row,$impl]=$([[ $bad -gt 0 ]] && echo "($bad errors)" || true)
  printf '  %-9s %-9s %10.0f req/s  p99 %7.2f ms  %6.1f us CPU/req %s\n' "$row" "$impl" \
    "${RPS[$row,$impl]}" "$(awk "BEGIN{print ${P99[$row,$impl]}/1000}")" "${CPU[$row,$impl]}" \
    "${NOTE[$row,$impl]}" >&2
}

e2e() {  # e2e IMPL: N add jobs through POST, then until all are done
  local impl=$1 base t0
  base=$(sql "$impl" "SELECT max(id) FROM items")
  t0=$(cpu_ticks "$impl")
  wrk -t"$THREADS" -c"$CONNS" -d600s -s "$HERE/bench.lua" "http://127.0.0.1:${PORT[$impl]}" \
    -- submit $(((N + THREADS - 1) / THREADS)) >"$WORK/wrk.out" 2>&1 &
  local wrk_pid=$!
  # Each wrk thread stops after its share; wrk itself exits on SIGINT.
  for _ in $(seq 60000); do
    [[ $(sql "$impl" "SELECT count(*) FROM items WHERE id > $base") -ge $N ]] && break
    sleep 0.05
  done
  sleep 0.5
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  wait_drained "$impl"
  local q="FROM items WHERE id > $base AND queue = 'add'"
  local jobs done span
  jobs=$(sql "$impl" "SELECT count(*) $q")
  done=$(sql "$impl" "SELECT count(*) $q AND state = 'DONE'")
  span=$(sql "$impl" "SELECT max(finished) - min(created) $q")
  RPS[e2e,$impl]=$(awk "BEGIN{print $done / ($span / 1000)}")
  CPU[e2e,$impl]=$(awk "BEGIN{print ($(cpu_ticks "$impl") - $t0) * 10000 / $jobs}")
  P99[e2e,$impl]=0
  NOTE[e2e,$impl]="($done of $jobs done in $span ms)"
  printf '  %-9s %-9s %10.0f jobs/s %29.1f us CPU/job %s\n' e2e "$impl" "${RPS[e2e,$impl]}" \
    "${CPU[e2e,$impl]}" "${NOTE[e2e,$impl]}" >&2
}

echo "robotni: $ROBOTNI ($(cd "$ROOT" && git rev-parse --short HEAD))" >&2
echo "wrk -t$THREADS -c$CONNS -d$DURATION; concurrency $CONCURRENCY; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$PY" -c 'import fastapi, uvicorn, importlib.util as u
print("reference: fastapi", fastapi.__version__, "uvicorn", uvicorn.__version__,
      "uvloop" if u.find_spec("uvloop") else "asyncio", "httptools" if u.find_spec("httptools") else "h11")' >&2
for impl in $IMPLS; do "start_$impl"; done

# One job per implementation for the GET rows, read until it is done (its ETag is final).
# (floor answers these with its canned job, ETag and 304 like the others.)
declare -A JOB ETAG
for impl in $IMPLS; do
  JOB[$impl]=$(curl -sf -XPOST "127.0.0.1:${PORT[$impl]}/api/worker/jobs" \
    -H 'Content-Type: application/json' -d '{"type":"add","params":{"x":2,"y":40}}' |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
  for _ in $(seq 100); do
    curl -sf "127.0.0.1:${PORT[$impl]}/api/worker/jobs/${JOB[$impl]}" | grep -q '"status":"done"' && break
    sleep 0.1
  done
  ETAG[$impl]=$(curl -sfi "127.0.0.1:${PORT[$impl]}/api/worker/jobs/${JOB[$impl]}" |
    sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p')
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: ${ETAG[$impl]}" \
    "127.0.0.1:${PORT[$impl]}/api/worker/jobs/${JOB[$impl]}")
  [[ $code == 304 ]] || { echo "run.sh: $impl did not answer 304 to its ETag" >&2; exit 1; }
done

for row in $ONLY; do
  for impl in $IMPLS; do
    case $row in
      get-miss) measure get-miss "$impl" get "/api/worker/jobs/${JOB[$impl]}" ;;
      get-hit) measure get-hit "$impl" get "/api/worker/jobs/${JOB[$impl]}" "${ETAG[$impl]}" ;;
      post) measure post "$impl" post; [[ $impl == floor ]] || wait_drained "$impl" ;;
      get-cold)
        if [[ $impl == floor ]]; then
          measure get-cold floor cycle 1 10000
        else
          measure get-cold "$impl" cycle \
            "$(sql "$impl" "SELECT min(id) FROM items WHERE queue = 'add'")" \
            "$(sql "$impl" "SELECT max(id) FROM items WHERE queue = 'add'")"
        fi ;;
      e2e) [[ $impl == floor ]] || e2e "$impl" ;;
    esac
  done
done

echo
printf '%-9s %11s %8s %8s %12s %8s %8s %8s %9s\n' row "robotni/s" "p99 ms" "CPU us" \
  "reference/s" "p99 ms" "CPU us" ratio "CPU ratio"
for row in $ONLY; do
  r=${RPS[$row,robotni]:-0} f=${RPS[$row,reference]:-0}
  cr=${CPU[$row,robotni]:-0} cf=${CPU[$row,reference]:-0}
  printf '%-9s %11.0f %8.2f %8.1f %12.0f %8.2f %8.1f %7.1fx %8.1fx\n' "$row" "$r" \
    "$(awk "BEGIN{print ${P99[$row,robotni]:-0}/1000}")" "$cr" "$f" \
    "$(awk "BEGIN{print ${P99[$row,reference]:-0}/1000}")" "$cf" \
    "$(awk "BEGIN{print ($f > 0) ? $r / $f : 0}")" "$(awk "BEGIN{print ($cr > 0) ? $cf / $cr : 0}")"
done
echo "(CPU us: server CPU per request, workers included; e2e rows are jobs/s and CPU per job, no p99; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
[[ " $IMPLS " == *" floor "* ]] || exit 0
echo
printf '%-9s %11s %8s %8s %16s %14s\n' row "floor/s" "p99 ms" "CPU us" "floor/reference" "robotni/floor"
for row in $ONLY; do
  [[ $row == e2e ]] && continue
  fl=${RPS[$row,floor]:-0} r=${RPS[$row,robotni]:-0} f=${RPS[$row,reference]:-0}
  printf '%-9s %11.0f %8.2f %8.1f %15.1fx %13.2fx\n' "$row" "$fl" \
    "$(awk "BEGIN{print ${P99[$row,floor]:-0}/1000}")" "${CPU[$row,floor]:-0}" \
    "$(awk "BEGIN{print ($f > 0) ? $fl / $f : 0}")" "$(awk "BEGIN{print ($fl > 0) ? $r / $fl : 0}")"
done
echo "(floor: bench/http/floor_server.c, canned responses, no work: the most any server shows here under this wrk load)"
