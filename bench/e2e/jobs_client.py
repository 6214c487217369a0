"""Submits N jobs to a robotni serve and times them until the store has them all DONE.
Usage: jobs_client.py PORT DB TYPE N PARAMS_JSON NAME; prints "NAME <jobs/s> jobs/s"."""
import http.client
import json
import sqlite3
import sys
import time

port, db, jtype, n, params, name = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5]), sys.argv[6]
conn = http.client.HTTPConnection("127.0.0.1", int(port))
t0 = time.perf_counter()
left = n
while left:
    k = min(1000, left)
    conn.request("POST", "/api/worker/jobs/batch", json.dumps([{"type": jtype, "params": params}] * k),
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status not in (200, 201, 202):
        sys.exit(f"batch submit failed: {r.status} {body[:200]!r}")
    left -= k
store = sqlite3.connect(db)
while True:
    done, failed = store.execute(
        "select sum(state='DONE'), sum(state='FAILED') from items where queue=?", (jtype,)).fetchone()
    if failed:
        sys.exit(f"{failed} jobs failed")
    if (done or 0) >= n:
        break
    time.sleep(0.01)
elapsed = time.perf_counter() - t0
print(f"{name} {n / elapsed:.1f} jobs/s")
