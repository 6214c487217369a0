"""State of robocorp.log in one interpreter: the general settings, the redaction
rules and the run being recorded (written to log.html when the run ends).

robotni keeps the log in memory and renders one self-contained HTML page at the end
of the run (robocorp-log writes a rotating binary-ish message stream and embeds it in
a React viewer); the records are the same kinds: run, tasks, messages, exceptions,
console messages, plus one row per work item.
"""

import re
import sys
import time
from typing import Any, Dict, List, Optional

from .protocols import Status

# --- General settings (setup_log) --------------------------------------------------

_LEVELS = ("debug", "info", "warn", "critical")
_STATUS_OF = {"debug": Status.DEBUG, "info": Status.INFO, "warn": Status.WARN,
              "critical": Status.ERROR}
_LEVEL_OF_STATUS = {v: k for k, v in _STATUS_OF.items()}


def _accepted(level: str) -> frozenset:
    if level == "none":
        return frozenset()
    idx = _LEVELS.index(level)
    return frozenset(_STATUS_OF[x] for x in _LEVELS[idx:])


class GeneralLogConfig:
    def __init__(self) -> None:
        self.max_value_repr_size = 200 * 1024
        self._log_level = "debug"
        self._output_log_level = "none"
        self._accept = _accepted("debug")
        self._accept_output = _accepted("none")
        self.output_stream: Any = "stdout"

    @property
    def log_level(self) -> str:
        return self._log_level

    @log_level.setter
    def log_level(self, value: str) -> None:
        value = str(value).lower()
        self._accept = _accepted(value)
        self._log_level = value

    @property
    def output_log_level(self) -> str:
        return self._output_log_level

    @output_log_level.setter
    def output_log_level(self, value: str) -> None:
        value = str(value).lower()
        self._accept_output = _accepted(value)
        self._output_log_level = value

    def accept_log_level(self, status: str) -> bool:
        return status in self._accept

    def accept_output_log_level(self, status: str) -> bool:
        return status in self._accept_output

    def get_output_stream_name(self, status: str) -> str:
        stream = self.output_stream
        if isinstance(stream, dict):
            level = _LEVEL_OF_STATUS.get(status, "info")
            for key, value in stream.items():
                key = getattr(key, "value", key)
                if str(key).lower() == level:
                    return value
            return "stdout"
        return stream or "stdout"


general_config = GeneralLogConfig()


# --- Sensitive variable names ------------------------------------------------------

class SensitiveVariableNames:
    """Variable names whose values are hidden. Patterns match the whole name
    (``re.match``), case-insensitively; names are substrings."""

    def __init__(self, defaults) -> None:
        self._patterns: List = []
        self._cache: Dict[str, bool] = {}
        for name in defaults:
            self.add_sensitive_variable_name(name)

    def is_sensitive_variable_name(self, variable_name: str) -> bool:
        try:
            return self._cache[variable_name]
        except KeyError:
            pass
        result = any(p.match(variable_name) for p in self._patterns)
        self._cache[variable_name] = result
        return result

    def add_sensitive_variable_name(self, variable_name: str) -> None:
        if not variable_name:
            raise ValueError(
                "Error: empty string cannot be used to match sensitive variable names.")
        self.add_sensitive_variable_name_pattern(f".*{re.escape(variable_name)}.*")

    def add_sensitive_variable_name_pattern(self, pattern) -> None:
        if isinstance(pattern, str):
            if not pattern:
                raise ValueError(
                    "Error: empty string cannot be used to match sensitive variable names.")
            self._patterns.append(re.compile(pattern, re.IGNORECASE | re.DOTALL))
        elif isinstance(pattern, re.Pattern):
            self._patterns.append(pattern)
        else:
            raise ValueError(f"Expected a str or Pattern. Received: {type(pattern)}.")
        self._cache.clear()


# robocorp-log: password, passwd. robotni adds secret and token (and matches any case).
sensitive_names = SensitiveVariableNames(("password", "passwd", "secret", "token"))


# --- Redaction (hide_from_output) --------------------------------------------------

