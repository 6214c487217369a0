"""The reference for bench/http/run.sh: robotni serve's job endpoints on the seeds' stack.

FastAPI + uvicorn (Debian's python3-fastapi, python3-uvicorn; uvloop and httptools when
installed, as `uvicorn[standard]` would use them), jobs kept in SQLite through the stdlib
sqlite3 module (WAL, synchronous=NORMAL: robotni's store settings), executed by worker
processes that claim one job at a time, as a huey/SQLite consumer does.

Same routes and JSON shapes as robotni for what the benchmark touches:
  POST /api/worker/jobs      {type, params, priority?, delay_seconds?, max_attempts?}
                             -> 202 {"job_id": "1", "status": "queued"}; 400 / 404 as robotni
  GET  /api/worker/jobs/{id} -> the job, strong ETag, 304 on If-None-Match
  GET  /healthz

Usage: python3.11 reference_app.py --db PATH --port N [--workers 2]
Only /usr/bin/python3.11 and Debian packages; nothing from pip.
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from datetime import datetime, timezone

SCHEMA = """
CREATE TABLE IF NOT EXISTS items(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  state TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  created INTEGER NOT NULL,
  not_before INTEGER NOT NULL DEFAULT 0,
  started INTEGER NOT NULL DEFAULT 0,
  finished INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  exception_type TEXT,
  error_code TEXT,
  error_message TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS items_ready ON items(priority DESC, id) WHERE state = 'PENDING';
"""

# The seeds' job types (workers/jobs/jobs.py), with their schemas.
SCHEMAS = {
    "fakejob": {"type": "object", "properties": {"delay_seconds": {"type": "number"},
                                                 "min_seconds": {"type": "number"}}},
    "add": {"type": "object", "required": ["x", "y"],
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}}},
    "notify.email.v1": {"type": "object", "required": ["to", "subject"],
                        "properties": {"to": {"type": "string"}, "subject": {"type": "string"},
                                       "body": {"type": "string"}}},
    "notify.sms.v1": {"type": "object", "required": ["to", "text"],
                      "properties": {"to": {"type": "string"}, "text": {"type": "string"}}},
}


class BusinessError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def fakejob(delay_seconds=5, min_seconds=1):
    longest = max(1, int(delay_seconds))
    waited = random.randint(min(longest, max(1, int(min_seconds))), longest)
    time.sleep(waited)
    return {"waited": waited}


def add(x, y):
    return x + y


def _send(channel, to, body):
    if not to:
        raise BusinessError(f"{channel}: no recipient", code="NO_RECIPIENT")
    return {"channel": channel, "to": to, "chars": len(body), "status": "sent"}


HANDLERS = {
    "fakejob": fakejob,
    "add": add,
    "notify.email.v1": lambda to, subject, body="": _send("email", to, subject + "\n" + body),
    "notify.sms.v1": lambda to, text: _send("sms", to, text),
}


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"))  # compact, as robotni answers


def connect(path):
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    if not ms:
        return ""
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool,
          "object": dict, "array": list}


def validate(schema, params):
    if not isinstance(params, dict):
        return "params: expected object"
    for name in schema.get("required", []):
        if name not in params:
            return f"params.{name}: required"
    for name, prop in schema.get("properties", {}).items():
        want = _TYPES.get(prop.get("type"))
        v = params.get(name)
        if name in params and want and (not isinstance(v, want) or isinstance(v, bool)
                                        and prop["type"] != "boolean"):
            return f"params.{name}: expected {prop['type']}"
    return ""


STATUS = {"PENDING": "queued", "RESERVED": "running", "DONE": "done", "FAILED": "failed",
          "CANCELLED": "cancelled"}
COLUMNS = ("id, queue, state, payload, priority, attempt, max_attempts, created, not_before, "
           "started, finished, result, exception_type, error_code, error_message, "
           "cancel_requested")


def job_json(row):
    (id_, queue, state, payload, priority, attempt, max_attempts, created, not_before, started,
     finished, result, exc_type, error_code, error_message, cancel_requested) = row
    err = None
    if exc_type and (state == "FAILED" or error_message):
        err = {"type": exc_type, "code": error_code, "message": error_message,
               "traceback": None}
    return {"job_id": str(id_), "type": queue, "status": STATUS[state],
            "params": json.loads(payload),
            "result": json.loads(result) if result else None, "error": err,
            "attempts": attempt, "max_attempts": max_attempts, "priority": priority,
            "cancel_requested": bool(cancel_requested),
            "timeline": {"timeQueued": iso(created), "timeScheduled": iso(not_before),
                         "timeStarted": iso(started), "timeFinished": iso(finished)}}


def strong_etag(body):
    return '"%x-%s"' % (len(body), hashlib.blake2b(body, digest_size=8).hexdigest())


def make_app(db_path):
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

    app = FastAPI()
    # One connection for the event loop thread: each statement is microseconds, so the
    # handlers stay `async def` (no thread-pool hop), the fastest way to run them.
    db = connect(db_path)

    def error(status, message, **extra):
        reason = {400: "Bad Request", 404: "Not Found"}.get(status, "Error")
        body = {"error": {"status": status, "reason": reason, "message": message, **extra}}
        return Response(_dumps(body), status_code=status, media_type="application/json")

    @app.get("/healthz")
    async def healthz():
        return Response('{"status":"ok"}', media_type="application/json")

    @app.post("/api/worker/jobs")
    async def submit(request: Request):
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "body: expected a JSON object")
        if not isinstance(body, dict):
            return error(400, "body: expected a JSON object")
        type_ = body.get("type")
        if not isinstance(type_, str):
            return error(400, "type: required string")
        schema = SCHEMAS.get(type_)
        if schema is None:
            return error(404, f"unknown job type '{type_}'", types=list(SCHEMAS))
        params = body.get("params", {})
        why = validate(schema, params)
        if why:
            return error(400, why)
        now = now_ms()
        not_before = now + int(float(body.get("delay_seconds", 0)) * 1000)
        cur = db.execute(
            "INSERT INTO items(queue, state, payload, priority, max_attempts, created, "
            "not_before) VALUES(?, 'PENDING', ?, ?, ?, ?, ?)",
            (type_, _dumps(params), int(body.get("priority", 0)),
             int(body.get("max_attempts", 3)), now, not_before))
        return Response(_dumps({"job_id": str(cur.lastrowid), "status": "queued"}),
                        status_code=202, media_type="application/json")

    @app.get("/api/worker/jobs/{job_id}")
    async def get_job(job_id: str, request: Request):
        row = db.execute(f"SELECT {COLUMNS} FROM items WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return error(404, f"no work item {job_id}")
        body = _dumps(job_json(row)).encode()
        etag = strong_etag(body)
        inm = request.headers.get("if-none-match")
        if inm and (inm.strip() == "*" or etag in [t.strip().removeprefix("W/")
                                                   for t in inm.split(",")]):
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type="application/json", headers={"ETag": etag})

    return app


def worker(db_path, stop):
    """Claims one due job at a time (BEGIN IMMEDIATE), runs it, records the outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    db = connect(db_path)
    idle = 0.0
    while not stop.is_set():
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "UPDATE items SET state = 'RESERVED', attempt = attempt + 1, started = ? "
            "WHERE id = (SELECT id FROM items WHERE state = 'PENDING' AND not_before <= ? "
            "ORDER BY priority DESC, id LIMIT 1) RETURNING id, queue, payload",
            (now_ms(), now_ms())).fetchone()
        db.execute("COMMIT")
        if row is None:
            # Idle: poll with a short backoff (huey's consumer does the same, from 0.1 s).
            idle = min(0.05, idle * 2 or 0.001)
            time.sleep(idle)
            continue
        idle = 0.0
        id_, queue, payload = row
        try:
            result = HANDLERS[queue](**json.loads(payload))
            db.execute("UPDATE items SET state = 'DONE', result = ?, finished = ? WHERE id = ?",
                       (_dumps(result), now_ms(), id_))
        except BusinessError as e:
            db.execute("UPDATE items SET state = 'FAILED', exception_type = 'BUSINESS', "
                       "error_code = ?, error_message = ?, finished = ? WHERE id = ?",
                       (e.code, str(e), now_ms(), id_))
        except Exception as e:  # noqa: BLE001 - a job's failure is recorded, not raised
            db.execute("UPDATE items SET state = 'FAILED', exception_type = 'APPLICATION', "
                       "error_message = ?, finished = ? WHERE id = ?", (str(e), now_ms(), id_))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--workers", type=int, default=2, help="job worker processes")
    args = ap.parse_args()
    setup = connect(args.db)
    setup.executescript(SCHEMA)
    setup.close()
    stop = multiprocessing.Event()
    procs = [multiprocessing.Process(target=worker, args=(args.db, stop), daemon=True)
             for _ in range(args.workers)]
    for p in procs:
        p.start()
    import uvicorn
    try:
        uvicorn.run(make_app(args.db), host=args.host, port=args.port, log_level="warning",
                    access_log=False)
    finally:
        stop.set()
        for p in procs:
            p.join(5)


if __name__ == "__main__":
    main()
