#!/usr/bin/env bash
# One-shot wall time of a trivial robocorp.tasks task, three ways, interleaved in one
# run so the ratios compare like with like (a benchmark: prints, never asserts):
#   robotni   build-bench/robotni run -r robots/trivial/robot.yaml -t Trivial
#   script    /usr/bin/python3.11 tasks.py                                (shims on PYTHONPATH)
#   rc-tasks  /usr/bin/python3.11 -m robocorp.tasks run tasks.py -t trivial (shims on PYTHONPATH)
#   (+ robotni --isolation main, for information)
# Usage: bench/e2e/run_oneshot.sh [N]   (N runs of each, default 30; ROBOTNI=path/to/robotni)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROBOTNI="${ROBOTNI:-$ROOT/build-bench/robotni}"
PY=/usr/bin/python3.11
SHIMS="$ROOT/runtime/python/shims"
N="${1:-${N:-30}}"
[[ -x "$ROBOTNI" ]] || { echo "no $ROBOTNI; build it: cmake --preset bench && cmake --build build-bench --target robotni" >&2; exit 1; }

WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/robotni_oneshot.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/robots/trivial" "$WORK/robot"
R="$WORK/robot"

names=(robotni script rc-tasks robotni-main)
cmds=(
  "cd '$R' && '$ROBOTNI' run -r robot.yaml -t Trivial"
  "cd '$R' && PYTHONPATH='$SHIMS' $PY tasks.py"
  "cd '$R' && PYTHONPATH='$SHIMS' $PY -m robocorp.tasks run tasks.py -t trivial"
  "cd '$R' && '$ROBOTNI' run -r robot.yaml -t Trivial --isolation main"
)
# Sanity: each prints the task's line.
for i in "${!cmds[@]}"; do
  out="$(bash -c "${cmds[$i]}" 2>/dev/null)" || { echo "${names[$i]} failed: ${cmds[$i]}" >&2; exit 1; }
  grep -q "order 42 3" <<<"$out" || { echo "${names[$i]}: unexpected output: $out" >&2; exit 1; }
done

echo "run_oneshot: $N runs each, interleaved, after 2 warm-up rounds; $(date -u +%FT%TZ); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!cmds[@]}"; do echo "  ${names[$i]}: ${cmds[$i]}"; done
declare -A times
for round in $(seq -2 "$N"); do
  for i in "${!cmds[@]}"; do
    t0=$(date +%s%N)
    bash -c "${cmds[$i]}" >/dev/null 2>&1
    t1=$(date +%s%N)
    ((round > 0)) && times[${names[$i]}]+="$(( (t1 - t0) / 1000 )) "
  done
done

# bash -c itself is part of every row; measure it to subtract.
t0=$(date +%s%N); for _ in $(seq 1 "$N"); do bash -c "cd '$R' && true"; done; t1=$(date +%s%N)
shell_us=$(( (t1 - t0) / 1000 / N ))

$PY - "$shell_us" "${times[robotni]}" "${times[script]}" "${times[rc-tasks]}" "${times[robotni-main]}" <<'PYEOF'
import statistics as st, sys
shell = int(sys.argv[1])
rows = dict(zip(["robotni", "script", "rc-tasks", "robotni-main"],
                [[int(x) / 1000 for x in a.split()] for a in sys.argv[2:]]))
print(f"\n{'wall per run (ms)':<28}{'median':>9}{'mean':>9}{'min':>9}{'max':>9}")
for k, v in rows.items():
    print(f"{k:<28}{st.median(v):9.1f}{st.mean(v):9.1f}{min(v):9.1f}{max(v):9.1f}")
print(f"(every row includes one `bash -c` of ~{shell/1000:.1f} ms; not subtracted)")
r = st.median(rows["robotni"])
print("\nratio = baseline median / robotni median (>1: robotni is faster)")
for k in ("script", "rc-tasks", "robotni-main"):
    print(f"  {k + ' / robotni':<28}{st.median(rows[k]) / r:6.2f}x")
PYEOF
