"""Task discovery (robocorp.tasks ``_collect_tasks.py`` behaviour), made safe
for warm re-runs: the task modules are always imported fresh."""

import itertools
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

DEFAULT_TASK_SEARCH_GLOB = "*task*.py"


class RobocorpTasksCollectError(Exception):
    pass


class RobocorpTasksError(Exception):
    pass


def module_name_from_path(path: Path, root: Path) -> str:
    path = path.with_suffix("")
    try:
        relative_path = path.relative_to(root)
    except ValueError:
        path_parts = path.parts[1:]
    else:
        path_parts = relative_path.parts
    return ".".join(path_parts)


def insert_missing_modules(modules: Dict[str, ModuleType], module_name: str) -> None:
    import importlib

    module_parts = module_name.split(".")
    while module_name:
        if module_name not in modules:
            try:
                if not sys.meta_path:
                    raise ModuleNotFoundError
                importlib.import_module(module_name)
            except ModuleNotFoundError:
                modules[module_name] = ModuleType(
                    module_name, doc="Empty module created by robocorp-tasks."
                )
        module_parts.pop(-1)
        module_name = ".".join(module_parts)


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def forget_module(path: Path, module_name: str) -> List[str]:
    """Drop ``module_name`` and any other sys.modules entry loaded from ``path``
    (e.g. the package-less name ``tasks`` of ``pkg.tasks``)."""
    dropped = []
    for name, mod in list(sys.modules.items()):
        if mod is None:
            continue
        if name == module_name:
            dropped.append(name)
            continue
        f = getattr(mod, "__file__", None)
        if f and os.path.basename(f) == path.name and _same_file(f, path):
            dropped.append(name)
    short = module_name.rsplit(".", 1)[-1]
    if short in sys.modules and short not in dropped:
        f = getattr(sys.modules[short], "__file__", None)
        if f is None or _same_file(f, path):
            dropped.append(short)
    for name in dropped:
        sys.modules.pop(name, None)
    return dropped


def import_path(path: Path, *, root: Path) -> ModuleType:
    import importlib.util

    if not path.exists():
        raise ImportError(path)

    path = path.absolute()
    root = root.absolute()
    module_name = module_name_from_path(path, root)

    from . import _hooks

    dropped = forget_module(path, module_name)
    _hooks.unregister_fixtures_of(set(dropped) | {module_name})

    spec = importlib.util.spec_from_file_location(module_name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(
            f"Can't find module '{module_name}'\n  at location '{path}'\n  (with root: '{root}')."
        )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    insert_missing_modules(sys.modules, module_name)
    return mod


@contextmanager
def _add_to_sys_path_0(root: Path):
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        try:
            sys.path.remove(str(root))
        except ValueError:
            pass


def _get_root(path: Path, is_dir: bool) -> Path:
    pythonpath_entries = tuple(Path(p) for p in sys.path if p)
    initial = path
    while True:
        for p in pythonpath_entries:
            if _same_file(p, path):
                return p.absolute()
        new_path = path.parent
        if not new_path or new_path == path:
            return initial.absolute() if is_dir else initial.parent.absolute()
        path = new_path


def drop_task_modules() -> None:
    """Forget every module that declared tasks in an earlier run, so that the
    next import registers its tasks (and fixtures) again."""
    from . import _hooks

    names = set(_hooks.task_modules)
    for name in names:
        sys.modules.pop(name, None)
    _hooks.unregister_fixtures_of(names)
    _hooks.task_modules.clear()


def clear_previously_collected_tasks() -> None:
    """Upstream's reset between collections (its test fixtures call it). robotni keeps no
    tasks between collections (each collect_tasks gathers its own), so nothing to clear."""


def collect_tasks(path: Path, task_names: Sequence[str] = (), glob: Optional[str] = None
                  ) -> Iterator:
    """Import the task module(s) at ``path`` and yield the tasks found, in
    registration order, filtered by exact ``task_names``."""
    from . import _hooks
    from ._task import Task

    path = path.absolute()
    found: List[Tuple] = []
    found_keys = set()

    _hooks.before_collect_tasks(path, set(task_names))

    def on_func_found(func, options: Optional[Dict] = None):
        key = (func.__code__.co_name, func.__code__.co_filename)
        if key in found_keys:
            raise RobocorpTasksError(
                f"Error: a task with the name '{func.__code__.co_name}' was "
                f"already found in: {func.__code__.co_filename}."
            )
        found_keys.add(key)
        found.append((func, options or {}))

    drop_task_modules()

    with _hooks.on_task_func_found.register(on_func_found):
        if path.is_dir():
            root = _get_root(path, is_dir=True)
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            with _add_to_sys_path_0(root):
                lst = []
                package_init = path / "__init__.py"
                if package_init.exists():
                    lst.append(package_init)
                glob_paths = {}
                for g in (glob or DEFAULT_TASK_SEARCH_GLOB).split("|"):
                    for p in sorted(path.rglob(g)):
                        glob_paths[p] = 1
                for path_with_task in itertools.chain(lst, tuple(glob_paths)):
                    if path_with_task.is_dir() or not path_with_task.name.endswith(".py"):
                        continue
                    import_path(path_with_task, root=root)
        elif path.is_file():
            root = _get_root(path, is_dir=False)
            with _add_to_sys_path_0(root):
                import_path(path, root=root)
        else:
            if not path.exists():
                raise RobocorpTasksCollectError(f"Path: {path} does not exist")
            raise RobocorpTasksCollectError(f"Expected {path} to map to a directory or file.")

    for method, options in found:
        task = Task(method.__module__, method.__code__.co_filename, method, options=options)
        if not task_names or task.name in task_names:
            yield task
