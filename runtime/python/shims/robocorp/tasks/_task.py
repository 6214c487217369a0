import inspect
import sys
import typing
from contextlib import contextmanager
from typing import Any, Dict, Optional

from ._protocols import Status

_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


class Task:
    def __init__(self, module_name: str, module_file: str, method: typing.Callable,
                 options: Optional[Dict] = None):
        self.module_name = module_name
        self.filename = module_file or "<filename unavailable>"
        self.method = method
        self.message = ""
        self.exc_info: Optional[tuple] = None
        self._status = Status.NOT_RUN
        self.result: Any = None
        self.options = options or None

    @property
    def name(self) -> str:
        return self.method.__code__.co_name

    @property
    def lineno(self) -> int:
        return self.method.__code__.co_firstlineno

    def run(self, **kwargs):
        sig = inspect.signature(self.method)
        try:
            sig.bind(**kwargs)
        except Exception as e:
            raise RuntimeError(
                f"It's not possible to call the task: '{self.name}' because the passed "
                f"arguments don't match the task signature.\nError: {e}"
            )
        return self.method(**kwargs)

    @property
    def status(self) -> Status:
        return self._status

    @status.setter
    def status(self, value):
        self._status = Status(value)

    @property
    def failed(self) -> bool:
        return self._status == Status.FAIL

    # Schemas for `list` (no docstring parsing: descriptions stay empty).
    def _type_schema(self, tp, name=None) -> Dict[str, Any]:
        if tp is None or tp is inspect.Parameter.empty:
            type_name = "string"
        elif tp in _TYPE_NAMES:
            type_name = _TYPE_NAMES[tp]
        elif hasattr(tp, "model_json_schema"):
            ret = dict(tp.model_json_schema())
            ret.pop("$defs", None)
            if name:
                ret["title"] = name.replace("_", " ").title()
            return ret
        else:
            type_name = (
                f"Error. The type '{getattr(tp, '__name__', tp)}' in '{self.name}' is not "
                "supported. Supported types: str, int, float, bool or pydantic.BaseModel."
            )
        ret = {"type": type_name, "description": ""}
        if name:
            ret["title"] = name.replace("_", " ").title()
        return ret

    def _hints(self) -> dict:
        try:
            return typing.get_type_hints(self.method)
        except Exception:
            return dict(getattr(self.method, "__annotations__", {}) or {})

    @property
    def input_schema(self) -> Dict[str, Any]:
        hints = self._hints()
        properties: Dict[str, Any] = {}
        required = []
        for param in inspect.signature(self.method).parameters.values():
            prop = self._type_schema(hints.get(param.name), param.name)
            if param.default is inspect.Parameter.empty:
                required.append(param.name)
            else:
                prop["default"] = param.default
            properties[param.name] = prop
        schema: Dict[str, Any] = {"properties": properties, "type": "object"}
        if required:
            schema["required"] = required
        return schema

    @property
    def output_schema(self) -> Dict[str, Any]:
        return self._type_schema(self._hints().get("return"))

    @property
    def managed_params_schema(self) -> Dict[str, Any]:
        return {}

    def __str__(self):
        return f"Task({self.name}, status: {self.status})"

    __repr__ = __str__


_current_task: Optional[Task] = None


def set_current_task(task: Optional[Task]) -> None:
    global _current_task
    _current_task = task


def get_current_task() -> Optional[Task]:
    return _current_task


_ANSI = {
    "regular": "",
    "task_name": "\x1b[1m",
    "error": "\x1b[31m",
    "traceback": "\x1b[2m",
    "important": "\x1b[33m",
}


class Console:
    """The framework's console lines (robocorp.tasks layout, plain colours)."""

    def __init__(self, colors: str = "plain"):
        self._msg_len_target = 80
        self._ansi = colors == "ansi"

    def show(self, msg: str, end: str = "\n", kind: str = "regular", flush: Optional[bool] = None):
        if end:
            msg = f"{msg}{end}"
        if self._ansi and _ANSI.get(kind):
            msg = f"{_ANSI[kind]}{msg}\x1b[0m"
        out = sys.stdout
        out.write(msg)
        if flush or (flush is None and msg.endswith("\n")):
            try:
                out.flush()
            except Exception:
                pass

    def show_error(self, msg: str, flush: Optional[bool] = None):
        self.show(msg, kind="error", flush=flush)

    def _show_header(self, parts) -> int:
        if not parts:
            self.show("=" * self._msg_len_target)
            return self._msg_len_target

        total_len = sum(len(msg) for (msg, _) in parts)
        diff = self._msg_len_target - (total_len + 2)
        start_sep_chars = 3
        end_sep_chars = 3
        if diff > 0:
            start_sep_chars = int(diff / 2)
            end_sep_chars = diff - start_sep_chars

        final_len = 0
        msg_start = f"{'=' * start_sep_chars} "
        final_len += len(msg_start)
        self.show(msg_start, end="")
        for msg, kind in parts:
            final_len += len(msg)
            self.show(msg, end="", kind=kind)
        msg_end = f" {'=' * end_sep_chars}"
        final_len += len(msg_end)
        self.show(msg_end)
        return final_len

    def before_task_run(self, task):
        self._msg_len_target = 80
        self._msg_len_target = self._show_header(
            [("Running: ", "regular"), (task.name, "task_name")]
        )

    def after_task_run(self, task):
        import traceback

        msg = f"\n{task.message}" if task.message else ""
        status_kind = "error" if task.status == Status.FAIL else "regular"

        self.show(f"{task.name}", end="", kind="task_name")
        self.show(" status: ", end="")
        self.show(f"{task.status.value}", kind=status_kind)
        if msg:
            self.show(msg, kind=status_kind)
            if task.exc_info and task.exc_info[0]:
                self._show_header(
                    [
                        ("Full Traceback (running ", "regular"),
                        (task.name, "task_name"),
                        (")", "regular"),
                    ]
                )
                self.show("".join(traceback.format_exception(*task.exc_info)), kind="traceback")
        self._show_header([])

    @contextmanager
    def register_lifecycle_prints(self):
        from ._hooks import after_task_run, before_task_run

        with before_task_run.register(self.before_task_run), after_task_run.register(
            self.after_task_run
        ):
            yield
