#!/usr/bin/env bash
# End-to-end test of the dashboard: starts `robotni serve` on loopback with a temporary store,
# drives Debian's chromium (headless) with playwright-core through a spec, and stops the
# server by its pid. Builds nothing.
# Usage: tests/e2e/run.sh <path/to/robotni> [open|auth|log|jobs|signin|panels|schedules]
#   open (default): --no-auth, dashboard.spec.mjs
#   auth: --token-file with a read+write and a read-only token, dashboard_auth.spec.mjs
#   jobs: --no-auth, dashboard_jobs.spec.mjs (paging, filters, job and queue URLs, bulk actions)
#   signin: as auth, dashboard_signin.spec.mjs (the sign-in link serve prints)
#   panels: --no-auth, dashboard_panels.spec.mjs (the worker panel and the throughput chart)
#   schedules: --no-auth and a config with a fakejob schedule every 2 s, schedules.spec.mjs
#   log: no server; log_html.spec.mjs runs a fixture robot and checks its output/log.html
# Skips (exit 0) only when chromium or node is not installed: `scripts/setup.sh --test`
# installs chromium; node comes with the machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
robotni="${1:?usage: run.sh <path/to/robotni> [open|auth|log|jobs|signin|panels|schedules]}"
mode="${2:-open}"
case "$mode" in
  open | auth | log | jobs | signin | panels | schedules) ;;
  *) echo "e2e: mode is open, auth, log, jobs, signin, panels or schedules, not '$mode'" >&2; exit 2 ;;
esac
[[ -x "$robotni" ]] || { echo "e2e: $robotni is not an executable" >&2; exit 1; }

chromium_bin="${CHROMIUM:-$(command -v chromium || true)}"
if [[ -z "$chromium_bin" ]]; then
  echo "e2e: SKIP: chromium is not installed (scripts/setup.sh --test installs it)"
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "e2e: SKIP: node/npm are not installed"
  exit 0
fi
# One `npm ci` at a time: ctest runs these specs in parallel, and two installs into one
# node_modules fail each other (ENOTEMPTY). The second waits for the lock, then finds it done.
(
  flock 9
  if [[ ! -d "$here/node_modules/playwright-core" ]]; then
    echo "e2e: npm ci in $here"
    cd "$here" && npm ci --no-audit --no-fund --loglevel=error
  fi
) 9>"${TMPDIR:-/tmp}/robotni-e2e-npm-ci.lock"
# log: no server; log_html.spec.mjs runs the log_html fixture robot and opens its log.html.
[[ "$mode" == log ]] && exec env ROBOTNI_BIN="$robotni" CHROMIUM="$chromium_bin" E2E_OUT="${E2E_OUT:-$here/out}" node "$here/log_html.spec.mjs"

work="$(mktemp -d "${TMPDIR:-/tmp}/robotni-e2e.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  if [[ "${E2E_KEEP:-}" == "" ]]; then rm -rf "$work"; else echo "e2e: kept $work"; fi
}
trap cleanup EXIT

# A free loopback port.
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"

# open: --no-auth (loopback only). auth: tokens of our own in a token file.
rand() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
token=""
read_token=""
spec=dashboard.spec.mjs
[[ "$mode" == jobs || "$mode" == panels ]] && spec="dashboard_$mode.spec.mjs"
if [[ "$mode" == open || "$mode" == jobs || "$mode" == panels ]]; then
  auth_args=(--no-auth)
elif [[ "$mode" == schedules ]]; then
  printf 'schedules:\n  - name: e2e-tick\n    type: fakejob\n    cron: "*/2 * * * * *"\n    timezone: Europe/Helsinki\n    params: {delay_seconds: 1}\n' >"$work/serve.yaml"
  auth_args=(--no-auth --config "$work/serve.yaml")
  spec=schedules.spec.mjs
else
  token="e2e-rw-$(rand)"
  read_token="e2e-r-$(rand)"
  printf 'read,write:%s\nread:%s\n' "$token" "$read_token" >"$work/tokens"
  auth_args=(--token-file "$work/tokens")
  spec=dashboard_auth.spec.mjs
  [[ "$mode" == signin ]] && spec=dashboard_signin.spec.mjs
fi

cd "$root"
# open: a robot's work items are in the store before serve starts (queue "orders", ids 1-3):
# dashboard.spec.mjs checks they show as a robot queue, never as jobs.
if [[ "$mode" == open ]]; then
  for n in 1 2 3; do "$robotni" items add --store "$work/wi.db" orders "{\"n\": $n}" >/dev/null; done
fi
"$robotni" serve -r robot.yaml --jobs workers/jobs/jobs.py --listen "127.0.0.1:$port" \
  --store "$work/wi.db" "${auth_args[@]}" >"$work/serve.log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 100); do
  if curl -fsS "$url/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "e2e: robotni serve exited:" >&2; cat "$work/serve.log" >&2; exit 1
  fi
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { echo "e2e: server did not answer" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "e2e: robotni serve pid $server_pid on $url"

status=0
ROBOTNI_URL="$url" SERVE_LOG="$work/serve.log" ROBOTNI_TOKEN="$token" ROBOTNI_READ_TOKEN="$read_token" CHROMIUM="$chromium_bin" \
  E2E_OUT="${E2E_OUT:-$here/out}" node "$here/$spec" || status=$?
if ((status != 0)); then
  echo "e2e: server log:" >&2; tail -n 50 "$work/serve.log" >&2
fi
exit "$status"
