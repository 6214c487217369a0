#!/usr/bin/env bash
# Jobs in worker processes vs in-process, end to end over HTTP, jobs/s (a benchmark:
# prints, never asserts). All variants run in this one invocation against one serve each:
#   cpu   N_CPU pure-Python ~20 ms jobs: --isolation process with 1 and with 2 workers,
#         and in-process (--isolation subinterpreter --concurrency 2: one GIL);
#   add   N_ADD trivial jobs: process (2 workers) vs subinterpreter (concurrency 2), and
#         the baseline of one /usr/bin/python3.11 subprocess per job (SUB_N, extrapolated).
# Jobs are submitted in batches of 1000 (POST /api/worker/jobs/batch); the clock runs from
# the first submit until the store holds every job DONE.
# Usage: bench/e2e/workers.sh   env: N_CPU=200 N_ADD=5000 SUB_N=200 ROBOTNI=path
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROBOTNI="${ROBOTNI:-$ROOT/build-bench/robotni}"
PY=/usr/bin/python3.11
N_CPU="${N_CPU:-200}"
N_ADD="${N_ADD:-5000}"
SUB_N="${SUB_N:-200}"
[[ -x "$ROBOTNI" ]] || { echo "no $ROBOTNI; build it: cmake --preset bench && cmake --build build-bench --target robotni" >&2; exit 1; }
WORK="$(mktemp -d /tmp/robotni_workers.XXXXXX)"
SERVE_PID=
cleanup() { [[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "workers: N_CPU=$N_CPU N_ADD=$N_ADD SUB_N=$SUB_N; $(date -u +%FT%TZ); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# run_variant NAME TYPE N PARAMS_JSON SERVE_ARGS...: prints "NAME jobs/s"
run_variant() {
  local name=$1 type=$2 n=$3 params=$4; shift 4
  local db="$WORK/$name.db" log="$WORK/$name.log"
  rm -f "$db"*
  "$ROBOTNI" serve -r "$HERE/robots/workers/robot.yaml" --jobs "$HERE/robots/workers/jobs.py" \
    --store "$db" --listen 127.0.0.1:0 --no-auth --job-timeout 0 "$@" >"$log" 2>&1 &
  SERVE_PID=$!
  local port=""
  for _ in $(seq 1 300); do
    port=$(grep -so 'serving on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "serve did not start:"; cat "$log"; exit 1; }
  $PY "$HERE/jobs_client.py" "$port" "$db" "$type" "$n" "$params" "$name"
  kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
}

CPU=$(run_variant cpu_process_1 cpu "$N_CPU" '{}' --isolation process --workers 1)
CPU2=$(run_variant cpu_process_2 cpu "$N_CPU" '{}' --isolation process --workers 2)
CPUS=$(run_variant cpu_subinterpreter cpu "$N_CPU" '{}' --isolation subinterpreter --concurrency 2)
ADDP=$(run_variant add_process_2 add "$N_ADD" '{"x":1,"y":2}' --isolation process --workers 2)
ADDS=$(run_variant add_subinterpreter add "$N_ADD" '{"x":1,"y":2}' --isolation subinterpreter --concurrency 2)

# Baseline: one python3.11 process per job (the "subprocess per task" stack).
t0=$(date +%s%N)
for _ in $(seq 1 "$SUB_N"); do $PY -c 'import json; print(json.dumps(1 + 2))' >/dev/null; done
t1=$(date +%s%N)
SUB=$($PY -c "print(f'{$SUB_N / (($t1 - $t0) / 1e9):.1f}')")

printf '%s\n%s\n%s\n%s\n%s\n' "$CPU" "$CPU2" "$CPUS" "$ADDP" "$ADDS"
echo "add_subprocess_per_job $SUB jobs/s"
rate() { echo "$1" | awk '{print $2}'; }
$PY - "$(rate "$CPU")" "$(rate "$CPU2")" "$(rate "$CPUS")" "$(rate "$ADDP")" "$(rate "$ADDS")" "$SUB" <<'PYEOF'
import sys
cpu1, cpu2, cpus, addp, adds, sub = map(float, sys.argv[1:])
print(f"ratio cpu: 2 workers / 1 worker = {cpu2 / cpu1:.2f}x; 2 workers / in-process (one GIL) = {cpu2 / cpus:.2f}x")
print(f"ratio add: workers / in-process = {addp / adds:.2f}x; workers / subprocess per job = {addp / sub:.1f}x")
PYEOF
