"""robocorp.tasks for robotni: a behavioural re-implementation of the
robocorp-tasks API and CLI (4.1.1, with the current fixtures: task-scoped
@setup/@teardown by default, generator setups; and the current parsing of task
arguments), without auto-logging or import hooks; robocorp.log records the run
and writes <output dir>/log.html.

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


def _register_fixture(before, after, func):
    """Register a setup; a generator setup runs up to its ``yield`` before, and the
    rest after (as a teardown, registered when the setup ran)."""
    import inspect
    from functools import wraps

    from . import _hooks

    if inspect.isgeneratorfunction(func):

        @wraps(func)
        def generator(*args, **kwargs):
            gen = func(*args, **kwargs)
            next(gen)

            def teardown(*args, **kwargs):
                try:
                    next(gen)
                except StopIteration:
                    pass
                finally:
                    after.unregister(teardown)
                    _hooks.pending_teardowns.pop(id(teardown), None)
                    _hooks._fixture_modules.pop(id(teardown), None)

            teardown.__module__ = getattr(func, "__module__", None)
            _hooks.record_fixture(teardown)
            _hooks.pending_teardowns[id(teardown)] = (after, teardown)
            after.register(teardown)

        registered = generator
    else:
        registered = func
    before.register(registered)
    _hooks.record_fixture(registered)
    return registered


def _scope_hooks(kwargs, task_hooks, session_hooks):
    scope = kwargs.get("scope", "task")
    if scope == "task":
        return task_hooks
    if scope == "session":
        return session_hooks
    raise ValueError(f"Unknown scope '{scope}', expected 'task' or 'session'")


def setup(*args, **kwargs):
    """Run code before each task (default, ``scope="task"``: receives the task) or
    before all tasks (``scope="session"``: receives the tasks).

    A generator setup runs until its ``yield`` before, and the rest after the
    task(s), as a teardown::

        @setup
        def measure(task):
            start = time.time()
            yield  # the task runs here
            print(task.name, time.time() - start)
    """
    from ._hooks import (after_all_tasks_run, after_task_run, before_all_tasks_run,
                         before_task_run)

    task_hooks = (before_task_run, after_task_run)
    session_hooks = (before_all_tasks_run, after_all_tasks_run)
    if len(args) == 1 and not kwargs and callable(args[0]):
        return _register_fixture(*task_hooks, args[0])
    before, after = _scope_hooks(kwargs, task_hooks, session_hooks)
    return lambda func: _register_fixture(before, after, func)


def teardown(*args, **kwargs):
    """Run code after each task (default, ``scope="task"``: receives the task, with
    its ``status``, ``failed``, ``message`` and ``exc_info``) or after all tasks
    (``scope="session"``: receives the tasks)."""
    from . import _hooks

    def register(hook, func):
        hook.register(func)
        _hooks.record_fixture(func)
        return func

    if len(args) == 1 and not kwargs and callable(args[0]):
        return register(_hooks.after_task_run, args[0])
    hook = _scope_hooks(kwargs, _hooks.after_task_run, _hooks.after_all_tasks_run)
    return lambda func: register(hook, func)


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
