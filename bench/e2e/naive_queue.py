"""A naive pure-Python SQLite work queue: the baseline of consumer_throughput.sh.

As in queue-landscape.md section C: stdlib sqlite3, WAL, synchronous=NORMAL, one
transaction per step (claim = 1 tx with UPDATE ... RETURNING, complete + output = 1 tx).

  naive_queue.py seed    DB N          # N items {"n": i} into queue "consume" (batched)
  naive_queue.py consume DB [LIMIT]    # the consumer; prints "consumed K in S s"
Run it with /usr/bin/python3.11.
"""

import json
import sqlite3
import sys
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'PENDING',
  payload TEXT NOT NULL,
  parent_id INTEGER,
  owner TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  lease_expires REAL,
  created REAL NOT NULL,
  finished REAL
);
CREATE INDEX IF NOT EXISTS items_claim ON items(queue, state, id);
"""


def connect(path):
    db = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN/COMMIT
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(SCHEMA)
    return db


def seed(db, n, queue="consume"):
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO items(queue, payload, created) VALUES (?, ?, ?)",
        ((queue, json.dumps({"n": i}), now) for i in range(n)),
    )
    db.execute("COMMIT")


def claim(db, queue, owner, lease_s=60.0):
    db.execute("BEGIN IMMEDIATE")
    row = db.execute(
        "UPDATE items SET state='RESERVED', owner=?, attempt=attempt+1, lease_expires=? "
        "WHERE id = (SELECT id FROM items WHERE queue=? AND state='PENDING' ORDER BY id LIMIT 1) "
        "RETURNING id, payload",
        (owner, time.time() + lease_s, queue),
    ).fetchone()
    db.execute("COMMIT")
    return row


def complete(db, item_id, owner, outputs, out_queue):
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    cur = db.execute(
        "UPDATE items SET state='DONE', finished=? WHERE id=? AND owner=? AND state='RESERVED'",
        (now, item_id, owner),
    )
    if cur.rowcount == 1:  # fenced: outputs only if we still hold the lease
        db.executemany(
            "INSERT INTO items(queue, payload, parent_id, created) VALUES (?, ?, ?, ?)",
            ((out_queue, json.dumps(p), item_id, now) for p in outputs),
        )
    db.execute("COMMIT")


def consume(db, limit=None, queue="consume", out_queue="consume_output"):
    owner = f"naive:{time.monotonic_ns()}"
    count = 0
    while limit is None or count < limit:
        row = claim(db, queue, owner)
        if row is None:
            break
        item_id, payload = row
        n = json.loads(payload)["n"]
        complete(db, item_id, owner, [{"n": n * 2}], out_queue)
        count += 1
    return count


if __name__ == "__main__":
    cmd, path = sys.argv[1], sys.argv[2]
    db = connect(path)
    if cmd == "seed":
        seed(db, int(sys.argv[3]))
    elif cmd == "consume":
        t0 = time.perf_counter()
        k = consume(db, int(sys.argv[3]) if len(sys.argv) > 3 else None)
        print(f"consumed {k} in {time.perf_counter() - t0:.3f} s")
    else:
        sys.exit(f"unknown command {cmd}")
