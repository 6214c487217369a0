"""``run`` and ``list`` commands (robocorp.tasks 4.1.1 behaviour)."""

import inspect
import json
import os
import sys
import traceback
import typing
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ._protocols import Status

_SUPPORTED = (str, int, float, bool)


class _ArgsError(Exception):
    pass


class InvalidArgumentsError(Exception):
    """The task's arguments don't match its signature (robocorp.tasks' name)."""


def _task_arg_parser(**kwargs):
    """An ArgumentParser that raises instead of exiting (argparse is imported only for
    tasks given command-line arguments or missing required ones)."""
    import argparse

    class _TaskArgParser(argparse.ArgumentParser):
        def error(self, message):  # never exit the process
            raise _ArgsError(message)

        def exit(self, status=0, message=None):
            raise _ArgsError(message or "")

    return _TaskArgParser(**kwargs)


def _check_boolean(value: str) -> bool:
    low = value.lower()
    if low not in ("true", "false", "t", "f", "yes", "no", "1", "0"):
        import argparse

        raise argparse.ArgumentTypeError(f"Invalid value for boolean flag: {value}")
    return low in ("true", "t", "yes", "1")


_check_boolean.__name__ = "check_boolean"


def _param_types(task) -> Dict[str, Any]:
    try:
        hints = typing.get_type_hints(task.method)
    except Exception:
        hints = dict(getattr(task.method, "__annotations__", {}) or {})
    result = {}
    for param in inspect.signature(task.method).parameters.values():
        tp = hints.get(param.name, str)
        if tp is inspect.Parameter.empty:
            tp = str
        result[param.name] = (tp, param)
    return result


def _check_supported(task, types) -> None:
    for name, (tp, _param) in types.items():
        if tp in _SUPPORTED or hasattr(tp, "model_validate"):
            continue
        raise InvalidArgumentsError(
            f"Error. The param type '{getattr(tp, '__name__', tp)}' in '{task.name}' is not "
            "supported. Supported parameter types: str, int, float, bool and pydantic.Model."
        )


def _kwargs_from_cli(task, task_args: Sequence[str]) -> Dict[str, Any]:
    """The task's arguments from ``--name value`` / ``--name=value`` (robocorp.tasks'
    _normalize_arguments): each parameter is an option converted to its type (bool:
    true/false/t/f/yes/no/1/0; a pydantic model: JSON). A missing required one, a
    bad value or an unknown option raise InvalidArgumentsError (the task fails)."""
    types = _param_types(task)
    if not task_args and all(p.default is not inspect.Parameter.empty
                             for _tp, p in types.values()):
        return {}  # nothing to parse (and no argparse import)
    _check_supported(task, types)
    name = task.name
    parser = _task_arg_parser(prog=f"python -m robocorp.tasks {name} --",
                              description=f"{name} task.", add_help=False)
    for pname, (tp, param) in types.items():
        kw: Dict[str, Any] = {}
        if tp is bool:
            kw["type"] = _check_boolean
        elif tp in _SUPPORTED and tp is not str:
            kw["type"] = tp
        if param.default is not inspect.Parameter.empty and tp in _SUPPORTED:
            kw["default"] = param.default
        else:
            kw["required"] = True
        parser.add_argument(f"--{pname}", **kw)

    def not_callable(detail: str) -> InvalidArgumentsError:
        return InvalidArgumentsError(
            f"It's not possible to call: '{name}' because the passed arguments don't match "
            f"the expected signature.\n{detail}")

    try:
        parsed, rest = parser.parse_known_args(list(task_args))
    except _ArgsError as e:
        raise not_callable(f"{parser.format_usage().strip()}.\nError: {e}.") from None
    if rest:
        raise not_callable(f"{parser.format_usage().strip()}.\n"
                           f"Unrecognized arguments: {' '.join(rest)}")
    kwargs = {}
    for pname, (tp, _param) in types.items():
        value = getattr(parsed, pname)
        if tp not in _SUPPORTED:
            try:
                value = tp.model_validate(json.loads(value))
            except Exception as e:
                raise not_callable(
                    f"(error interpreting contents for {pname} as a json: {e}).") from None
        kwargs[pname] = value
    return kwargs


