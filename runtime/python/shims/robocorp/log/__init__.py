"""robocorp.log for robotni: the API robots call (robocorp-log 3.x names), standard
library only.

    from robocorp import log

    log.info("Processing", order_id)
    log.hide_from_output(api_key)
    with log.suppress_variables():
        ...

robocorp.tasks (robotni's runner) records the run, its tasks and one row per work
item and writes ``<output dir>/log.html`` (one self-contained page) when the run
ends. robotni does not rewrite module code to trace every call and assignment
(robocorp-log's auto-logging): the page has the messages, console messages,
exceptions with the variables of the failing frames, tasks and work items.
"""

import enum
import os
import sys
import threading
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import IO, Any, Callable, Iterator, List, Optional, Sequence, Union

from . import _state
from ._state import general_config as _general_log_config
from .protocols import IReadLines, LogHTMLStyle, Status

__version__ = "3.1.3"
version_info = [int(x) for x in __version__.split(".")]

_recorder = _state.recorder


# --- Messages -----------------------------------------------------------------------

class _ConsoleMessagesLock:
    tlocal = threading.local()


def _log(level: str, message: Sequence[Any], html: bool = False) -> None:
    cfg = _general_log_config
    in_log = cfg.accept_log_level(level)
    in_output = cfg.accept_output_log_level(level)
    if not in_log and not in_output:
        return
    m = " ".join(str(x) for x in message)
    if in_log and _recorder.outputs:
        import time

        _recorder.add_event({"kind": "message", "level": level, "time": time.time(),
                             "text": m, "html": html})
    if in_output and not html:
        tl = _ConsoleMessagesLock.tlocal
        if getattr(tl, "writing", False):
            return
        tl.writing = True
        try:
            stream = cfg.get_output_stream_name(level)
            text = _state.redacter.redact(m)
            if stream == "stdout":
                print(text)
            elif stream == "stderr":
                print(text, file=sys.stderr)
            else:
                raise RuntimeError(f"Unexpected output stream name: {stream}")
        finally:
            tl.writing = False


def critical(*message: Any) -> None:
    """Adds a message with the critical (error) level."""
    _log(Status.ERROR, message)


def warn(*message: Any) -> None:
    """Adds a message with the warn level."""
    _log(Status.WARN, message)


def info(*message: Any) -> None:
    """Adds a message with the info level."""
    _log(Status.INFO, message)


def debug(*message: Any) -> None:
    """Adds a message with the debug level."""
    _log(Status.DEBUG, message)


def exception(*message: Any) -> None:
    """Adds the exception being handled (with its traceback) to the log, and
    ``message`` (if given) as an error message."""
    if message:
        _log(Status.ERROR, message)
    exc_info = sys.exc_info()
    if exc_info[0] is None or not _recorder.outputs:
        return
    _recorder.add_event(_state.exception_event(exc_info, unhandled=True))


def html(html: str, level: str = "INFO") -> None:
    """Adds html contents to the log (never printed to the console)."""
    assert level in ("ERROR", "WARN", "INFO")
    _log(level, (html,), html=True)


def process_snapshot() -> None:
    """Adds a dump of the running threads' stacks to the log."""
    if not _recorder.outputs:
        return
    import time
    import traceback

    frames = sys._current_frames()
    lines = []
    for t in threading.enumerate():
        frame = frames.get(t.ident)
        lines.append(f"Thread {t.name} (daemon={t.daemon}):")
        if frame is not None:
            lines.extend("  " + x.rstrip("\n") for x in traceback.format_stack(frame))
    _recorder.add_event({"kind": "console", "stream": "threads", "time": time.time(),
                         "text": "\n".join(lines)})


class ConsoleMessageKind:
    STDOUT = "stdout"
    STDERR = "stderr"
    REGULAR = "regular"
    IMPORTANT = "important"
    TASK_NAME = "task_name"
    ERROR = "error"
    TRACEBACK = "traceback"


class _SentinelUseStdout:
    def __repr__(self):
        return "_SentinelUseStdout"

    __str__ = __repr__


def console_message(message: str, kind: str,
                    stream: Union[Optional[IO], _SentinelUseStdout] = _SentinelUseStdout(),
                    *, flush: Optional[bool] = None) -> None:
    """Shows ``message`` in the console (sys.stdout unless ``stream`` says otherwise;
    ``stream=None``: not shown) and adds it to the log. No newline is added."""
    tl = _ConsoleMessagesLock.tlocal
    if getattr(tl, "writing", False):
        return
    tl.writing = True
    try:
        if _recorder.outputs:
            import time

            _recorder.add_event({"kind": "console", "stream": str(kind), "time": time.time(),
                                 "text": message})
        if isinstance(stream, _SentinelUseStdout):
            stream = sys.stdout
        if stream is not None:
            stream.write(message)
            if flush is None:
                flush = message.endswith("\n")
            if flush:
                try:
                    stream.flush()
                except Exception:
                    pass
    finally:
        tl.writing = False


