"""robotni's work-item store (SQLite, schema v5 of runtime/store/sqlite/schema.cc) from
pure Python, for actions-work-items' ``SQLiteAdapter`` and its queue helpers.

The C++ store (runtime/store/sqlite) is the reference: this module writes the same rows
the same way (states PENDING/RESERVED/DONE/FAILED/CANCELLED, leases fenced by owner and
attempt, APPLICATION failures retried with backoff while attempts remain, files under
``<db dir>/work_item_files/<id>/<name>`` with size and sha256), so robotni (``robotni run``,
``robotni items``) and Python code can share one database. Each call is one short
transaction on its own connection (SQLite's locking orders it with robotni's writer).
"""

import hashlib
import json
import os
import random
import socket
import sqlite3
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

SCHEMA_VERSION = 5

# The schema robotni's migrations 1..5 leave behind, created in one step.
_SCHEMA = """
CREATE TABLE items(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  state TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  parent_id INTEGER,
  idempotency_key TEXT,
  lease_owner TEXT,
  lease_expires INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  not_before INTEGER NOT NULL DEFAULT 0,
  started INTEGER NOT NULL DEFAULT 0,
  finished INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL,
  result TEXT,
  exception_type TEXT,
  error_code TEXT,
  error_message TEXT,
  traceback TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  lease_token INTEGER NOT NULL DEFAULT 0,
  has_files INTEGER NOT NULL DEFAULT 0,
  meta TEXT
);
CREATE INDEX items_ready
  ON items(queue, priority DESC, id, not_before, cancel_requested, state) WHERE state = 'PENDING';
CREATE UNIQUE INDEX items_idempotency ON items(idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE TABLE files(
  item_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY(item_id, name)
) WITHOUT ROWID;
CREATE TABLE timeline(
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timeline_item ON timeline(item_id, id);
CREATE TRIGGER files_added AFTER INSERT ON files BEGIN
  UPDATE items SET has_files = 1 WHERE id = NEW.item_id AND has_files = 0;
END;
CREATE TRIGGER files_removed AFTER DELETE ON files BEGIN
  UPDATE items SET has_files = EXISTS(SELECT 1 FROM files WHERE item_id = OLD.item_id)
    WHERE id = OLD.item_id;
END;
CREATE INDEX items_lease ON items(lease_expires, queue, state) WHERE state = 'RESERVED';
CREATE INDEX items_final ON items(queue, state, finished) WHERE finished > 0;
CREATE TABLE schema_version(version INTEGER NOT NULL);
INSERT INTO schema_version VALUES(5);
"""

# Python reservations are not heartbeated: they hold their lease this long (the orphan
# timeout of actions-work-items); robotni's reaper requeues them after it.
LEASE_MS = 30 * 60 * 1000
# robotni's default retry policy (docs/work-items.md "Retries").
BASE_DELAY_MS, MAX_DELAY_MS, JITTER = 1000, 300_000, 0.2

_OWNER = f"robotni:{socket.gethostname()}:{os.getpid()}:py{uuid.uuid4().hex[:8]}"

FOREIGN_HINT = (
    "{path} is an actions-work-items / Action Server database (table work_items), not "
    "robotni's work-item store, and robotni does not take it over: point db_path / "
    "RC_WORKITEM_DB_PATH at another file and import this one into it with "
    "`robotni items import --from-action-server {path}`."
)


class StoreError(RuntimeError):
    """The database cannot be used as robotni's store."""


def lease_owner() -> str:
    return _OWNER


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> Optional[str]:
    """robotni's milliseconds as actions-work-items' ISO-8601 UTC text (None for unset)."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def store_path(url: str) -> Path:
    """``sqlite:///abs/path`` or a plain path, as a resolved Path."""
    if url.startswith("sqlite://"):
        url = url[len("sqlite://"):]
    return Path(url).expanduser().resolve()


def check_file_name(name: str) -> None:
    """The file-name rules of robotni's store (ValueError otherwise)."""
    if not isinstance(name, str) or not name:
        raise ValueError("file name is empty")
    if len(name.encode("utf-8")) > 255:
        raise ValueError(f"file name is {len(name.encode('utf-8'))} bytes, the limit is 255")
    if name in (".", ".."):
        raise ValueError(f"file name '{name}' is not allowed")
    if "\0" in name:
        raise ValueError("file name contains a NUL byte")
    if "/" in name or "\\" in name:
        raise ValueError(f"file name '{name}' contains a path separator ('/' or '\\')")


