"""Adapters of actions-work-items (0.2.x and 0.4.x), on robotni.

* ``SQLiteAdapter(db_path=, queue_name=, output_queue_name=, files_dir=)``: robotni's own
  work-item store (the SQLite file ``db_path`` names, robotni's schema), its queues
  ``queue_name`` / ``output_queue_name``. Inside a robotni run bound to that same store
  and queues, the item calls go through the run (leases, heartbeats, fenced releases);
  otherwise through ``_store`` (pure Python, same rows).
* ``FileAdapter(input_path=, output_path=)``: a *directory* (or a ``work-items.json``
  holding ``{"workItems": [...]}``) gets actions-work-items' layout; a path to a JSON
  list file gets robocorp's (what the 0.4 shim used and robocorp templates use).

Both accept robocorp's adapter calls (``release_input(id, state, exception_dict)``,
``add_file(id, name, content)``) and actions-work-items' (``release_input(id, state,
exception_type=, code=, message=)``, ``add_file(id, name, original_name, content)``),
plus the queue helpers ``seed_input``, ``list_items``, ``get_item``, ``delete_item``,
``get_queue_stats`` and ``recover_orphaned_work_items``.
"""

import importlib
import json
import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional

from robocorp.workitems._adapters import BaseAdapter as _RcBaseAdapter
from robocorp.workitems._adapters import FileAdapter as _RcFileAdapter
from robocorp.workitems._adapters import RobotniAdapter
from robocorp.workitems._adapters._robotni import has_store, native

from . import _store
from ._exceptions import EmptyQueue, _AdapterEmptyQueue

log = logging.getLogger(__name__)

# 0.2's state names in the dicts of list_items / get_item (robotni's RESERVED is
# actions-work-items' IN_PROGRESS).
_PUBLIC_STATE = {"PENDING": "PENDING", "RESERVED": "IN_PROGRESS", "DONE": "DONE",
                 "FAILED": "FAILED", "CANCELLED": "CANCELLED"}
_STORE_STATE = {"PENDING": "PENDING", "IN_PROGRESS": "RESERVED", "RESERVED": "RESERVED",
                "DONE": "DONE", "COMPLETED": "DONE", "FAILED": "FAILED",
                "CANCELLED": "CANCELLED"}


def _plain(value):
    return value.value if isinstance(value, Enum) else value


def _is_done(state) -> bool:
    value = str(_plain(state)).upper()
    if value in ("DONE", "COMPLETED"):
        return True
    if value == "FAILED":
        return False
    raise ValueError(f"Release state must be DONE or FAILED, got {state}")


def _exception_args(exception, exception_type, code, message):
    """(type, code, message) from robocorp's dict or actions-work-items' arguments."""
    if isinstance(exception, dict):
        return (_plain(exception.get("type")), exception.get("code"), exception.get("message"))
    if exception is not None and exception_type is None:
        exception_type = exception  # actions-work-items: third positional is the type
    return _plain(exception_type), code, message


class _FileMissing(FileNotFoundError, ValueError):
    """A missing attachment: FileNotFoundError (robotni, robocorp) and ValueError
    (what actions-work-items 0.2 raised)."""


