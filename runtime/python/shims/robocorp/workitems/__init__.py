"""robocorp.workitems for robotni: a behavioural re-implementation of the
robocorp-workitems 1.5.0 API on top of robotni's store (or local JSON files).
"""

import logging
from typing import Callable, cast

from robocorp.tasks import get_current_task, task_cache

from ._adapters import BaseAdapter, FileAdapter, RobocorpAdapter, RobotniAdapter
from ._adapters._robotni import native as _robotni_native
from ._collections import Inputs, Outputs
from ._context import Context
from ._exceptions import (
    ApplicationException,
    BusinessException,
    EmptyQueue,
    to_exception_type,
)
from ._types import Email, ExceptionType, JSONType, PathType, State
from ._workitem import Input, Output, WorkItem

__version__ = "1.5.0"
version_info = [int(x) for x in __version__.split(".")]

LOGGER = logging.getLogger(__name__)


@task_cache
def __ctx():
    """One work item context per task.

    The first input is reserved right away (Control Room always has one).
    At task end: warn about unsaved outputs, and fail the current input
    if it is still unreleased and the task failed.
    """
    ctx = Context()
    native = _robotni_native()
    if native is not None and hasattr(native, "gc_hold"):
        ctx.hold_from_gc(native)
    ctx.reserve_input()

    yield ctx

    try:
        # ctx.outputs without building it: a run keeps every input and output.
        for parent in ctx._inputs:
            for item in parent._outputs:
                if not item._saved:
                    LOGGER.warning("%s has unsaved changes that will be discarded", item)

        current = ctx.current_input
        if current is None or current.released:
            return

        task = get_current_task()
        if not task:
            return

        if task.exc_info is not None:
            exc_type, exc_value, _ = task.exc_info
            exception_type = to_exception_type(exc_type)
            code = getattr(exc_value, "code", None)
            message = getattr(exc_value, "message", str(exc_value))
            current.fail(exception_type, code, message)
    finally:
        ctx.release_gc_hold()
        ctx.flush()


# Workaround for @task_cache handling the generator
_ctx = cast(Callable[[], Context], __ctx)

inputs = Inputs()
outputs = Outputs()

__all__ = [
    "inputs",
    "outputs",
    "Inputs",
    "Outputs",
    "Input",
    "Output",
    "State",
    "ExceptionType",
    "EmptyQueue",
    "BusinessException",
    "ApplicationException",
    "RobocorpAdapter",
    "FileAdapter",
    "BaseAdapter",
]
