#!/usr/bin/env bash
# Consumer throughput, end to end, items/s (a benchmark: prints, never asserts).
# All three variants run in this one invocation; each consumer run is timed alone,
# after its queue was seeded by a separate run:
#   robotni     `robotni run -t Consume` of robots/throughput (for item in inputs:
#               outputs.create({"n": 2n})) on a SQLite store; seeded before by
#               `robotni run -t Seed --input` (one input {"count": N} -> N outputs).
#   naive       the same consumer on naive_queue.py (stdlib sqlite3, WAL, NORMAL, one
#               transaction per step) run by /usr/bin/python3.11.
#   process     the same consumer with --isolation process: the task in a worker process,
#               its work-item calls answered by the control process (PROC=0 skips it)
#   (raw        profiling aid: robotni running the same loop straight on the native
#               _robotni module, no robocorp.workitems shim; RAW=0 skips it)
#   subprocess  one `/usr/bin/python3.11 naive_queue.py consume DB 1` per item, SUB_N
#               items measured, per-item cost extrapolated to N.
# Usage: bench/e2e/consumer_throughput.sh [N]   env: N=20000 SUB_N=300 REPS=3
#        BENCH_DIR=/tmp (databases live there; on disk by default) ROBOTNI=path
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROBOTNI="${ROBOTNI:-$ROOT/build-bench/robotni}"
PY=/usr/bin/python3.11
N="${1:-${N:-20000}}"
SUB_N="${SUB_N:-300}"
RAW="${RAW:-1}"
PROC="${PROC:-1}"
REPS="${REPS:-3}"
[[ -x "$ROBOTNI" ]] || { echo "no $ROBOTNI; build it: cmake --preset bench && cmake --build build-bench --target robotni" >&2; exit 1; }

WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/robotni_throughput.XXXXXX")"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/robots/throughput" "$WORK/robot"
R="$WORK/robot"
echo "[{\"payload\": {\"count\": $N}}]" >"$WORK/seed.json"

now_ns() { date +%s%N; }
count_state() {  # DB QUEUE STATE
  $PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
    "select count(*) from items where queue=? and state=?", sys.argv[2:4]).fetchone()[0])' "$@"
}

echo "consumer_throughput: N=$N REPS=$REPS SUB_N=$SUB_N; dir $WORK ($(df --output=fstype "$WORK" | tail -1)); $(date -u +%FT%TZ); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  robotni:    cd $R && $ROBOTNI run -r robot.yaml -t Consume --store sqlite://\$DB   (after: run -t Seed --input seed.json)"
echo "  naive:      $PY $HERE/naive_queue.py consume \$DB   (after: naive_queue.py seed \$DB $N)"
echo "  subprocess: $SUB_N x $PY $HERE/naive_queue.py consume \$DB 1"

rob_wall=() rob_task=() naive_wall=() naive_task=() raw_wall=() raw_task=() proc_wall=()
for rep in $(seq 1 "$REPS"); do
  # -- robotni
  db="$WORK/robotni_$rep.db"
  (cd "$R" && "$ROBOTNI" run -r robot.yaml -t Seed --store "sqlite://$db" --input "$WORK/seed.json" >/dev/null 2>&1)
  [[ "$(count_state "$db" consume PENDING)" == "$N" ]] || { echo "seed failed" >&2; exit 1; }
  t0=$(now_ns)
  out="$(cd "$R" && "$ROBOTNI" run -r robot.yaml -t Consume --store "sqlite://$db" 2>&1)"
  t1=$(now_ns)
  done_n="$(count_state "$db" consume DONE)"; outs="$(count_state "$db" consume_output PENDING)"
  [[ "$done_n" == "$N" && "$outs" == "$N" ]] || { echo "robotni consumed $done_n/$N, $outs outputs:" >&2; echo "$out" >&2; exit 1; }
  rob_wall+=($(( (t1 - t0) / 1000 )))
  rob_task+=("$(sed -n 's/.*in-task \([0-9.]*\) s.*/\1/p' <<<"$out")")
  # -- robotni, the task in a worker process (--isolation process): every work-item call
  #    crosses the worker's socket to the control process, which owns the store
  if [[ "$PROC" == 1 ]]; then
    db="$WORK/proc_$rep.db"
    (cd "$R" && "$ROBOTNI" run -r robot.yaml -t Seed --store "sqlite://$db" --input "$WORK/seed.json" >/dev/null 2>&1)
    t0=$(now_ns)
    out="$(cd "$R" && "$ROBOTNI" run -r robot.yaml -t Consume --isolation process --store "sqlite://$db" 2>&1)"
    t1=$(now_ns)
    [[ "$(count_state "$db" consume DONE)" == "$N" && "$(count_state "$db" consume_output PENDING)" == "$N" ]] || { echo "process isolation consumed too few:" >&2; echo "$out" >&2; exit 1; }
    proc_wall+=($(( (t1 - t0) / 1000 )))
  fi
  # -- robotni, raw binding (no shim)
  if [[ "$RAW" == 1 ]]; then
    db="$WORK/raw_$rep.db"
    (cd "$R" && "$ROBOTNI" run -r robot.yaml -t Seed --store "sqlite://$db" --input "$WORK/seed.json" >/dev/null 2>&1)
    t0=$(now_ns)
    out="$(cd "$R" && RC_WORKITEM_QUEUE_NAME=consume "$ROBOTNI" run -r robot.yaml -t ConsumeRaw --store "sqlite://$db" 2>&1)"
    t1=$(now_ns)
    [[ "$(count_state "$db" consume DONE)" == "$N" ]] || { echo "raw consumed too few:" >&2; echo "$out" >&2; exit 1; }
    raw_wall+=($(( (t1 - t0) / 1000 )))
    raw_task+=("$(sed -n 's/.*in-task \([0-9.]*\) s.*/\1/p' <<<"$out")")
  fi
  # -- naive
  db="$WORK/naive_$rep.db"
  $PY "$HERE/naive_queue.py" seed "$db" "$N"
  t0=$(now_ns)
  out="$($PY "$HERE/naive_queue.py" consume "$db")"
  t1=$(now_ns)
  [[ "$(count_state "$db" consume DONE)" == "$N" ]] || { echo "naive consumed too few: $out" >&2; exit 1; }
  naive_wall+=($(( (t1 - t0) / 1000 )))
  naive_task+=("$(sed -n 's/.* in \([0-9.]*\) s/\1/p' <<<"$out")")
  echo "  rep $rep: robotni ${rob_wall[-1]} us (in task ${rob_task[-1]} s), naive ${naive_wall[-1]} us (in process ${naive_task[-1]} s)"
