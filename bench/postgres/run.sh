#!/usr/bin/env bash
# robotni on PostgreSQL, jobs/s (a benchmark: prints, never asserts). One throwaway
# PostgreSQL 15 on 127.0.0.1 (default settings: fsync and synchronous_commit on) serves
# every variant of this one invocation:
#   ceiling   pgbench, the raw queue floor: each script run claims one row of a table shaped
#             like robotni's (`FOR UPDATE SKIP LOCKED`, its own transaction) and completes it
#             (a second transaction); CLIENTS clients (8: commits wait on the disk's
#             flush, so more clients share each flush); jobs/s = script runs/s.
#   consumer  `robotni run -t Consume` of bench/e2e/robots/throughput (reserve, create one
#             output, complete: per item) with --store postgresql://...
#   serve xK  K `robotni serve` nodes (1, 2, 3) on the same schema, each with 2 worker
#             processes (SERVE_ARGS), N trivial `add` jobs submitted in batches of 1000 to node 1; the
#             clock runs from the first submit until the database holds all of them DONE.
# Ratios: each robotni figure / the ceiling, and per node (target >= 0.5 per node).
# Usage: bench/postgres/run.sh   env: N=5000 CLIENTS=8 SERVE_ARGS='--isolation process --workers 2' ROBOTNI=path PGBIN=dir
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROBOTNI="${ROBOTNI:-$ROOT/build-bench/robotni}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PY=/usr/bin/python3.11
N="${N:-5000}"
CLIENTS="${CLIENTS:-8}"
SERVE_ARGS="${SERVE_ARGS:---isolation process --workers 2}"
ROBOTNI="$(realpath "$ROBOTNI" 2>/dev/null || echo "$ROBOTNI")"
[[ -x "$ROBOTNI" ]] || { echo "no $ROBOTNI; build it: cmake --preset bench && cmake --build build-bench --target robotni" >&2; exit 1; }
[[ -x "$PGBIN/pgbench" ]] || { echo "no $PGBIN/pgbench: apt-get install postgresql-15 postgresql-contrib" >&2; exit 1; }

WORK="$(mktemp -d /tmp/robotni_pgbench.XXXXXX)"
chmod 755 "$WORK"
PG_PID= NODE_PIDS=()
cleanup() {
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "$PG_PID" ]] && kill "$PG_PID" 2>/dev/null && while kill -0 "$PG_PID" 2>/dev/null; do sleep 0.1; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# postgres refuses root: run it as the `postgres` user then (setpriv execs: no child process).
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}
mkdir "$WORK/data"
[[ "$(id -u)" == 0 ]] && chown postgres "$WORK/data"
as_pg "$PGBIN/initdb" -D "$WORK/data" -U robotni --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A plain command in the background (not the function, which would fork a subshell), so that
# $! is the postmaster and the cleanup's kill stops it.
pg=("$PGBIN/postgres" -D "$WORK/data" -p "$PORT" -c listen_addresses=127.0.0.1
    -c unix_socket_directories="$WORK/data" -c max_connections=200)
