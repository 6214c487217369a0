"""Types of robocorp.log's public API (robocorp-log 3.x ``protocols.py`` names)."""

from types import TracebackType
from typing import Literal, Protocol, Sequence, Tuple, Type, Union

ExcInfo = Tuple[Type[BaseException], BaseException, TracebackType]
OptExcInfo = Union[ExcInfo, Tuple[None, None, None]]

LogHTMLStyle = Literal["standalone", "vscode"]


class IReadLines(Protocol):
    def readlines(self) -> Sequence[str]:
        pass


class Status:
    """Task states and message levels as the log stores them."""

    NOT_RUN = "NOT_RUN"
    PASS = "PASS"
    FAIL = "FAIL"

    ERROR = "ERROR"  # log.critical
    INFO = "INFO"  # log.info
    WARN = "WARN"  # log.warn
    DEBUG = "DEBUG"  # log.debug