def _kwargs_from_json(task, data: Any) -> Dict[str, Any]:
    """The task's arguments from ``--json-input``, checked as robocorp.tasks'
    _validate_and_convert_kwargs checks them (and with its messages): a required parameter
    must be given, a value must be an instance of its annotation (a float takes an int), a
    pydantic model is validated from its JSON."""
    if not isinstance(data, dict):
        raise InvalidArgumentsError(
            f"Error: the json input for task '{task.name}' must be a JSON object "
            f"(found {type(data).__name__})."
        )
    name = task.name
    types = _param_types(task)
    kwargs = {}
    for pname, (tp, param) in types.items():
        if param.default is inspect.Parameter.empty and pname not in data:
            raise InvalidArgumentsError(
                f"Error. The parameter `{pname}` was not defined in the input.")
        if pname not in data:
            continue
        value = data[pname]
        if tp not in _SUPPORTED:
            model_validate = getattr(tp, "model_validate", None)
            if model_validate is None:
                raise InvalidArgumentsError(
                    f"Error. The param type '{getattr(tp, '__name__', tp)}' in '{name}' is not "
                    "supported. Supported parameter types: str, int, float, bool and "
                    "pydantic.Model.")
            try:
                kwargs[pname] = model_validate(value)
            except Exception as e:
                raise InvalidArgumentsError(
                    f"It's not possible to call: '{name}' because the passed arguments don't "
                    f"match the expected signature.\n(error converting received json contents "
                    f"to pydantic model: {e}.") from None
            continue
        if not isinstance(value, (float, int) if tp is float else tp):
            raise InvalidArgumentsError(
                f"Error. Expected the parameter: `{pname}` to be of type: {tp.__name__}. "
                f"Found type: {type(value).__name__}.")
        kwargs[pname] = value
    return kwargs


_HERE = os.path.dirname(os.path.abspath(__file__))


def _trim_exc_info(exc_info):
    """Hide this framework's own frames at the top of the traceback."""
    etype, value, tb = exc_info
    while tb is not None and tb.tb_next is not None and os.path.dirname(
        os.path.abspath(tb.tb_frame.f_code.co_filename)
    ) == _HERE:
        tb = tb.tb_next
    return (etype, value, tb)