class _ItemMissing(KeyError, ValueError):
    """An unknown work item id: ValueError as actions-work-items raises it."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class BaseAdapter(_RcBaseAdapter):
    """Base class of work-item adapters (robocorp's contract; the queue helpers of
    actions-work-items raise NotImplementedError unless an adapter provides them)."""

    def seed_input(self, payload=None, files=None, queue_name=None) -> str:
        raise NotImplementedError("seed_input not implemented by this adapter")

    def list_items(self, queue_name=None, state=None, limit: int = 100) -> List[Dict[str, Any]]:
        raise NotImplementedError("list_items not implemented by this adapter")

    def get_item(self, item_id: str) -> Dict[str, Any]:
        raise NotImplementedError("get_item not implemented by this adapter")

    def delete_item(self, item_id: str) -> None:
        raise NotImplementedError("delete_item not implemented by this adapter")

    def get_queue_stats(self, queue_name=None) -> Dict[str, int]:
        raise NotImplementedError("get_queue_stats not implemented by this adapter")

    def recover_orphaned_work_items(self) -> List[str]:
        raise NotImplementedError("recover_orphaned_work_items not implemented by this adapter")


# ---------------------------------------------------------------------------------------
# SQLiteAdapter: robotni's store


def _dumps(payload) -> str:
    return json.dumps({} if payload is None else payload, ensure_ascii=False)


class SQLiteAdapter(BaseAdapter):
    """actions-work-items' SQLite adapter, on robotni's work-item store."""

    ORPHAN_TIMEOUT_MINUTES = 30

    def __init__(
        self,
        db_path: Optional[str] = None,
        queue_name: Optional[str] = None,
        output_queue_name: Optional[str] = None,
        files_dir: Optional[str] = None,
    ):
        env_queue = queue_name is None
        self._queue_name = queue_name or os.environ.get("RC_WORKITEM_QUEUE_NAME") or "default"
        self._output_queue_name = (
            output_queue_name
            or (os.environ.get("RC_WORKITEM_OUTPUT_QUEUE_NAME") if env_queue else None)
            or f"{self._queue_name}_output"
        )
        db = db_path or os.environ.get("RC_WORKITEM_DB_PATH") or "./workitems.db"
        self._store = _store.Store(db)
        self._db_path = self._store.path
        wanted = files_dir or os.environ.get("RC_WORKITEM_FILES_DIR")
        if wanted and Path(wanted).expanduser().resolve() != self._store.files_dir:
            log.warning(
                "files_dir %s ignored: robotni's store keeps the files of %s in %s",
                wanted, self._db_path, self._store.files_dir)
        self._files_dir = self._store.files_dir
        self._run = self._run_adapter()

    def _run_adapter(self) -> Optional[RobotniAdapter]:
        """robotni's adapter when this run is bound to the same store and queues."""
        if not has_store():
            return None
        url = os.environ.get("RC_WORKITEM_DB_PATH")
        mod = native()
        try:
            same = (
                url is not None
                and _store.store_path(url) == self._db_path
                and mod.input_queue() == self._queue_name
                and mod.output_queue() == self._output_queue_name
            )
        except Exception:
            return None
        return RobotniAdapter(mod) if same else None

    @property
    def db_path(self) -> Path:
        return self._db_path

    @property
    def queue_name(self) -> str:
        return self._queue_name

    @property
    def output_queue_name(self) -> str:
        return self._output_queue_name

    @property
    def files_dir(self) -> Path:
        return self._files_dir

    # -- the work-item contract -------------------------------------------------------

    def reserve_input(self) -> str:
        if self._run is not None:
            try:
                return self._run.reserve_input()
            except Exception as exc:
                if type(exc).__name__ == "EmptyQueue":
                    raise _AdapterEmptyQueue(str(exc)) from None
                raise
        item_id = self._store.reserve(self._queue_name)
        if item_id is None:
            raise _AdapterEmptyQueue(f"No work items available in queue: {self._queue_name}")
        return item_id

    def release_input(self, item_id: str, state, exception=None, exception_type=None,
                      code=None, message=None) -> None:
        done = _is_done(state)
        etype, code, message = _exception_args(exception, exception_type, code, message)
        if self._run is not None:
            exc = None if done else {"type": etype or "APPLICATION", "code": code,
                                     "message": message}
            self._run.release_input(item_id, "COMPLETED" if done else "FAILED", exc)
            return
        self._store.release(item_id, done, None if done else etype,
                            None if code in (None, "") else str(code),
                            None if message is None else str(message))

    def create_output(self, parent_id: str, payload=None) -> str:
        if self._run is not None:
            return self._run.create_output(parent_id, payload)
        return self._store.create(self._output_queue_name, _dumps(payload), parent_id)

    def load_payload(self, item_id: str):
        if self._run is not None:
            return self._run.load_payload(item_id)
        return _store.decode(self._store.load_payload(item_id))

    def save_payload(self, item_id: str, payload) -> None:
        if self._run is not None:
            return self._run.save_payload(item_id, payload)
        self._store.save_payload(item_id, _dumps(payload))

    def list_files(self, item_id: str) -> List[str]:
        if self._run is not None:
            return self._run.list_files(item_id)
        return self._store.list_files(item_id)

    def get_file(self, item_id: str, name: str) -> bytes:
        if self._run is not None:
            return self._run.get_file(item_id, name)
        try:
            return self._store.get_file(item_id, name)
        except FileNotFoundError as exc:
            raise _FileMissing(str(exc)) from None

    def add_file(self, item_id: str, name: str, *args) -> None:
        """``add_file(id, name, content)`` or ``add_file(id, name, original_name, content)``."""
        content = args[-1]
        if self._run is not None:
            return self._run.add_file(item_id, name, content)
        self._store.add_file(item_id, name, content)

    def remove_file(self, item_id: str, name: str) -> None:
        if self._run is not None:
            return self._run.remove_file(item_id, name)
        try:
            self._store.remove_file(item_id, name)
        except FileNotFoundError as exc:
            raise _FileMissing(str(exc)) from None

    def flush(self):
        if self._run is not None:
            self._run.flush()

    # -- queue helpers ------------------------------------------------------------------

    def seed_input(self, payload=None, files=None, queue_name=None) -> str:
        content = {}
        for name, value in (files or {}).items():
            content[name] = value if isinstance(value, (bytes, bytearray)) else \
                Path(value).read_bytes()
        return self._store.create(queue_name or self._queue_name, _dumps(payload),
                                  files=content)

    def _dict(self, row) -> Dict[str, Any]:
        released = _store.iso(row["finished"])
        return {
            "id": str(row["id"]),
            "queue_name": row["queue"],
            "parent_id": None if row["parent_id"] is None else str(row["parent_id"]),
            "state": _PUBLIC_STATE.get(row["state"], row["state"]),
            "payload": _store.decode(row["payload"]),
            "exception_type": row["exception_type"],
            "error_code": row["error_code"],
            "error_message": row["error_message"],
            "created_at": _store.iso(row["created"]),
            "updated_at": _store.iso(row["updated"]),
            "reserved_at": _store.iso(row["started"]) if row["state"] == "RESERVED" else None,
            "completed_at": released,
            "released_at": released,
            "files": self._store.list_files(row["id"]) if row["has_files"] else [],
            # robotni's own fields
            "attempt": row["attempt"],
            "max_attempts": row["max_attempts"],
        }

    def list_items(self, queue_name=None, state=None, limit: int = 100) -> List[Dict[str, Any]]:
        states = None
        if state is not None:
            name = str(_plain(state)).upper()
            if name not in _STORE_STATE:
                raise ValueError(f"Unknown work item state: {state}")
            states = [_STORE_STATE[name]]
        rows = self._store.list(queue_name or self._queue_name, states, limit)
        return [self._dict(r) for r in rows]

    def get_item(self, item_id: str) -> Dict[str, Any]:
        row = self._store.get(item_id)
        if row is None:
            raise _ItemMissing(f"Work item not found: {item_id}")
        return self._dict(row)

    def delete_item(self, item_id: str) -> None:
        try:
            self._store.delete(item_id)
        except ValueError as exc:
            raise _ItemMissing(str(exc)) from None

    def get_queue_stats(self, queue_name=None) -> Dict[str, int]:
        counts = self._store.stats(queue_name or self._queue_name)
        stats = {
            "pending": counts.get("PENDING", 0),
            "in_progress": counts.get("RESERVED", 0),
            "done": counts.get("DONE", 0),
            "failed": counts.get("FAILED", 0),
            "cancelled": counts.get("CANCELLED", 0),
        }
        stats["total"] = sum(counts.values())
        return stats

    def recover_orphaned_work_items(self) -> List[str]:
        """Reserved items whose lease expired or that were reserved more than 30 minutes
        ago go back to PENDING (FAILED when their attempts are spent); returns the ids
        put back."""
        timeout = int(os.environ.get("RC_WORKITEM_ORPHAN_TIMEOUT_MINUTES",
                                     self.ORPHAN_TIMEOUT_MINUTES))
        return self._store.recover_expired(timeout * 60 * 1000)


