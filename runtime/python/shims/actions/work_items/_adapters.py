"""Adapter selection of actions-work-items 0.4.x, on robotni."""

import importlib
import logging
import os
from typing import Optional

from robocorp.workitems._adapters import BaseAdapter, FileAdapter, RobotniAdapter
from robocorp.workitems._adapters._robotni import has_store

log = logging.getLogger(__name__)

SQLITE_MESSAGE = (
    "actions-work-items' SQLiteAdapter is not available in robotni: the SQLite work "
    "item store is robotni's own. Run inside robotni (bound to its store), or use the "
    "local FileAdapter by setting RC_WORKITEM_INPUT_PATH / RC_WORKITEM_OUTPUT_PATH "
    "(or RC_WORKITEM_ADAPTER=FileAdapter)."
)


class SQLiteAdapter(BaseAdapter):
    """Placeholder: the SQLite store is robotni's own; constructing raises."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(SQLITE_MESSAGE)

    reserve_input = release_input = create_output = load_payload = None  # type: ignore
    save_payload = list_files = get_file = add_file = remove_file = None  # type: ignore


_FILE = ("file", "fileadapter", "actions.work_items.fileadapter",
         "actions.work_items._adapters._file.fileadapter",
         "rpa.robocorp.workitems.fileadapter")
_SQLITE = ("sqlite", "sqliteadapter", "actions.work_items.sqliteadapter",
           "actions.work_items._adapters._sqlite.sqliteadapter")
_ROBOTNI = ("robotni", "robotniadapter", "robocorp.workitems.robotniadapter")


def create_adapter(adapter_type: Optional[str] = None, **kwargs) -> BaseAdapter:
    """Create the work item adapter.

    1. explicit ``adapter_type`` or RC_WORKITEM_ADAPTER (``file``, ``sqlite``,
       ``robotni`` -- case-insensitive -- or a dotted class path);
    2. robotni's store when this run is bound to one;
    3. FileAdapter when RC_WORKITEM_INPUT_PATH / RC_WORKITEM_OUTPUT_PATH are set;
    4. otherwise an error (the SQLite default of upstream is robotni's store).
    """
    if adapter_type is None:
        adapter_type = os.environ.get("RC_WORKITEM_ADAPTER", "")
    adapter_type = (adapter_type or "").strip()
    normalized = adapter_type.replace("-", "_").lower()

    if normalized in _FILE:
        return FileAdapter(**kwargs)
    if normalized in _ROBOTNI:
        return RobotniAdapter()
    if normalized in _SQLITE:
        if has_store():
            return RobotniAdapter()
        raise NotImplementedError(SQLITE_MESSAGE)
    if adapter_type:
        module_path, _, class_name = adapter_type.rpartition(".")
        if not module_path:
            raise ValueError(f"Unknown work item adapter: {adapter_type}")
        module = importlib.import_module(module_path)
        return getattr(module, class_name)(**kwargs)

    if has_store():
        return RobotniAdapter()

    if (
        os.environ.get("RC_WORKITEM_INPUT_PATH")
        or os.environ.get("RC_WORKITEM_OUTPUT_PATH")
        or os.environ.get("RPA_INPUT_WORKITEM_PATH")
        or os.environ.get("RPA_OUTPUT_WORKITEM_PATH")
    ):
        return FileAdapter(**kwargs)

    raise NotImplementedError(SQLITE_MESSAGE)