def _backoff_ms(attempt: int) -> int:
    delay = float(BASE_DELAY_MS)
    for _ in range(1, attempt):
        if delay >= MAX_DELAY_MS:
            break
        delay *= 2
    delay = min(delay, MAX_DELAY_MS) * (1.0 + random.uniform(-JITTER, JITTER))
    return max(0, round(delay))


def _item_id(item_id) -> int:
    try:
        value = int(str(item_id))
    except (TypeError, ValueError):
        raise ValueError(f"Work item not found: {item_id}") from None
    if value <= 0:
        raise ValueError(f"Work item not found: {item_id}")
    return value


class Store:
    """One robotni SQLite store file (created with robotni's schema when missing)."""

    def __init__(self, path, files_dir=None):
        self.path = store_path(str(path))
        self.files_dir = (
            Path(files_dir).expanduser().resolve()
            if files_dir
            else self.path.parent / "work_item_files"
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init()

    # -- connection and schema -------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _init(self) -> None:
        conn = self._connect()
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if "schema_version" in tables:
                version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
                if version is None or version < SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} has robotni store schema {version}: open it once with "
                        f"robotni (e.g. `robotni items stats --store {self.path}`) to migrate it")
                return  # newer versions only add to what this module uses
            if "work_items" in tables:
                raise StoreError(FOREIGN_HINT.format(path=self.path))
            if tables - {"sqlite_sequence"}:
                raise StoreError(f"{self.path} is not a robotni work-item store "
                                 f"(tables: {', '.join(sorted(tables))})")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                again = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
                ).fetchone()
                if again is None:
                    for statement in _split(_SCHEMA):
                        conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def _write(self, fn):
        """Run fn(conn, now) in one IMMEDIATE transaction."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, now_ms())
                conn.execute("COMMIT")
                return result
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def _read(self, fn):
        conn = self._connect()
        try:
            return fn(conn)
        finally:
            conn.close()

    # -- items -------------------------------------------------------------------------

    def create(self, queue: str, payload_json: str, parent_id=None, files=None) -> str:
        """A new PENDING item (``files``: {name: bytes}); returns its id."""
        files = dict(files or {})
        for name in files:
            check_file_name(name)

        def op(conn, now):
            cur = conn.execute(
                "INSERT INTO items(queue, state, payload, parent_id, created, updated) "
                "VALUES(?, 'PENDING', ?, ?, ?, ?)",
                (queue, payload_json, None if parent_id is None else _item_id(parent_id),
                 now, now))
            item_id = cur.lastrowid
            for name, content in files.items():
                self._put_file(conn, item_id, name, bytes(content))
            return str(item_id)

        return self._write(op)

    def reserve(self, queue: str) -> Optional[str]:
        """Lease the next PENDING item of ``queue`` (robotni's order: priority, then id)."""

        def op(conn, now):
            row = conn.execute(
                "UPDATE items SET state = 'RESERVED', lease_owner = ?1, lease_expires = ?2, "
                "attempt = attempt + 1, lease_token = lease_token + 1, started = ?3, "
                "updated = ?3 WHERE id IN (SELECT id FROM items INDEXED BY items_ready "
                "WHERE state = 'PENDING' AND queue = ?4 AND not_before <= ?3 AND "
                "cancel_requested = 0 ORDER BY priority DESC, id LIMIT 1) RETURNING id",
                (_OWNER, now + LEASE_MS, now, queue)).fetchone()
            return None if row is None else str(row[0])

        return self._write(op)

    def release(self, item_id, done: bool, exception_type=None, code=None, message=None,
                payload_json=None) -> str:
        """Finish a RESERVED item: DONE, or a failure (BUSINESS final; APPLICATION back to
        PENDING with backoff while attempts remain). Returns the state it ended in."""
        iid = _item_id(item_id)

        def op(conn, now):
            row = conn.execute(
                "SELECT state, attempt, max_attempts, cancel_requested FROM items WHERE id = ?",
                (iid,)).fetchone()
            if row is None:
                raise ValueError(f"Work item not found: {item_id}")
            if row["state"] != "RESERVED":
                raise RuntimeError(
                    f"work item {item_id} is {row['state']}, not reserved: cannot release it")
            if done:
                conn.execute(
                    "UPDATE items SET state = 'DONE', exception_type = NULL, error_code = NULL, "
                    "error_message = NULL, traceback = NULL, finished = ?2, updated = ?2, "
                    "lease_expires = 0, payload = coalesce(?3, payload) WHERE id = ?1",
                    (iid, now, payload_json))
                return "DONE"
            etype = (exception_type or "APPLICATION").upper()
            what = f"{etype}{' ' + code if code else ''}: {message or ''}"
            final = (etype == "BUSINESS" or row["attempt"] >= row["max_attempts"]
                     or row["cancel_requested"])
            if final:
                state = "CANCELLED" if row["cancel_requested"] else "FAILED"
                finished, not_before = now, None
            else:
                state, finished, not_before = "PENDING", 0, now + _backoff_ms(row["attempt"])
                conn.execute(
                    "INSERT INTO timeline(item_id, at, event, attempt, message) SELECT id, "
                    "started, 'started', attempt, coalesce(lease_owner, '') FROM items "
                    "WHERE id = ? AND started > 0 AND attempt > 0", (iid,))
            conn.execute(
                "UPDATE items SET state = ?2, exception_type = ?3, error_code = ?4, "
                "error_message = ?5, finished = ?6, not_before = coalesce(?7, not_before), "
                "updated = ?8, lease_expires = 0, lease_owner = CASE WHEN ?2 = 'PENDING' THEN "
                "NULL ELSE lease_owner END, payload = coalesce(?9, payload) WHERE id = ?1",
                (iid, state, etype, code, message, finished, not_before, now, payload_json))
            if final:
                event, text = "finished", f"{state} {what}"
            else:
                event = "retry"
                text = (f"attempt {row['attempt']} failed ({what}); retry in "
                        f"{not_before - now} ms")
            conn.execute("INSERT INTO timeline(item_id, at, event, attempt, message) "
                         "VALUES(?, ?, ?, ?, ?)", (iid, now, event, row["attempt"], text))
            return state

        return self._write(op)

    def load_payload(self, item_id) -> str:
        iid = _item_id(item_id)
        row = self._read(lambda c: c.execute(
            "SELECT payload FROM items WHERE id = ?", (iid,)).fetchone())
        if row is None:
            raise ValueError(f"Work item not found: {item_id}")
        return row[0]

    def save_payload(self, item_id, payload_json: str) -> None:
        iid = _item_id(item_id)

        def op(conn, now):
            cur = conn.execute("UPDATE items SET payload = ?, updated = ? WHERE id = ?",
                               (payload_json, now, iid))
            if cur.rowcount == 0:
                raise ValueError(f"Work item not found: {item_id}")

        self._write(op)

    def get(self, item_id) -> Optional[sqlite3.Row]:
        iid = _item_id(item_id)
        return self._read(lambda c: c.execute(
            "SELECT * FROM items WHERE id = ?", (iid,)).fetchone())

    def list(self, queue: Optional[str] = None, states=None, limit: int = 100) -> list:
        query, params = "SELECT * FROM items", []
        where = []
        if queue is not None:
            where.append("queue = ?")
            params.append(queue)
        if states:
            where.append("state IN (%s)" % ",".join("?" * len(states)))
            params.extend(states)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY created DESC, id DESC LIMIT ?"
        params.append(int(limit))
        return self._read(lambda c: c.execute(query, params).fetchall())

    def stats(self, queue: str) -> Dict[str, int]:
        rows = self._read(lambda c: c.execute(
            "SELECT state, count(*) FROM items WHERE queue = ? GROUP BY state",
            (queue,)).fetchall())
        return {r[0]: r[1] for r in rows}

    def delete(self, item_id) -> None:
        iid = _item_id(item_id)

        def op(conn, now):
            if conn.execute("SELECT 1 FROM items WHERE id = ?", (iid,)).fetchone() is None:
                raise ValueError(f"Work item not found: {item_id}")
            conn.execute("DELETE FROM files WHERE item_id = ?", (iid,))
            conn.execute("DELETE FROM timeline WHERE item_id = ?", (iid,))
            conn.execute("DELETE FROM items WHERE id = ?", (iid,))

        self._write(op)
        _remove_tree(self.files_dir / str(iid))

    def recover_expired(self, older_than_ms: Optional[int] = None) -> List[str]:
        """Put RESERVED items whose lease expired (or, with ``older_than_ms``, that were
        reserved longer ago than that) back to PENDING, as robotni's reaper does (FAILED
        when their attempts are spent). Returns the ids put back to PENDING."""

        def op(conn, now):
            if older_than_ms is None:
                rows = conn.execute(
                    "SELECT id, attempt, max_attempts, cancel_requested FROM items "
                    "WHERE state = 'RESERVED' AND lease_expires <= ?", (now,)).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, attempt, max_attempts, cancel_requested FROM items "
                    "WHERE state = 'RESERVED' AND (lease_expires <= ? OR started <= ?)",
                    (now, now - older_than_ms)).fetchall()
            recovered = []
            for r in rows:
                conn.execute(
                    "INSERT INTO timeline(item_id, at, event, attempt, message) SELECT id, "
                    "started, 'started', attempt, coalesce(lease_owner, '') FROM items "
                    "WHERE id = ? AND started > 0 AND attempt > 0", (r["id"],))
                if r["cancel_requested"]:
                    state, finished, not_before = "CANCELLED", now, None
                    msg = "lease expired; cancelled"
                elif r["attempt"] < r["max_attempts"]:
                    state, finished, not_before = "PENDING", 0, now
                    msg = "recovered (orphaned reservation); retry now"
                else:
                    state, finished, not_before = "FAILED", now, None
                    msg = "lease expired; attempts exhausted"
                conn.execute(
                    "UPDATE items SET state = ?2, exception_type = 'APPLICATION', "
                    "error_code = 'LEASE_EXPIRED', error_message = 'lease expired', "
                    "finished = ?3, not_before = coalesce(?4, not_before), updated = ?5, "
                    "lease_expires = 0, lease_owner = CASE WHEN ?2 = 'PENDING' THEN NULL "
                    "ELSE lease_owner END WHERE id = ?1",
                    (r["id"], state, finished, not_before, now))
                conn.execute("INSERT INTO timeline(item_id, at, event, attempt, message) "
                             "VALUES(?, ?, 'reaped', ?, ?)", (r["id"], now, r["attempt"], msg))
                if state == "PENDING":
                    recovered.append(str(r["id"]))
            return recovered

        return self._write(op)

    # -- files ---------------------------------------------------------------------------

    def _put_file(self, conn, iid: int, name: str, content: bytes) -> None:
        item_dir = self.files_dir / str(iid)
        item_dir.mkdir(parents=True, exist_ok=True)
        tmp = item_dir / f".{name}.tmp{os.getpid()}.{uuid.uuid4().hex[:6]}"
        tmp.write_bytes(content)
        os.replace(tmp, item_dir / name)
        conn.execute("INSERT OR REPLACE INTO files(item_id, name, size, sha256) "
                     "VALUES(?, ?, ?, ?)",
                     (iid, name, len(content), hashlib.sha256(content).hexdigest()))

    def add_file(self, item_id, name: str, content: bytes, replace: bool = True) -> None:
        check_file_name(name)
        iid = _item_id(item_id)

        def op(conn, now):
            if conn.execute("SELECT 1 FROM items WHERE id = ?", (iid,)).fetchone() is None:
                raise ValueError(f"Work item not found: {item_id}")
            if not replace and conn.execute(
                    "SELECT 1 FROM files WHERE item_id = ? AND name = ?", (iid, name)).fetchone():
                raise FileExistsError(f"File already exists: {name} in work item {item_id}")
            self._put_file(conn, iid, name, bytes(content))
            conn.execute("UPDATE items SET updated = ? WHERE id = ?", (now, iid))

        self._write(op)

    def list_files(self, item_id) -> List[str]:
        iid = _item_id(item_id)
        rows = self._read(lambda c: c.execute(
            "SELECT name FROM files WHERE item_id = ? ORDER BY name", (iid,)).fetchall())
        return [r[0] for r in rows]

    def get_file(self, item_id, name: str) -> bytes:
        check_file_name(name)
        iid = _item_id(item_id)
        row = self._read(lambda c: c.execute(
            "SELECT 1 FROM files WHERE item_id = ? AND name = ?", (iid, name)).fetchone())
        if row is None:
            raise FileNotFoundError(f"File not found: {name} in work item {item_id}")
        return (self.files_dir / str(iid) / name).read_bytes()

    def remove_file(self, item_id, name: str) -> None:
        check_file_name(name)
        iid = _item_id(item_id)

        def op(conn, now):
            cur = conn.execute("DELETE FROM files WHERE item_id = ? AND name = ?", (iid, name))
            if cur.rowcount == 0:
                raise FileNotFoundError(f"File not found: {name} (work item: {item_id})")

        self._write(op)
        try:
            (self.files_dir / str(iid) / name).unlink()
        except FileNotFoundError:
            pass


def _split(script: str) -> List[str]:
    """Statements of a script (triggers keep their inner ';')."""
    out, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            current = []
    return out


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def decode(text: Optional[str]) -> Any:
    if text is None or text == "":
        return None
    return json.loads(text)