class _NotifyingSet:
    """A set that tells the redacter when it changes (hide_strings_config())."""

    def __init__(self, initial, on_change) -> None:
        self._data = set(initial)
        self._on_change = on_change

    def add(self, value) -> None:
        if value not in self._data:
            self._data.add(value)
            self._on_change()

    def discard(self, value) -> None:
        if value in self._data:
            self._data.discard(value)
            self._on_change()

    def update(self, values) -> None:
        n = len(self._data)
        self._data.update(values)
        if len(self._data) != n:
            self._on_change()

    def clear(self) -> None:
        if self._data:
            self._data.clear()
            self._on_change()

    def pop(self):
        value = self._data.pop()
        self._on_change()
        return value

    def remove(self, value) -> None:
        self._data.remove(value)
        self._on_change()

    def __contains__(self, value) -> bool:
        return value in self._data

    def __iter__(self):
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"{{{', '.join(sorted(repr(x) for x in self._data))}}}"


class RedactConfiguration:
    def __init__(self, on_change) -> None:
        self._on_change = on_change
        self._dont_hide = _NotifyingSet(("None", "True", "False"), on_change)
        self._hide = _NotifyingSet((), on_change)
        self._min = 2

    @property
    def dont_hide_strings(self):
        return self._dont_hide

    @property
    def hide_strings(self):
        return self._hide

    @property
    def dont_hide_strings_smaller_or_equal_to(self) -> int:
        return self._min

    @dont_hide_strings_smaller_or_equal_to.setter
    def dont_hide_strings_smaller_or_equal_to(self, value: int) -> None:
        assert isinstance(value, int), f"Expected int. Found: {value}."
        self._min = value
        self._on_change()


class LogRedacter:
    REPLACEMENT = "<redacted>"

    def __init__(self) -> None:
        self._re = None
        self._dirty = False
        self.config = RedactConfiguration(self._changed)

    def _changed(self) -> None:
        self._dirty = True

    def hide_from_output(self, string_to_hide: str) -> None:
        self.config.hide_strings.add(str(string_to_hide))

    def _compile(self) -> None:
        self._dirty = False
        cfg = self.config
        words = [s for s in cfg.hide_strings
                 if s and s not in cfg.dont_hide_strings
                 and len(s) > cfg.dont_hide_strings_smaller_or_equal_to]
        # Longest first, so that a secret containing another one is hidden whole.
        words.sort(key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(w) for w in words)) if words else None

    def redact(self, s: str) -> str:
        if self._dirty:
            self._compile()
        if self._re is None or not s:
            return s
        return self._re.sub(self.REPLACEMENT, s)

    def redact_obj(self, obj):
        """Redact every string inside a JSON-like structure."""
        if self._dirty:
            self._compile()
        if self._re is None:
            return obj
        if isinstance(obj, str):
            return self._re.sub(self.REPLACEMENT, obj)
        if isinstance(obj, dict):
            return {self.redact_obj(k): self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.redact_obj(v) for v in obj]
        return obj


redacter = LogRedacter()


def hide_value(value) -> None:
    """Hide a value found under a sensitive name: its str() and its repr()."""
    if value is None or isinstance(value, bool):
        return
    s = str(value)
    redacter.hide_from_output(s)
    r = repr(value)
    if r.startswith(("'", '"')) and r.endswith(("'", '"')):
        r = r[1:-1]
    if r != s:
        redacter.hide_from_output(r)


def hide_sensitive_in(obj, depth: int = 0) -> None:
    """Hide the values under sensitive keys of a (nested) mapping."""
    if depth > 8:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and sensitive_names.is_sensitive_variable_name(k):
                if isinstance(v, (dict, list)):
                    hide_sensitive_in(v, depth + 1)
                    for leaf in _leaves(v):
                        hide_value(leaf)
                else:
                    hide_value(v)
            elif isinstance(v, (dict, list)):
                hide_sensitive_in(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, (dict, list)):
                hide_sensitive_in(v, depth + 1)


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