# --- Suppressing ----------------------------------------------------------------------

@contextmanager
def _suppress_contextmanager(variables=True, methods=True):
    if variables:
        _state.Suppress.variables += 1
    if methods:
        _state.Suppress.methods += 1
    try:
        yield
    except BaseException as e:
        # The variables of an exception raised in a suppressed scope stay out of the
        # log, also when it is logged later, outside the scope.
        if variables:
            try:
                e.__robocorp_log_hide_vars__ = True
            except Exception:
                pass
        raise
    finally:
        if variables:
            _state.Suppress.variables -= 1
        if methods:
            _state.Suppress.methods -= 1


class _DecoratorOrCtx:
    def __init__(self, args, kwargs):
        self._args = args
        self._kwargs = kwargs
        self._ctx = None

    def __enter__(self):
        self._ctx = _suppress_contextmanager(*self._args, **self._kwargs)
        self._ctx.__enter__()

    def __exit__(self, exc_type, exc_val, exc_tb):
        ctx, self._ctx = self._ctx, None
        ctx.__exit__(exc_type, exc_val, exc_tb)

    def __call__(self, func):
        args, kwargs = self._args, self._kwargs

        @wraps(func)
        def new_func(*a, **kw):
            with _suppress_contextmanager(*args, **kwargs):
                return func(*a, **kw)

        return new_func