# ---------------------------------------------------------------------------------------
# FileAdapter


def _utcnow() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()


class _DirLayout:
    """actions-work-items' directory layout: ``<dir>/work-items.json`` holding
    ``{"workItems": [{id, payload, files: [names], parentId, state, createdAt}]}`` and each
    item's files in ``<dir>/<index + 1>/``."""

    def __init__(self, input_path: Path, output_path: Path):
        self.input_path = input_path
        self.output_path = output_path
        input_path.mkdir(parents=True, exist_ok=True)
        output_path.mkdir(parents=True, exist_ok=True)
        self._inputs = self._load(input_path)
        self._outputs = self._load(output_path)
        self._reserved: Dict[str, bool] = {}
        self._index = 0

    @staticmethod
    def _load(path: Path) -> list:
        file = path / "work-items.json"
        if not file.exists():
            return []
        with open(file, "r", encoding="utf-8") as fd:
            data = json.load(fd)
        if isinstance(data, list):
            return data
        return data.get("workItems", data.get("items", []))

    @staticmethod
    def _save(path: Path, items: list) -> None:
        with open(path / "work-items.json", "w", encoding="utf-8") as fd:
            json.dump({"workItems": items}, fd, indent=2, default=str)

    def _find(self, item_id: str):
        for items, path in ((self._inputs, self.input_path), (self._outputs, self.output_path)):
            for i, item in enumerate(items):
                if item.get("id") == item_id:
                    return items, path, i, item
        raise _ItemMissing(f"Work item not found: {item_id}")

    @staticmethod
    def _files_dir(path: Path, index: int) -> Path:
        files_dir = path / str(index + 1)
        files_dir.mkdir(parents=True, exist_ok=True)
        return files_dir

    def reserve_input(self) -> str:
        while self._index < len(self._inputs):
            item = self._inputs[self._index]
            item_id = item.get("id", str(self._index))
            if "id" not in item:
                item["id"] = item_id
                self._save(self.input_path, self._inputs)
            self._index += 1
            if not self._reserved.get(item_id):
                self._reserved[item_id] = True
                return item_id
        raise _AdapterEmptyQueue("No more input work items available")

    def release_input(self, item_id, state, exception=None, exception_type=None, code=None,
                      message=None):
        done = _is_done(state)
        etype, code, message = _exception_args(exception, exception_type, code, message)
        try:
            items, path, _, item = self._find(item_id)
        except KeyError:
            log.warning("Could not find input item to release: %s", item_id)
            return
        item["state"] = "DONE" if done else "FAILED"
        if not done and etype:
            item["exception"] = {"type": etype, "code": code, "message": message}
        self._save(path, items)

    def create_output(self, parent_id, payload=None) -> str:
        item_id = str(uuid.uuid4())
        self._outputs.append({"id": item_id, "payload": payload or {}, "files": [],
                              "parentId": parent_id, "state": "PENDING",
                              "createdAt": _utcnow()})
        self._save(self.output_path, self._outputs)
        return item_id

    def load_payload(self, item_id):
        return self._find(item_id)[3].get("payload", {})

    def save_payload(self, item_id, payload):
        items, path, _, item = self._find(item_id)
        item["payload"] = payload
        self._save(path, items)

    def list_files(self, item_id) -> list:
        _, path, i, item = self._find(item_id)
        files_dir = self._files_dir(path, i)
        names = sorted(f.name for f in files_dir.iterdir() if f.is_file())
        return names or list(item.get("files", []))

    def get_file(self, item_id, name) -> bytes:
        _, path, i, _ = self._find(item_id)
        file = self._files_dir(path, i) / name
        if not file.is_file():
            raise _FileMissing(f"File not found: {name}")
        return file.read_bytes()

    def add_file(self, item_id, name, *args):
        _store.check_file_name(name)
        content = args[-1]
        items, path, i, item = self._find(item_id)
        (self._files_dir(path, i) / name).write_bytes(bytes(content))
        files = item.setdefault("files", [])
        if name not in files:
            files.append(name)
        self._save(path, items)

    def remove_file(self, item_id, name):
        items, path, i, item = self._find(item_id)
        file = self._files_dir(path, i) / name
        if file.exists():
            file.unlink()
        if name in item.get("files", []):
            item["files"].remove(name)
        self._save(path, items)

    def seed_input(self, payload=None, files=None, queue_name=None) -> str:
        item_id = str(uuid.uuid4())
        item = {"id": item_id, "payload": payload or {}, "files": [], "state": "PENDING",
                "createdAt": _utcnow()}
        self._inputs.append(item)
        if files:
            files_dir = self._files_dir(self.input_path, len(self._inputs) - 1)
            for name, value in files.items():
                _store.check_file_name(name)
                data = value if isinstance(value, (bytes, bytearray)) else \
                    Path(value).read_bytes()
                (files_dir / name).write_bytes(bytes(data))
                item["files"].append(name)
        self._save(self.input_path, self._inputs)
        return item_id

    def list_items(self, queue_name=None, state=None, limit: int = 100) -> list:
        items = self._inputs + self._outputs
        if state is not None:
            name = str(_plain(state)).upper()
            name = "DONE" if name == "COMPLETED" else name
            items = [i for i in items if i.get("state") == name]
        return items[:limit]

    def get_item(self, item_id) -> dict:
        return self._find(item_id)[3]

    def delete_item(self, item_id) -> None:
        items, path, i, _ = self._find(item_id)
        shutil.rmtree(path / str(i + 1), ignore_errors=True)
        items.pop(i)
        self._save(path, items)

    def get_queue_stats(self, queue_name=None) -> dict:
        items = self._inputs + self._outputs

        def count(name):
            return sum(1 for i in items if i.get("state") == name)

        return {"pending": count("PENDING"), "in_progress": count("IN_PROGRESS"),
                "done": count("DONE"), "failed": count("FAILED"), "total": len(items)}

    def recover_orphaned_work_items(self) -> list:
        return []  # reservations live in this process only