# --- Suppression --------------------------------------------------------------------

class Suppress:
    variables = 0
    methods = 0


# --- The run being recorded ---------------------------------------------------------

MAX_EVENTS_PER_SCOPE = 2000
MAX_ITEM_ROWS = 500
MAX_FAILED_ITEM_ROWS = 500
MAX_REPR = 500  # characters of a variable or payload shown in the page


def clip(s: str, limit: Optional[int] = None) -> str:
    limit = min(limit or MAX_REPR, general_config.max_value_repr_size)
    if len(s) > limit:
        return s[:limit] + f"... ({len(s) - limit} more characters)"
    return s


class Scope:
    """Something that holds events: the run, a task or a work item."""

    def __init__(self) -> None:
        self.events: List[dict] = []
        self.dropped = 0

    def add(self, event: dict) -> None:
        if len(self.events) < MAX_EVENTS_PER_SCOPE:
            self.events.append(event)
        else:
            self.dropped += 1


class ItemRecord(Scope):
    def __init__(self, item_id: str, index: int, payload: str) -> None:
        super().__init__()
        self.id = item_id
        self.index = index
        self.payload = payload
        self.start = time.time()
        self.end: Optional[float] = None
        self.state: Optional[str] = None
        self.exception: Optional[dict] = None


class TaskRecord(Scope):
    def __init__(self, name, libname, source, lineno, doc) -> None:
        super().__init__()
        self.name = name
        self.libname = libname
        self.source = source
        self.lineno = lineno
        self.doc = doc
        self.start = time.time()
        self.end: Optional[float] = None
        self.status = Status.NOT_RUN
        self.message = ""
        self.arguments: List[tuple] = []
        self.items: List[ItemRecord] = []
        self.item_counts = {"reserved": 0, "done": 0, "failed": 0, "unreleased": 0}
        self.items_not_shown = 0
        self.current_item: Optional[ItemRecord] = None
        self._item_by_obj: Dict[int, ItemRecord] = {}
        self._failed_rows = 0


class RunRecord(Scope):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.start = time.time()
        self.end: Optional[float] = None
        self.status = "NOT_RUN"
        self.tasks: List[TaskRecord] = []
        self.current_task: Optional[TaskRecord] = None


class Recorder:
    """Collects the records of runs while at least one log output is open."""

    def __init__(self) -> None:
        self.run: Optional[RunRecord] = None
        self.outputs: list = []  # open outputs (each renders the run when closed)

    @property
    def active(self) -> bool:
        return bool(self.outputs)

    def scope(self) -> Optional[Scope]:
        run = self.run
        if run is None:
            return None
        task = run.current_task
        if task is None:
            return run
        return task.current_item or task

    def add_event(self, event: dict) -> None:
        scope = self.scope()
        if scope is not None:
            scope.add(event)
        for out in self.outputs:
            write = getattr(out, "write_event", None)
            if write is not None:
                write(event)

    # lifecycle
    def start_run(self, name: str) -> None:
        self.run = RunRecord(name)

    def end_run(self, name: str, status: str) -> None:
        run = self.run
        if run is None:
            return
        run.end = time.time()
        run.status = status

    def start_task(self, name, libname, source, lineno, doc="") -> None:
        run = self.run
        if run is None:
            self.start_run(name)
            run = self.run
        task = TaskRecord(name, libname, source, lineno, doc)
        run.tasks.append(task)
        run.current_task = task

    def end_task(self, name, libname, status, message) -> None:
        run = self.run
        if run is None or run.current_task is None:
            return
        task = run.current_task
        task.end = time.time()
        task.status = str(getattr(status, "value", status))
        task.message = message or ""
        if task.current_item is not None and task.current_item.state is None:
            task.item_counts["unreleased"] += 1
            task.current_item.end = task.end
        task.current_item = None
        run.current_task = None

    # work items
    def item_reserved(self, item) -> None:
        run = self.run
        task = run.current_task if run is not None else None
        if task is None:
            return
        task.item_counts["reserved"] += 1
        if len(task.items) >= MAX_ITEM_ROWS:
            task.items_not_shown += 1
            task.current_item = None
            return
        counts = task.item_counts
        payload = getattr(item, "_payload", None)
        try:
            import json

            hide_sensitive_in(payload)
            text = json.dumps(payload, ensure_ascii=False, default=str)
        except Exception:
            text = repr(payload)
        rec = ItemRecord(str(item.id), counts["reserved"], clip(text, 300))
        task.items.append(rec)
        task._item_by_obj[id(item)] = rec
        task.current_item = rec

    def item_released(self, item) -> None:
        run = self.run
        task = run.current_task if run is not None else None
        if task is None:
            return
        state = getattr(item, "_state", None)
        failed = state == "FAILED"  # State is a str enum (DONE is "COMPLETED")
        counts = task.item_counts
        if failed:
            counts["failed"] += 1
        else:
            counts["done"] += 1
        rec = task._item_by_obj.pop(id(item), None)
        if rec is None:
            if not failed or task._failed_rows >= MAX_FAILED_ITEM_ROWS:
                return
            rec = ItemRecord(str(item.id), 0, "")
            rec.start = 0.0
            task.items.append(rec)
            task.items_not_shown -= 1
        rec.end = time.time()
        rec.state = str(getattr(state, "value", state))
        if failed:
            task._failed_rows += 1
            exc = getattr(item, "exception", None)
            if exc:
                rec.exception = dict(exc)
            einfo = sys.exc_info()
            if einfo[0] is not None and not issubclass(einfo[0], GeneratorExit):
                rec.add(exception_event(einfo, unhandled=True))
        if task.current_item is rec:
            task.current_item = None