def suppress(*args, **kwargs):
    """Suppress logging (variables and/or methods) as a decorator (``@suppress``,
    ``@suppress(methods=False)``) or a context manager (``with suppress():``).

    In robotni, suppressing variables keeps the variables of failing frames out of
    the log; methods are never logged (no auto-logging)."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return _DecoratorOrCtx((), {})(args[0])
    return _DecoratorOrCtx(args, kwargs)


def suppress_methods(func=None):
    """Context manager or decorator (``@suppress_methods()``; robotni also takes
    the bare ``@suppress_methods`` its docstring shows): methods are not logged."""
    ret = suppress(variables=False, methods=True)
    return ret if func is None else ret(func)


def suppress_variables(func=None):
    """Context manager or decorator (``@suppress_variables()``; robotni also takes
    the bare ``@suppress_variables`` its docstring shows): variables are not logged."""
    ret = suppress(variables=True, methods=False)
    return ret if func is None else ret(func)


# --- Sensitive data -----------------------------------------------------------------

def is_sensitive_variable_name(variable_name: str) -> bool:
    """Whether values of a variable with this name are hidden."""
    return bool(_state.sensitive_names.is_sensitive_variable_name(variable_name))


def add_sensitive_variable_name(variable_name: str) -> None:
    """Variables whose name contains ``variable_name`` are hidden."""
    _state.sensitive_names.add_sensitive_variable_name(variable_name)


def add_sensitive_variable_name_pattern(variable_name_pattern: str) -> None:
    """Variables whose name matches the regular expression are hidden."""
    _state.sensitive_names.add_sensitive_variable_name_pattern(variable_name_pattern)


def hide_from_output(string_to_hide: str) -> None:
    """``string_to_hide`` is replaced by ``<redacted>`` everywhere in the log (and in
    the messages setup_log prints to the console)."""
    _state.redacter.hide_from_output(string_to_hide)


IRedactConfiguration = _state.RedactConfiguration


def hide_strings_config() -> "_state.RedactConfiguration":
    """The redaction settings: ``hide_strings``, ``dont_hide_strings`` and
    ``dont_hide_strings_smaller_or_equal_to`` (default 2)."""
    return _state.redacter.config


# --- Records the framework adds -------------------------------------------------------

def start_run(name: str) -> None:
    """Starts a run (robocorp.tasks calls this)."""
    if _recorder.outputs:
        _recorder.start_run(name)


def end_run(name: str, status: str) -> None:
    """Ends a run (robocorp.tasks calls this)."""
    if _recorder.outputs:
        _recorder.end_run(name, status)


def start_task(name: str, libname: str, source: str, lineno: int, doc: str = "") -> None:
    """Starts a task (robocorp.tasks calls this)."""
    if _recorder.outputs:
        _recorder.start_task(name, libname, source, lineno, doc)


def end_task(name: str, libname: str, status: str, message: str) -> None:
    """Ends a task (robocorp.tasks calls this)."""
    if _recorder.outputs:
        _recorder.end_task(name, libname, status, message)


# --- Settings -------------------------------------------------------------------------

class FilterLogLevel(enum.Enum):
    DEBUG = "debug"
    WARN = "warn"
    INFO = "info"
    CRITICAL = "critical"
    NONE = "none"


class _OnExit:
    def __init__(self, on_exit):
        self._on_exit = on_exit

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self._on_exit()


def _convert_to_bytes(value) -> int:
    if isinstance(value, int):
        return value
    s = str(value).strip().lower()
    mult = 1
    for suffix, m in (("kb", 1024), ("mb", 1024 ** 2), ("gb", 1024 ** 3), ("k", 1024),
                      ("m", 1024 ** 2), ("g", 1024 ** 3), ("b", 1)):
        if s.endswith(suffix):
            s, mult = s[: -len(suffix)].strip(), m
            break
    return int(float(s) * mult)


def setup_log(*, max_value_repr_size=None, log_level=None, output_log_level=None,
              output_stream=None):
    """General settings: ``log_level`` (messages kept in log.html, default debug),
    ``output_log_level`` (messages printed, default none), ``output_stream``
    ("stdout", "stderr" or a dict level -> stream), ``max_value_repr_size``.
    Returns a context manager that restores the previous settings."""
    cfg = _general_log_config
    prev = {}
    if max_value_repr_size:
        prev["max_value_repr_size"] = cfg.max_value_repr_size
        cfg.max_value_repr_size = _convert_to_bytes(max_value_repr_size)
    if log_level:
        prev["log_level"] = cfg.log_level
        cfg.log_level = getattr(log_level, "value", log_level)
    if output_log_level:
        prev["output_log_level"] = cfg.output_log_level
        cfg.output_log_level = getattr(output_log_level, "value", output_log_level)
    if output_stream:
        prev["output_stream"] = cfg.output_stream
        cfg.output_stream = output_stream

    def on_exit():
        for k, v in prev.items():
            setattr(cfg, k, v)

    return _OnExit(on_exit)


class _HtmlOutput:
    """A log output that renders the run into a log.html when closed."""

    def __init__(self, log_html) -> None:
        self.log_html = Path(log_html) if log_html else None
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        run = _recorder.run
        if not _recorder.outputs:
            _recorder.run = None  # the next run starts afresh (warm interpreters)
        if self.log_html is not None and run is not None:
            from . import _html

            target = os.path.abspath(self.log_html)
            print(f"Log (html): {target}")  # as robocorp-log's output prints it
            _html.write(run, self.log_html)


class _WriteOutput:
    """add_in_memory_log_output: each record is passed as one JSON line."""

    def __init__(self, write) -> None:
        self._write = write
        self.closed = False

    def write_event(self, event) -> None:
        import json

        ev = dict(event)
        ev.pop("frames", None)
        self._write(json.dumps(_state.redacter.redact_obj(ev), default=str) + "\n")

    def close(self) -> None:
        self.closed = True


def _add_output(out):
    _recorder.outputs.append(out)

    def _exit():
        if out in _recorder.outputs:
            _recorder.outputs.remove(out)
            out.close()

    return _OnExit(_exit)


def add_log_output(output_dir, max_file_size: str = "1MB", max_files: int = 5,
                   log_html=None, log_html_style: LogHTMLStyle = "standalone",
                   min_messages_per_file: int = 50):
    """Records the run; writes ``log_html`` (if given) when the output is closed
    (``close_log_outputs()`` or the returned context manager). robotni writes no
    rotating message files: output_dir, max_file_size and max_files are accepted."""
    if not output_dir:
        raise RuntimeError("The output directory must be specified.")
    return _add_output(_HtmlOutput(log_html))


def add_in_memory_log_output(write: Callable[[str], Any]):
    """Records the run and calls ``write(json_line)`` for every message."""
    return _add_output(_WriteOutput(write))


def close_log_outputs() -> None:
    """Closes the log outputs (the html one writes log.html now)."""
    while _recorder.outputs:
        out = _recorder.outputs.pop(0)
        out.close()


def setup_auto_logging(config=None, add_rewrite_hook: bool = True):
    """Accepted; robotni does not rewrite modules to log their calls (no-op)."""
    return _OnExit(lambda: None)


class FilterKind(enum.Enum):
    full_log = "full_log"
    log_on_project_call = "log_on_project_call"
    exclude = "exclude"


class Filter:
    def __init__(self, name: str, kind: FilterKind) -> None:
        self.name = name
        self.kind = kind


class AutoLogConfigBase:
    """Accepted for typing; robotni has no auto-logging."""

    def __init__(self, rewrite_assigns=True, rewrite_yields=True):
        self.rewrite_assigns = rewrite_assigns
        self.rewrite_yields = rewrite_yields


class DefaultAutoLogConfig(AutoLogConfigBase):
    def __init__(self, filters: Sequence[Filter] = (), default_library_filter_kind=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = list(filters)


__all__ = [
    "critical", "warn", "info", "debug", "exception", "html", "process_snapshot",
    "console_message", "ConsoleMessageKind", "suppress", "suppress_methods",
    "suppress_variables", "is_sensitive_variable_name", "add_sensitive_variable_name",
    "add_sensitive_variable_name_pattern", "hide_from_output", "hide_strings_config",
    "IRedactConfiguration", "start_run", "end_run", "start_task", "end_task",
    "FilterLogLevel", "setup_log", "setup_auto_logging", "add_log_output",
    "close_log_outputs", "add_in_memory_log_output", "Filter", "FilterKind",
    "AutoLogConfigBase", "DefaultAutoLogConfig", "Status", "IReadLines", "LogHTMLStyle",
]
