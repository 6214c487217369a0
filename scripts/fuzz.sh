#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz": clang 14, ASan + UBSan; tests/fuzz/) and runs
# each from its seed corpus for a bounded time. A crash, sanitizer report, leak or hang fails
# the script; the input that did it is kept in build-fuzz/artifacts/ (replay it with
# `build-fuzz/<target> <file>`). New inputs go to build-fuzz/corpus/<target>, which later
# runs start from too.
# Usage: scripts/fuzz.sh [SECONDS]   (each target's run; default 30, or ROBOTNI_FUZZ_SECONDS)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${ROBOTNI_FUZZ_SECONDS:-30}}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

run() {
  local target="$1" dict="$2" seeds="$3"
  mkdir -p "build-fuzz/corpus/$target" build-fuzz/artifacts
  echo "fuzz: $target for ${seconds}s from $seeds" >&2
  # -max_len 4096: deeper JSON nesting than that is issue #12's depth limit, not a finding here.
  "build-fuzz/$target" -dict="$dict" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target-" \
    "build-fuzz/corpus/$target" "$seeds"
}
run http_request_fuzz tests/fuzz/http.dict tests/fuzz/corpus/http
run work_items_fuzz tests/fuzz/work_items.dict tests/fuzz/corpus/work_items