recorder = Recorder()


# --- Exceptions ---------------------------------------------------------------------

_LIB_PREFIXES: Optional[tuple] = None


def _library_prefixes() -> tuple:
    global _LIB_PREFIXES
    if _LIB_PREFIXES is None:
        import os
        import sysconfig

        prefixes = set()
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            try:
                prefixes.add(os.path.realpath(sysconfig.get_path(key)))
            except Exception:
                pass
        for p in sys.path:
            if p and ("site-packages" in p or "dist-packages" in p):
                prefixes.add(os.path.realpath(p))
        shims = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        prefixes.add(os.path.realpath(shims))
        _LIB_PREFIXES = tuple(p.rstrip("/") + "/" for p in prefixes if p)
    return _LIB_PREFIXES


def is_project_file(filename: str) -> bool:
    if not filename or filename.startswith("<"):
        return False
    import os

    real = os.path.realpath(filename)
    return not real.startswith(_library_prefixes())


def _safe_repr(value) -> str:
    try:
        return repr(value)
    except Exception as e:  # a broken __repr__ must not break the log
        return f"<repr error: {type(e).__name__}: {e}>"


def exception_event(exc_info, unhandled: bool = False) -> dict:
    """An exception record: title, Python's traceback text, and the variables of
    the project's frames (sensitive names hidden)."""
    import traceback

    etype, value, tb = exc_info
    text = "".join(traceback.format_exception(etype, value, tb))
    frames = []
    hide_vars = Suppress.variables > 0 or getattr(value, "__robocorp_log_hide_vars__", False)
    t = tb
    while t is not None:
        frame = t.tb_frame
        code = frame.f_code
        entry = {"file": code.co_filename, "line": t.tb_lineno, "name": code.co_name,
                 "vars": []}
        if is_project_file(code.co_filename) and not hide_vars:
            for k, v in list(frame.f_locals.items())[:50]:
                if k.startswith("__"):
                    continue
                r = clip(_safe_repr(v))
                if sensitive_names.is_sensitive_variable_name(k):
                    hide_value(v)
                    r = LogRedacter.REPLACEMENT
                entry["vars"].append((k, r))
        frames.append(entry)
        t = t.tb_next
    return {"kind": "exception", "time": time.time(),
            "title": f"{etype.__name__}: {value}", "traceback": text, "frames": frames,
            "unhandled": unhandled}
