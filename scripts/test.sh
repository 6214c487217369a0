#!/usr/bin/env bash
# Set up, build and run every test; then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer (preset "asan"); then the libFuzzer targets
# for a bounded time each from their seed corpora (scripts/fuzz.sh, preset "fuzz").
# ROBOTNI_SKIP_ASAN=1 skips the sanitizer pass, ROBOTNI_SKIP_FUZZ=1 the fuzzers (quick local
# runs); ROBOTNI_FUZZ_SECONDS sets each fuzzer's run (30 s here).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
cmake --preset default
cmake --build --preset default
ctest --preset default
if [[ "${ROBOTNI_SKIP_ASAN:-0}" != 1 ]]; then
  cmake --preset asan
  cmake --build --preset asan --target unit_tests
  ctest --preset asan -L unit
fi
if [[ "${ROBOTNI_SKIP_FUZZ:-0}" != 1 ]]; then
  bash scripts/fuzz.sh "${ROBOTNI_FUZZ_SECONDS:-30}"
fi
