#!/usr/bin/env bash
# Set up, build, and run the example robot's main job: Producer -> Consumer ->
# Reporter over the orders in devdata/, on the embedded SQLite work-item queue.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default --target robotni
./build/robotni run -t Producer -t Consumer -t Reporter \
  --input devdata/work-items-in/orders/work-items.json
echo
echo "Summary: output/summary.txt and output/summary.json; work items: ./build/robotni items stats"
