"""The run's log: robocorp.log records the run, each task (start, end, status,
failure with its traceback), the task arguments and one row per work item, and
writes ``<output dir>/log.html`` when the run ends (as robocorp-tasks does).

``ROBOTNI_LOG_HTML=0`` turns the page off (the records are then not kept either).
"""

import os
import sys
from contextlib import contextmanager
from pathlib import Path


def _enabled() -> bool:
    return os.environ.get("ROBOTNI_LOG_HTML", "1").strip().lower() not in ("0", "false", "no",
                                                                          "off")


def _attach_items(hooks) -> None:
    wi = sys.modules.get("robocorp.workitems._workitem")
    if wi is not None:
        wi.log_hooks = hooks


def _before_task_run(task) -> None:
    from robocorp import log
    from robocorp.log import _state

    doc = getattr(task.method, "__doc__", "") or ""
    log.start_task(task.name, task.module_name, task.filename, task.lineno, doc.strip())
    rec = _state.recorder
    _attach_items((rec.item_reserved, rec.item_released))


def _after_task_run(task) -> None:
    from robocorp import log
    from robocorp.log import _state

    rec = _state.recorder
    if task.exc_info and task.exc_info[0] is not None and rec.outputs:
        rec.add_event(_state.exception_event(task.exc_info, unhandled=True))
    log.end_task(task.name, task.module_name, task.status.value, task.message)
    _attach_items(None)


def record_arguments(kwargs) -> None:
    """The task's arguments, in the task record (sensitive names hidden)."""
    from robocorp.log import _state

    rec = _state.recorder
    run = rec.run
    if not kwargs or not rec.outputs or run is None or run.current_task is None:
        return
    args = []
    for k, v in kwargs.items():
        r = _state.clip(_state._safe_repr(v))
        if _state.sensitive_names.is_sensitive_variable_name(k):
            _state.hide_value(v)
            r = _state.LogRedacter.REPLACEMENT
        args.append((k, r))
    run.current_task.arguments = args


@contextmanager
def setup_log_output(output_dir: Path, run_name: str):
    """Open the log for one run; hooks the task lifecycle (registered before the
    tasks are collected, so a task's record encloses its fixtures)."""
    if not _enabled():
        yield False
        return
    from robocorp import log

    from ._hooks import after_task_run, before_task_run

    out = log.add_log_output(output_dir, log_html=Path(output_dir) / "log.html")
    try:
        with before_task_run.register(_before_task_run), after_task_run.register(
                _after_task_run):
            log.start_run(run_name)
            try:
                yield True
            finally:
                _attach_items(None)
    finally:
        try:
            out.__exit__(None, None, None)
        except Exception as e:  # the run's result must not depend on its log
            sys.stderr.write(f"robocorp.log: could not write log.html: {e}\n")


def end_run(run_name: str, status: str) -> None:
    from robocorp import log

    log.end_run(run_name, status)