[[ "$(id -u)" == 0 ]] && pg=(setpriv --reuid=postgres --regid=postgres --init-groups -- "${pg[@]}")
"${pg[@]}" >"$WORK/pg.log" 2>&1 &
PG_PID=$!
PSQL=("$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U robotni -d postgres -qAtX -v ON_ERROR_STOP=1)
for _ in $(seq 1 300); do "${PSQL[@]}" -c "select 1" >/dev/null 2>&1 && break; sleep 0.1; done
"${PSQL[@]}" -c "select 1" >/dev/null || { echo "postgres did not start:" >&2; cat "$WORK/pg.log" >&2; exit 1; }
URL_BASE="postgresql://robotni@127.0.0.1:$PORT/postgres"

echo "postgres bench: N=$N CLIENTS=$CLIENTS SERVE_ARGS='$SERVE_ARGS'; $(date -u +%FT%TZ); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $("$PGBIN/postgres" --version)"

# -- ceiling: pgbench on a table shaped like robotni's items (the ready index included)
"${PSQL[@]}" <<SQL
CREATE TABLE bench_items(id bigserial PRIMARY KEY, queue text NOT NULL, state text NOT NULL,
  payload text NOT NULL, priority integer NOT NULL DEFAULT 0, attempt integer NOT NULL DEFAULT 0,
  lease_owner text, lease_expires bigint NOT NULL DEFAULT 0, not_before bigint NOT NULL DEFAULT 0,
  started bigint NOT NULL DEFAULT 0, finished bigint NOT NULL DEFAULT 0, result text);
CREATE INDEX bench_ready ON bench_items(queue, priority DESC, id) WHERE state = 'PENDING';
INSERT INTO bench_items(queue, state, payload)
  SELECT 'add', 'PENDING', '{"x":1,"y":2}' FROM generate_series(1, $N);
VACUUM ANALYZE bench_items;
SQL
cat >"$WORK/claim_complete.sql" <<'SQL'
UPDATE bench_items SET state = 'RESERVED', attempt = attempt + 1, lease_owner = 'pgbench',
  lease_expires = 1, started = 1
  WHERE id = (SELECT id FROM bench_items WHERE queue = 'add' AND state = 'PENDING'
              AND not_before <= 1 ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id \gset
UPDATE bench_items SET state = 'DONE', result = '3', finished = 2
  WHERE id = :id AND lease_owner = 'pgbench' AND state = 'RESERVED';
SQL
per_client=$(( N / CLIENTS ))
ceiling=$("$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U robotni -n -c "$CLIENTS" -j "$CLIENTS" \
  -t "$per_client" -f "$WORK/claim_complete.sql" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
done_rows=$("${PSQL[@]}" -c "select count(*) from bench_items where state = 'DONE'")
[[ "$done_rows" == "$(( per_client * CLIENTS ))" ]] || { echo "pgbench completed $done_rows rows" >&2; exit 1; }
echo "ceiling (pgbench claim + complete, $CLIENTS clients): $ceiling jobs/s"

count_done() {  # SCHEMA QUEUE
  "${PSQL[@]}" -c "select count(*) from $1.items where queue = '$2' and state = 'DONE'"
}

# -- the trivial consumer, one process
R="$WORK/robot"
cp -r "$ROOT/bench/e2e/robots/throughput" "$R"
echo "[{\"payload\": {\"count\": $N}}]" >"$WORK/seed.json"
url="$URL_BASE?search_path=consumer"
(cd "$R" && "$ROBOTNI" run -r robot.yaml -t Seed --store "$url" --input "$WORK/seed.json" >"$WORK/seed.log" 2>&1) ||
  { cat "$WORK/seed.log"; exit 1; }
t0=$(date +%s%N)
(cd "$R" && "$ROBOTNI" run -r robot.yaml -t Consume --store "$url" >"$WORK/consume.log" 2>&1) ||
  { cat "$WORK/consume.log"; exit 1; }
t1=$(date +%s%N)
[[ "$(count_done consumer consume)" == "$N" ]] || { echo "the consumer finished too few" >&2; exit 1; }
consumer=$($PY -c "print(f'{$N / (($t1 - $t0) / 1e9):.1f}')")
echo "consumer (robotni run -t Consume): $consumer items/s"

# -- serve nodes
start_node() {  # URL LOG: sets PORT_OF_NODE (not run in $(...): NODE_PIDS must keep its pid)
  "$ROBOTNI" serve -r "$ROOT/bench/e2e/robots/workers/robot.yaml" \
    --jobs "$ROOT/bench/e2e/robots/workers/jobs.py" --store "$1" --listen 127.0.0.1:0 --no-auth \
    --job-timeout 0 $SERVE_ARGS >"$2" 2>&1 &
  NODE_PIDS+=($!)
  for _ in $(seq 1 300); do
    port=$(grep -so 'serving on http://127.0.0.1:[0-9]*' "$2" | grep -o '[0-9]*$' || true)
    [[ -n "$port" ]] && { PORT_OF_NODE=$port; return; }
    sleep 0.05
  done
  echo "serve did not start:" >&2; cat "$2" >&2; exit 1
}
serve_rate() {  # NODES: prints jobs/s
  local k=$1 schema="serve$1" ports=()
  for i in $(seq 1 "$k"); do
    start_node "$URL_BASE?search_path=$schema" "$WORK/node$k-$i.log"
    ports+=("$PORT_OF_NODE")
  done
  $PY - "${ports[0]}" "$N" "$k" "${PSQL[*]}" "$schema" <<'PYEOF'
import http.client, json, subprocess, sys, time
port, n, k, psql, schema = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port)
t0 = time.perf_counter()
left = n
while left:
    m = min(1000, left)
    conn.request("POST", "/api/worker/jobs/batch", json.dumps([{"type": "add", "params": {"x": 1, "y": 2}}] * m),
                 {"Content-Type": "application/json"})
    r = conn.getresponse(); body = r.read()
    if r.status not in (200, 201, 202):
        sys.exit(f"batch submit failed: {r.status} {body[:200]!r}")
    left -= m
q = f"select count(*) filter (where state = 'DONE'), count(*) filter (where state = 'FAILED') from {schema}.items where queue = 'add'"
while True:
    done, failed = map(int, subprocess.check_output(psql + ["-F", " ", "-c", q], text=True).split())
    if failed:
        sys.exit(f"{failed} jobs failed")
    if done >= n:
        break
    time.sleep(0.02)
print(f"{n / (time.perf_counter() - t0):.1f}")
PYEOF
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  NODE_PIDS=()
}
# Not in $(...): the nodes it starts must be stopped by this shell (NODE_PIDS).
serve_rate 1 >"$WORK/s1"; s1=$(cat "$WORK/s1"); echo "serve x1: $s1 jobs/s"
serve_rate 2 >"$WORK/s2"; s2=$(cat "$WORK/s2"); echo "serve x2: $s2 jobs/s"
serve_rate 3 >"$WORK/s3"; s3=$(cat "$WORK/s3"); echo "serve x3: $s3 jobs/s"

$PY - "$ceiling" "$consumer" "$s1" "$s2" "$s3" <<'PYEOF'
import sys
c, cons, s1, s2, s3 = map(float, sys.argv[1:])
print(f"\nratios against the pgbench ceiling ({c:.0f} jobs/s, the same server, this run):")
print(f"  consumer (one process)   {cons / c:6.2f}x")
for k, s in ((1, s1), (2, s2), (3, s3)):
    print(f"  serve x{k}                 {s / c:6.2f}x total, {s / k / c:6.2f}x per node (target >= 0.50 per node)")
PYEOF