def _truthy_env(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _call_fixture_hook(hook, arg, skip_fixtures: bool) -> None:
    from . import _hooks

    if not skip_fixtures:
        hook(arg)
        return
    fixture_ids = set(_hooks._fixture_modules)
    saved = hook.callbacks
    try:
        hook._callbacks = tuple(c for c in saved if id(c) not in fixture_ids)
        hook(arg)
    finally:
        kept = set(map(id, hook._callbacks))
        # keep unregistrations done while running (e.g. caches clearing)
        hook._callbacks = tuple(
            c for c in saved if id(c) in fixture_ids or id(c) in kept
        )


def run(
    path: str = ".",
    task_names: Sequence[str] = (),
    output_dir: str = "",
    glob: Optional[str] = None,
    json_input: Optional[str] = None,
    preload_modules: Sequence[str] = (),
    no_status_rc: bool = False,
    console_colors: str = "auto",
    task_args: Sequence[str] = (),
) -> int:
    """Collect and run tasks. Returns 0, or 1 when a task failed or
    collection failed."""
    import importlib

    from . import _hooks
    from ._collect_tasks import RobocorpTasksCollectError, collect_tasks
    from ._config import RunConfig, set_config
    from ._log_output_setup import end_run as log_end_run
    from ._log_output_setup import record_arguments, setup_log_output
    from ._task import Console, set_current_task

    colors = "ansi" if console_colors == "ansi" else "plain"
    console = Console(colors)

    if not output_dir:
        output_dir = os.environ.get("ROBOT_ARTIFACTS", "") or "./output"

    p = Path(path).absolute()
    if not p.exists():
        console.show_error(f"Path: {path} does not exist")
        return 1

    for mod in preload_modules:
        importlib.import_module(mod)

    task_names = [str(t) for t in (task_names or [])]
    if not task_names:
        names_msg = "tasks"
    elif len(task_names) == 1:
        names_msg = f"task {task_names[0]}"
    else:
        names_msg = "tasks " + ", ".join(task_names)

    output_dir_path = Path(output_dir).absolute()
    output_dir_path.mkdir(parents=True, exist_ok=True)

    json_kwargs_data: Any = None
    if json_input:
        try:
            with open(json_input, "r", encoding="utf-8") as fd:
                json_kwargs_data = json.load(fd)
        except Exception as e:
            console.show_error(f"Error reading json input {json_input}: {e}")
            return 1

    set_config(RunConfig(output_dir_path, p, task_names, colors, no_status_rc))
    run_name = os.path.basename(p)
    if task_names:
        run_name += " - " + ", ".join(task_names)
    run_status = "PASS"
    try:
        with setup_log_output(output_dir_path, run_name) as logging_on, \
                console.register_lifecycle_prints():
            try:
                console.show(f"\nCollecting {names_msg} from: {path}")
                try:
                    tasks: List = list(collect_tasks(p, task_names, glob))
                    if not tasks:
                        raise RobocorpTasksCollectError(f"Did not find any tasks in: {path}")
                except Exception as e:
                    run_status = "ERROR"
                    if logging_on:
                        from robocorp import log

                        log.exception()
                    if isinstance(e, RobocorpTasksCollectError):
                        console.show_error(str(e))
                    else:
                        traceback.print_exc()
                    return 1

                returncode = 0
                _call_fixture_hook(
                    _hooks.before_all_tasks_run, tasks, _truthy_env("RC_TASKS_SKIP_SESSION_SETUP")
                )
                try:
                    for task in tasks:
                        set_current_task(task)
                        _hooks.before_task_run(task)
                        try:
                            if json_kwargs_data is not None:
                                kwargs = _kwargs_from_json(task, json_kwargs_data)
                            else:
                                kwargs = _kwargs_from_cli(task, task_args)
                            if logging_on and kwargs:
                                record_arguments(kwargs)
                            task.result = task.run(**kwargs)
                            task.status = Status.PASS
                        except BaseException as e:
                            # Exception => task failure; BaseException (timeouts,
                            # KeyboardInterrupt, SystemExit) also fail the task,
                            # but keep propagating after the teardown.
                            task.status = Status.FAIL
                            task.message = str(e) or e.__class__.__name__
                            task.exc_info = _trim_exc_info(sys.exc_info())
                            if not isinstance(e, Exception):
                                raise
                        finally:
                            try:
                                _hooks.after_task_run(task)
                            finally:
                                set_current_task(None)
                                if task.failed:
                                    run_status = "ERROR"
                finally:
                    _call_fixture_hook(
                        _hooks.after_all_tasks_run,
                        tasks,
                        _truthy_env("RC_TASKS_SKIP_SESSION_TEARDOWN"),
                    )
                # From the statuses as the teardowns left them (a teardown may set
                # task.status), as robocorp.tasks does.
                if not no_status_rc:
                    returncode = int(any(t.failed for t in tasks))
                return returncode
            finally:
                if logging_on:
                    log_end_run(run_name, run_status)
    finally:
        _hooks.drop_pending_teardowns()
        set_config(None)


def list_tasks(path: str = ".", glob: Optional[str] = None) -> int:
    """Print the tasks at ``path`` as JSON to stdout."""
    from contextlib import redirect_stdout

    from ._collect_tasks import collect_tasks
    from ._task import Console

    p = Path(path)
    if not p.exists():
        Console().show_error(f"Path: {path} does not exist")
        return 1

    original_stdout = sys.stdout
    with redirect_stdout(sys.stderr):
        found = []
        for task in collect_tasks(p, (), glob):
            found.append(
                {
                    "name": task.name,
                    "line": task.lineno,
                    "file": task.filename,
                    "docs": getattr(task.method, "__doc__") or "",
                    "input_schema": task.input_schema,
                    "output_schema": task.output_schema,
                    "managed_params_schema": task.managed_params_schema,
                    "options": task.options,
                }
            )
    original_stdout.write(json.dumps(found))
    original_stdout.flush()
    return 0
