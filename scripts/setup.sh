#!/usr/bin/env bash
# Installs what robotni needs from Debian's packages, only what is missing.
# Usage: scripts/setup.sh [--test] [--bench]   (--test: what the test suite needs; --bench: bench/http and bench/postgres)
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libpython3.11-dev python3.11
      libuv1-dev libsqlite3-dev libyaml-cpp-dev pybind11-dev nlohmann-json3-dev
      libcli11-dev libcurl4-openssl-dev libssl-dev libspdlog-dev node-llhttp libgtest-dev
      libgmock-dev libbenchmark-dev libbz2-dev libzstd-dev libvalijson-dev
      libhowardhinnant-date-dev libjs-chart.js libpq-dev)
if [[ "${1:-}" == "--test" ]]; then
  # clang-14 + libclang-rt-14-dev: the libFuzzer targets (scripts/fuzz.sh);
  # conda-package-handling: `cph x`, which the `robotni package` tests extract with;
  # postgresql-15: the server the PostgreSQL store tests start (tests/support/pg_server.h)
  pkgs+=(python3-numpy sqlite3 python3-prometheus-client chromium python3-pytest clang-14
         libclang-rt-14-dev conda-package-handling postgresql-15)
fi
if [[ " $* " == *" --bench "* ]]; then pkgs+=(wrk python3-fastapi python3-uvicorn python3-uvloop python3-httptools postgresql-15); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
