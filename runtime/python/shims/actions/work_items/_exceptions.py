"""Exceptions of actions-work-items 0.4.x (note: not RuntimeError/IndexError based)."""

from robocorp.workitems._types import ExceptionType


class EmptyQueue(Exception):
    """Raised when attempting to get an item from an empty queue."""


class WorkItemException(Exception):
    """Base exception for work item processing errors."""

    def __init__(self, message: str = "", code=None):
        super().__init__(message)
        self.message = message
        self.code = code


class BusinessException(WorkItemException):
    """Expected business failure: the item should not be retried."""


class ApplicationException(WorkItemException):
    """Unexpected application failure: the item may be retried."""


def to_exception_type(exc_type) -> ExceptionType:
    if isinstance(exc_type, type) and issubclass(exc_type, BusinessException):
        return ExceptionType.BUSINESS
    return ExceptionType.APPLICATION


from robocorp.workitems._exceptions import EmptyQueue as _RcEmptyQueue  # noqa: E402


class _AdapterEmptyQueue(EmptyQueue, _RcEmptyQueue):
    """What the actions adapters raise on an empty queue: actions-work-items'
    ``EmptyQueue`` and robocorp's (an IndexError), so both flavours' code catches it."""
