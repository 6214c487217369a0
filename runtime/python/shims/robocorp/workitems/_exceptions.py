"""Exceptions of robocorp.workitems 1.5.0."""

from typing import Optional, Type

from ._types import ExceptionType


class EmptyQueue(IndexError):
    """Raised when trying to load an input item and none available."""


class _BaseException(RuntimeError):
    def __init__(self, message: Optional[str] = None, code: Optional[str] = None):
        # Note: upstream does not call super().__init__ either.
        self.message = message
        self.code = code

    def __str__(self):
        args = ", ".join(f'"{arg}"' for arg in (self.message, self.code) if arg is not None)
        return f"{self.__class__.__name__}({args})"


class BusinessException(_BaseException):
    """Raise to release the current input work item with a BUSINESS failure."""


class ApplicationException(_BaseException):
    """Raise to release the current input work item with an APPLICATION failure."""


def to_exception_type(exc_type: Type[BaseException]) -> ExceptionType:
    if isinstance(exc_type, type) and issubclass(exc_type, BusinessException):
        return ExceptionType.BUSINESS
    return ExceptionType.APPLICATION