class _ListLayout(_RcFileAdapter):
    """robocorp's layout (a JSON list file), with paths given by argument."""

    def __init__(self, input_path: Optional[Path], output_path: Optional[Path]):
        self._given = (input_path, output_path)
        super().__init__()

    def _resolve_input_path(self) -> Path:
        return self._given[0] if self._given[0] is not None else super()._resolve_input_path()

    def _resolve_output_path(self) -> Path:
        return self._given[1] if self._given[1] is not None else super()._resolve_output_path()

    def release_input(self, item_id, state, exception=None, exception_type=None, code=None,
                      message=None):
        etype, code, message = _exception_args(exception, exception_type, code, message)
        exc = None if _is_done(state) else {"type": etype or "APPLICATION", "code": code,
                                             "message": message}
        super().release_input(item_id, state, exc)

    def add_file(self, item_id, name, *args):
        super().add_file(item_id, name, args[-1])

    def reserve_input(self) -> str:
        try:
            return super().reserve_input()
        except EmptyQueue:
            raise
        except Exception as exc:
            if type(exc).__name__ == "EmptyQueue":
                raise _AdapterEmptyQueue(str(exc)) from None
            raise


def _is_list_file(path: Path) -> bool:
    """A robocorp JSON list file (not a directory or a ``{"workItems": ...}`` file)."""
    if path.is_dir():
        return False
    if path.is_file():
        try:
            with open(path, "r", encoding="utf-8") as fd:
                data = json.load(fd)
        except (OSError, ValueError):
            return True  # robocorp's adapter reports it as an invalid work items file
        return not isinstance(data, dict)
    return path.suffix.lower() == ".json"


