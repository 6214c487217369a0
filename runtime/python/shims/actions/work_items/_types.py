from enum import Enum

from robocorp.workitems._types import Address, Email, ExceptionType, JSONType, PathType


class State(str, Enum):
    """Work item processing states (actions-work-items 0.4.x)."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "COMPLETED"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"  # alias of DONE

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str) and value.upper() in ("DONE", "COMPLETED"):
            return cls.DONE
        return None


__all__ = ["State", "ExceptionType", "Address", "Email", "JSONType", "PathType"]