done

# -- subprocess per item
db="$WORK/sub.db"
$PY "$HERE/naive_queue.py" seed "$db" "$SUB_N"
t0=$(now_ns)
for _ in $(seq 1 "$SUB_N"); do $PY "$HERE/naive_queue.py" consume "$db" 1 >/dev/null; done
t1=$(now_ns)
[[ "$(count_state "$db" consume DONE)" == "$SUB_N" ]] || { echo "subprocess variant consumed too few" >&2; exit 1; }
sub_us=$(( (t1 - t0) / 1000 ))

$PY - "$N" "$SUB_N" "$sub_us" "${rob_wall[*]}" "${rob_task[*]}" "${naive_wall[*]}" "${naive_task[*]}" "${raw_wall[*]:-}" "${raw_task[*]:-}" "${proc_wall[*]:-}" <<'PYEOF'
import statistics as st, sys
n, sub_n, sub_us = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rw, rt, nw, nt, aw, at, pw = ([float(x) for x in a.split()] for a in sys.argv[4:11])
rw_s, nw_s = st.median(rw) / 1e6, st.median(nw) / 1e6
rt_s, nt_s = st.median(rt), st.median(nt)
sub_per = sub_us / 1e6 / sub_n
rows = [
    ("robotni run -t Consume (process wall)", rw_s),
    ("robotni, inside the task only", rt_s),
    ("naive sqlite3 queue (process wall)", nw_s),
    ("naive, consume loop only", nt_s),
    *([("robotni --isolation process (process wall)", st.median(pw) / 1e6)] if pw else []),
    *([("robotni ConsumeRaw, no shim (process wall)", st.median(aw) / 1e6),
       ("robotni ConsumeRaw, no shim, inside the task", st.median(at))] if aw else []),
    (f"subprocess per item (extrapolated from {sub_n})", sub_per * n),
]
print(f"\n{'variant (N=%d, medians of %d reps)' % (n, len(rw)):<52}{'seconds':>10}{'items/s':>12}{'us/item':>10}")
for name, s in rows:
    print(f"{name:<52}{s:10.3f}{n / s:12.0f}{s / n * 1e6:10.1f}")
print(f"subprocess per item: measured {sub_n} items in {sub_us / 1e6:.2f} s = {sub_per * 1e3:.2f} ms/item; "
      f"the {n}-item figure is that cost x {n} (extrapolated, not run)")
rob = n / rw_s
print("\nratios (robotni items/s / baseline items/s), process wall")
print(f"  robotni / naive        {rob / (n / nw_s):8.2f}x   (target > 2x)")
print(f"  robotni / subprocess   {rob / (1 / sub_per):8.1f}x   (target > 300x)")
print(f"  robotni items/s        {rob:8.0f}    (target >= 50,000)")
if pw:
    print(f"  --isolation process / in-process  {(n / (st.median(pw) / 1e6)) / rob:8.2f}x;"
          f" / subprocess per item {(n / (st.median(pw) / 1e6)) / (1 / sub_per):8.1f}x")
print("ratios, loop only (no process/interpreter start-up on either side)")
print(f"  robotni / naive        {(n / rt_s) / (n / nt_s):8.2f}x")
if at:
    print(f"  shim share of robotni's in-task time: {(rt_s - st.median(at)) / rt_s * 100:.0f}% "
          f"({(rt_s - st.median(at)) / n * 1e6:.1f} us/item over the raw _robotni loop)")
PYEOF