def _dir_of(path: Path) -> Path:
    return path.parent if path.is_file() else path


class FileAdapter(BaseAdapter):
    """Local work items in files: actions-work-items' directory layout, or robocorp's
    JSON list file when the path names one (see the module docstring)."""

    def __init__(self, input_path: Optional[str] = None, output_path: Optional[str] = None):
        from . import _version

        inp = input_path or os.environ.get("RC_WORKITEM_INPUT_PATH") or \
            os.environ.get("RPA_INPUT_WORKITEM_PATH")
        out = output_path or os.environ.get("RC_WORKITEM_OUTPUT_PATH") or \
            os.environ.get("RPA_OUTPUT_WORKITEM_PATH")
        inp_p = Path(inp).expanduser().resolve() if inp else None
        out_p = Path(out).expanduser().resolve() if out else None
        probe = inp_p or out_p
        if probe is not None:
            list_layout = _is_list_file(probe)
        else:
            list_layout = _version.current() != "0.2"
        if list_layout:
            self._impl = _ListLayout(inp_p, out_p)
            self.layout = "list"
        else:
            self._impl = _DirLayout(
                _dir_of(inp_p) if inp_p else Path("./output/work-items-in").resolve(),
                _dir_of(out_p) if out_p else Path("./output/work-items-out").resolve())
            self.layout = "directory"

    @property
    def input_path(self) -> Path:
        return self._impl.input_path

    @property
    def output_path(self) -> Path:
        return self._impl.output_path

    def reserve_input(self):
        return self._impl.reserve_input()

    def release_input(self, item_id, state, exception=None, exception_type=None, code=None,
                      message=None):
        return self._impl.release_input(item_id, state, exception, exception_type, code,
                                        message)

    def create_output(self, parent_id, payload=None):
        return self._impl.create_output(parent_id, payload)

    def load_payload(self, item_id):
        return self._impl.load_payload(item_id)

    def save_payload(self, item_id, payload):
        return self._impl.save_payload(item_id, payload)

    def list_files(self, item_id):
        return self._impl.list_files(item_id)

    def get_file(self, item_id, name):
        return self._impl.get_file(item_id, name)

    def add_file(self, item_id, name, *args):
        return self._impl.add_file(item_id, name, *args)

    def remove_file(self, item_id, name):
        return self._impl.remove_file(item_id, name)

    def _helper(self, name):
        fn = getattr(self._impl, name, None)
        if fn is None:
            raise NotImplementedError(
                f"{name} needs actions-work-items' directory layout (input_path / "
                "output_path naming directories); this FileAdapter reads a robocorp list file")
        return fn

    def seed_input(self, payload=None, files=None, queue_name=None):
        return self._helper("seed_input")(payload, files, queue_name)

    def list_items(self, queue_name=None, state=None, limit: int = 100):
        return self._helper("list_items")(queue_name, state, limit)

    def get_item(self, item_id):
        return self._helper("get_item")(item_id)

    def delete_item(self, item_id):
        return self._helper("delete_item")(item_id)

    def get_queue_stats(self, queue_name=None):
        return self._helper("get_queue_stats")(queue_name)

    def recover_orphaned_work_items(self):
        return self._helper("recover_orphaned_work_items")()


