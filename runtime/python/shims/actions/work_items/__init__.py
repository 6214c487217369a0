"""actions.work_items for robotni: behaviour of actions-work-items 0.4.x
(robocorp.workitems 1.5.0 API with the 0.4 differences), sharing its code
with the robocorp.workitems shim; or of 0.2.x (``_v02``) for robots that pin it
(``ROBOTNI_ACTIONS_WORK_ITEMS=0.2`` or an ``actions-work-items`` pin below 0.4 in the
robot's conda.yaml / package.yaml, see ``_version``).

Differences from robocorp.workitems: ``EmptyQueue`` is a plain Exception,
``BusinessException``/``ApplicationException`` derive from ``WorkItemException``
(not RuntimeError), ``Output.__exit__`` saves on success, ``outputs.create``
accepts ``files`` as path, list or ``{name: path|bytes}``, and no input is
reserved before the first ``reserve()``/iteration.
"""

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

from robocorp.workitems import _collections as _rc_collections
from robocorp.workitems._context import Context as _RcContext
from robocorp.workitems._exceptions import EmptyQueue as _RcEmptyQueue

from . import _v02, _version
from ._adapters import (
    BaseAdapter,
    FileAdapter,
    RobotniAdapter,
    SQLiteAdapter,
    create_adapter,
)
from ._exceptions import (
    ApplicationException,
    BusinessException,
    EmptyQueue,
    WorkItemException,
    to_exception_type,
)
from ._types import Address, Email, ExceptionType, JSONType, PathType, State
from ._workitem import Input, Output, WorkItem

__version__ = "0.4.4"

log = logging.getLogger(__name__)


class WorkItemsContext(_RcContext):
    """Work item state of one execution (a robocorp task, or the process)."""

    input_class = Input

    def __init__(self, adapter: Optional[BaseAdapter] = None):
        super().__init__(adapter=adapter, adapter_factory=create_adapter)

    def reserve_input(self) -> Input:
        try:
            return super().reserve_input()
        except _RcEmptyQueue as exc:
            raise EmptyQueue(str(exc) or "No work items in the input queue") from exc

    def close(self) -> None:
        for output in self.outputs:
            if not output.saved:
                log.warning("%s has unsaved changes that will be discarded", output)
        self.flush()

    # 0.2-style helpers
    def get_input(self) -> Input:
        return self.reserve_input()

    def create_output(self, payload=None, files=None, save: bool = False):
        return outputs._create(self, payload, files, save)

    def seed_input(self, payload=None, files=None, queue_name=None) -> str:
        seed = getattr(self.adapter, "seed_input", None)
        if seed is None:
            raise NotImplementedError(
                "seed_input() needs an adapter with a seed_input method; in robotni, "
                "enqueue work items through robotni itself"
            )
        if files:
            files = {name: value if isinstance(value, (bytes, bytearray))
                     else Path(value).read_bytes() for name, value in files.items()}
        return seed(payload, files, queue_name)


_explicit: Optional[WorkItemsContext] = None
_global: Optional[WorkItemsContext] = None


def _task_ctx_factory():
    from robocorp.tasks import task_cache

    @task_cache
    def _task_ctx():
        ctx = WorkItemsContext()
        yield ctx
        ctx.close()

    return _task_ctx


_task_ctx = None


def get_context() -> WorkItemsContext:
    """The context of this execution: the one given to ``init()``, else one
    per robocorp task when running under robocorp.tasks, else a process one."""
    global _global, _task_ctx
    if _explicit is not None:
        return _explicit
    try:
        from robocorp.tasks import get_current_task
    except ImportError:  # pragma: no cover
        get_current_task = None
    if get_current_task is not None and get_current_task() is not None:
        if _task_ctx is None:
            _task_ctx = _task_ctx_factory()
        return _task_ctx()
    if _global is None:
        _global = WorkItemsContext()
    return _global


def init(adapter: Optional[BaseAdapter] = None) -> WorkItemsContext:
    """Bind a new context (with ``adapter`` or the auto-detected one)."""
    global _explicit
    if adapter is None:
        adapter = create_adapter()
    _explicit = WorkItemsContext(adapter)
    return _explicit


def _reset() -> None:
    """Forget every context, of both flavours (tests, warm re-runs)."""
    global _explicit, _global
    _explicit = None
    _global = None
    _v02._reset()


class Inputs(_rc_collections.Inputs):
    """Input queue view. Iteration reserves items and releases them (done
    on normal loop completion, as robocorp 1.5.0)."""

    _empty_queue = EmptyQueue

    def __init__(self):
        super().__init__(get_context)

    def __len__(self) -> int:
        return len(self._ctx().inputs)

    def __getitem__(self, index: int) -> Input:
        return self._ctx().inputs[index]


