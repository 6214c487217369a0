"""robocorp.tasks for robotni: a behavioural re-implementation of the
robocorp-tasks 4.1.1 API and CLI, without auto-logging or import hooks.

    from robocorp.tasks import task

    @task
    def my_task():
        ...

    python -m robocorp.tasks run tasks.py -t my_task
"""

from pathlib import Path
from typing import Optional

from ._protocols import ITask, Status

__version__ = "4.1.1"
version_info = [int(x) for x in __version__.split(".")]


def _register_task(func, options: dict):
    from . import _hooks

    module = getattr(func, "__module__", None)
    if module:
        _hooks.task_modules.add(module)
    _hooks.on_task_func_found(func, options)
    return func


def task(*args, **kwargs):
    """Mark a function as a task: ``@task`` or ``@task(**options)``."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return _register_task(args[0], {})
    if args:
        raise TypeError("@task accepts a function or keyword options only")

    def decorator(func):
        return _register_task(func, dict(kwargs))

    return decorator


def _fixture(args, kwargs, task_hook, session_hook):
    from . import _hooks

    def register(hook, func):
        hook.register(func)
        _hooks.record_fixture(func)
        return func

    if len(args) == 1 and len(kwargs) == 0 and callable(args[0]):
        return register(session_hook, args[0])

    scope = kwargs.get("scope", "task")
    if scope == "task":
        return lambda func: register(task_hook, func)
    if scope == "session":
        return lambda func: register(session_hook, func)
    raise ValueError(f"Unknown scope '{scope}', expected 'task' or 'session'")


def setup(*args, **kwargs):
    """Run code before each task (``scope="task"``, receives the task) or
    before all tasks (``scope="session"`` or bare ``@setup``, receives the tasks)."""
    from ._hooks import before_all_tasks_run, before_task_run

    return _fixture(args, kwargs, before_task_run, before_all_tasks_run)


def teardown(*args, **kwargs):
    """Run code after each task (``scope="task"``) or after all tasks
    (``scope="session"`` or bare ``@teardown``)."""
    from ._hooks import after_all_tasks_run, after_task_run

    return _fixture(args, kwargs, after_task_run, after_all_tasks_run)


def session_cache(func):
    """Cache the result until all tasks have run (generator: first yield is
    cached and the generator is resumed at the end of the session)."""
    from ._hooks import after_all_tasks_run
    from ._lifecycle import _cache

    return _cache(after_all_tasks_run, func)


def task_cache(func):
    """Cache the result until the current task has run (generator: first
    yield is cached and the generator is resumed at the end of the task)."""
    from ._hooks import after_task_run
    from ._lifecycle import _cache

    return _cache(after_task_run, func)


def get_output_dir() -> Optional[Path]:
    """The output directory of the current run, or None."""
    from ._config import get_config

    config = get_config()
    if config is None:
        return None
    return config.output_dir


def get_current_task() -> Optional[ITask]:
    """The task being run, or None."""
    from . import _task

    return _task.get_current_task()


__all__ = [
    "task",
    "setup",
    "teardown",
    "session_cache",
    "task_cache",
    "get_output_dir",
    "get_current_task",
    "ITask",
    "Status",
]