# ---------------------------------------------------------------------------------------
# Selection

_FILE = ("file", "fileadapter", "actions.work_items.fileadapter",
         "actions.work_items._adapters._file.fileadapter",
         "rpa.robocorp.workitems.fileadapter")
_SQLITE = ("sqlite", "sqliteadapter", "actions.work_items.sqliteadapter",
           "actions.work_items._adapters._sqlite.sqliteadapter")
_ROBOTNI = ("robotni", "robotniadapter", "robocorp.workitems.robotniadapter")


def create_adapter(adapter_type: Optional[str] = None, **kwargs) -> BaseAdapter:
    """Create the work item adapter.

    1. explicit ``adapter_type`` or RC_WORKITEM_ADAPTER (``file``, ``sqlite``,
       ``robotni`` -- case-insensitive -- or a dotted class path);
    2. inside a robotni run bound to a store: that store (robotni's adapter);
    3. FileAdapter when RC_WORKITEM_INPUT_PATH / RC_WORKITEM_OUTPUT_PATH are set;
    4. otherwise SQLiteAdapter: robotni's store at RC_WORKITEM_DB_PATH (default
       ``./workitems.db``), queue RC_WORKITEM_QUEUE_NAME (default ``default``).
    """
    if adapter_type is None:
        adapter_type = os.environ.get("RC_WORKITEM_ADAPTER", "")
    adapter_type = (adapter_type or "").strip()
    normalized = adapter_type.replace("-", "_").lower()

    if normalized in _FILE:
        return FileAdapter(**kwargs)
    if normalized in _ROBOTNI:
        return _RunAdapter()
    if normalized in _SQLITE:
        if has_store() and not kwargs:
            return _RunAdapter()
        return SQLiteAdapter(**kwargs)
    if adapter_type:
        module_path, _, class_name = adapter_type.rpartition(".")
        if not module_path:
            raise ValueError(f"Unknown work item adapter: {adapter_type}")
        module = importlib.import_module(module_path)
        return getattr(module, class_name)(**kwargs)

    if has_store():
        return _RunAdapter()

    if (
        os.environ.get("RC_WORKITEM_INPUT_PATH")
        or os.environ.get("RC_WORKITEM_OUTPUT_PATH")
        or os.environ.get("RPA_INPUT_WORKITEM_PATH")
        or os.environ.get("RPA_OUTPUT_WORKITEM_PATH")
    ):
        return FileAdapter(**kwargs)

    return SQLiteAdapter(**kwargs)


class _RunAdapter(RobotniAdapter):
    """robotni's adapter for the run's own store and queues, plus actions-work-items'
    queue helpers (on the same store file, RC_WORKITEM_DB_PATH)."""

    _admin: Optional[SQLiteAdapter] = None

    def _helpers(self) -> SQLiteAdapter:
        if self._admin is None:
            if not os.environ.get("RC_WORKITEM_DB_PATH"):
                raise NotImplementedError(
                    "the queue helpers need RC_WORKITEM_DB_PATH (set by robotni run)")
            self._admin = SQLiteAdapter()
        return self._admin

    def seed_input(self, payload=None, files=None, queue_name=None) -> str:
        return self._helpers().seed_input(payload, files, queue_name)

    def list_items(self, queue_name=None, state=None, limit: int = 100):
        return self._helpers().list_items(queue_name, state, limit)

    def get_item(self, item_id):
        return self._helpers().get_item(item_id)

    def delete_item(self, item_id):
        return self._helpers().delete_item(item_id)

    def get_queue_stats(self, queue_name=None):
        return self._helpers().get_queue_stats(queue_name)

    def recover_orphaned_work_items(self):
        return self._helpers().recover_orphaned_work_items()