class Outputs(_rc_collections.Outputs):
    def __init__(self):
        super().__init__(get_context)

    @staticmethod
    def _create(ctx, payload, files, save):
        current = ctx.current_input
        if current is None:
            raise RuntimeError(
                "No current input work item. Reserve an input before creating outputs."
            )
        item = current.create_output(payload)
        if files:
            if isinstance(files, (str, bytes)) or hasattr(files, "__fspath__"):
                item.add_files(files)
            elif isinstance(files, dict):
                for name, value in files.items():
                    if isinstance(value, (bytes, bytearray)):
                        item.add_file(content=bytes(value), name=name)
                    else:
                        item.add_file(path=value, name=name)
            else:
                for path in files:
                    item.add_file(path=path)
        if save:
            item.save()
        return item

    def create(self, payload: JSONType = None, files=None, save: bool = True) -> Output:
        """Create an output for the current input; ``files`` is a path/glob,
        a list of paths, or ``{name: path | bytes}``."""
        return self._create(self._ctx(), payload, files, save)


inputs = Inputs()
outputs = Outputs()


def get_input() -> Input:
    """Reserve the next input work item."""
    return get_context().reserve_input()


def create_output(payload: JSONType = None, files=None, save: bool = False) -> Output:
    """Create an output for the current input (0.2-style helper)."""
    return Outputs._create(get_context(), payload, files, save)


def seed_input(payload: JSONType = None, files=None, queue_name=None) -> str:
    """Add a new input work item (to ``queue_name``, default the input queue); its id."""
    return get_context().seed_input(payload, files, queue_name)


# -- Queue helpers (upstream: methods of the adapter, ``get_context().adapter.X``) -----


def _helper_adapter():
    if _version.current() == "0.2":
        return _v02._auto_init().adapter
    return globals()["get_context"]().adapter


def _helper(name):
    adapter = _helper_adapter()
    fn = getattr(adapter, name, None)
    if fn is None:
        raise NotImplementedError(f"{name} not implemented by {type(adapter).__name__}")
    return fn


def get_queue_stats(queue_name: Optional[str] = None) -> Dict[str, int]:
    """Counts of a queue (default: the input queue): ``{"pending", "in_progress",
    "done", "failed", "total"}`` (robotni also gives ``cancelled``)."""
    return _helper("get_queue_stats")(queue_name)


def list_items(queue_name: Optional[str] = None, state=None, limit: int = 100) -> List[Dict[str, Any]]:
    """Items of a queue (default: the input queue), newest first, as dicts."""
    return _helper("list_items")(queue_name, state, limit)


def get_item(item_id: str) -> Dict[str, Any]:
    """One item as a dict (``ValueError`` when there is none)."""
    return _helper("get_item")(item_id)


def delete_item(item_id: str) -> None:
    """Delete an item and its files (``ValueError`` when there is none)."""
    return _helper("delete_item")(item_id)


def recover_orphaned_work_items() -> List[str]:
    """Put items reserved too long ago (30 min, RC_WORKITEM_ORPHAN_TIMEOUT_MINUTES) or
    whose lease expired back to PENDING; returns their ids."""
    return _helper("recover_orphaned_work_items")()


__all__ = [
    "State",
    "ExceptionType",
    "JSONType",
    "PathType",
    "Address",
    "Email",
    "EmptyQueue",
    "WorkItemException",
    "BusinessException",
    "ApplicationException",
    "WorkItem",
    "Input",
    "Output",
    "Inputs",
    "Outputs",
    "inputs",
    "outputs",
    "WorkItemsContext",
    "init",
    "get_context",
    "create_adapter",
    "get_input",
    "create_output",
    "seed_input",
    "get_queue_stats",
    "list_items",
    "get_item",
    "delete_item",
    "recover_orphaned_work_items",
    "BaseAdapter",
    "FileAdapter",
    "SQLiteAdapter",
    "RobotniAdapter",
]


# -- Flavour (0.4 by default, 0.2 for robots pinned to it) ----------------------------

_FLAVOURED = tuple(_v02.PUBLIC)
_V04 = {name: globals()[name] for name in _FLAVOURED if name in globals()}
_V04["Address"] = Address


def _use(flavour: Optional[str] = None) -> str:
    """Give the names of actions-work-items ``flavour`` ("0.2"/"0.4"; None: detect
    again) to this module and the ``actions.workitems`` alias. Returns the flavour."""
    import sys

    _version.set_current(flavour)
    flavour = _version.current()
    table = _v02.PUBLIC if flavour == "0.2" else _V04
    globals().update(table)
    alias = sys.modules.get("actions.workitems")
    if alias is not None:
        for name, value in table.items():
            setattr(alias, name, value)
    return flavour


_use(_version.current())
