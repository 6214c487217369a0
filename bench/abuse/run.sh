#!/usr/bin/env bash
# Floods a real `robotni serve` (issue #12's cases, 10 s each by default) while a well-behaved
# client measures its latency; prints the honest client's p99 and serve's resident memory per
# flood (bench/abuse/abuse.py). Builds nothing; use a Release build:
#   cmake --preset bench && cmake --build build-bench -j2 --target robotni
#   bench/abuse/run.sh [build-bench/robotni] [SECONDS] [flood,flood,...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
robotni="$(realpath "${1:-$root/build-bench/robotni}")"
seconds="${2:-10}"
only="${3:-}"
[[ -x "$robotni" ]] || { echo "abuse: $robotni is not an executable" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/robotni-abuse.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

token="abuse-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" >"$work/tokens"
chmod 600 "$work/tokens"
port="$(/usr/bin/python3.11 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
ulimit -n "$(ulimit -Hn)"

cd "$root"
"$robotni" serve -r robot.yaml --jobs workers/jobs/jobs.py --listen "127.0.0.1:$port" \
  --store "$work/wi.db" --token-file "$work/tokens" --log-level warn >"$work/serve.log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "abuse: serve exited:" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
echo "abuse: $robotni serve pid $server_pid on $url"
/usr/bin/python3.11 "$here/abuse.py" --url "$url" --pid "$server_pid" --token "$token" \
  --seconds "$seconds" ${only:+--only "$only"}
echo "abuse: serve VmHWM (peak RSS over the whole run): $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$server_pid/status)"
