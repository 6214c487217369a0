import logging
import os

from ._base import BaseAdapter
from ._file import FileAdapter
from ._robocorp import RobocorpAdapter
from ._robotni import RobotniAdapter, has_store

LOGGER = logging.getLogger(__name__)

GENERIC_MESSAGE = """\
Access to work items is only available from inside robotni (or Control Room).
Using development-time simulated work items (FileAdapter).
To suppress this message, set the environment variable `RC_WORKITEM_ADAPTER`.
"""

_ROBOTNI_NAMES = ("RobotniAdapter", "robotni", "robocorp.workitems.RobotniAdapter")


def create_adapter() -> BaseAdapter:
    """Resolve the adapter for the running environment.

    RC_WORKITEM_ADAPTER / RPA_WORKITEMS_ADAPTER first (as robocorp); else the
    robotni store when the run is bound to one; else robocorp's own rule.
    """
    adapter = os.getenv("RC_WORKITEM_ADAPTER") or os.getenv("RPA_WORKITEMS_ADAPTER")
    if adapter:
        return _import_adapter(adapter)
    return _detect_adapter()


def _import_adapter(name: str) -> BaseAdapter:
    from .._utils import import_by_name

    if name in ("FileAdapter", "RPA.Robocorp.WorkItems.FileAdapter"):
        return FileAdapter()
    if name in _ROBOTNI_NAMES:
        return RobotniAdapter()

    klass = import_by_name(name, __name__)
    if not isinstance(klass, type) or not issubclass(klass, BaseAdapter):
        raise ValueError(f"Adapter '{klass}' does not inherit from BaseAdapter")
    return klass()


def _is_activity_run() -> bool:
    return bool(
        os.getenv("RC_WORKSPACE_ID")
        and os.getenv("RC_PROCESS_RUN_ID")
        and os.getenv("RC_ACTIVITY_RUN_ID")
    )


def _detect_adapter() -> BaseAdapter:
    if has_store():
        return RobotniAdapter()
    if _is_activity_run():
        return RobocorpAdapter()  # raises NotImplementedError with a clear message
    LOGGER.warning(GENERIC_MESSAGE)
    return FileAdapter()


__all__ = [
    "BaseAdapter",
    "FileAdapter",
    "RobocorpAdapter",
    "RobotniAdapter",
    "create_adapter",
]
