#!/usr/bin/env bash
# Set up, build and run every test; then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer (preset "asan").
# ROBOTNI_SKIP_ASAN=1 skips the sanitizer pass (quick local runs).
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
