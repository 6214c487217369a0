"""Enums and data types of robocorp.workitems (behavioural re-implementation of 1.5.0)."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Optional, Union

JSONType = Union[dict, list, str, int, float, bool, None]
PathType = Union[Path, str]


class State(str, Enum):
    """Work item state, after release."""

    DONE = "COMPLETED"
    FAILED = "FAILED"


class ExceptionType(str, Enum):
    """Failed work item error type."""

    BUSINESS = "BUSINESS"  # wrong/missing data, shouldn't be retried
    APPLICATION = "APPLICATION"  # logic issue/timeout, can be retried


@dataclass
class Address:
    name: str
    address: str

    @classmethod
    def from_dict(cls, value: dict) -> "Address":
        if not isinstance(value, dict):
            raise TypeError(f"Expected address as dict, was {type(value).__name__}")
        return cls(name=value.get("name", ""), address=value["address"])

    def to_dict(self) -> dict:
        return {"name": self.name, "address": self.address}


def _parse_date(value: Any) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


@dataclass
class Email:
    """Container for an email attached to a work item (camelCase JSON, ``from``)."""

    from_: Address
    to: list
    cc: list
    bcc: list
    subject: str
    date: Optional[datetime]
    reply_to: Optional[Address] = None
    message_id: Optional[str] = None
    text: Optional[str] = None
    html: Optional[str] = None
    errors: list = field(default_factory=list)

    @classmethod
    def from_dict(cls, value: dict) -> "Email":
        if not isinstance(value, dict):
            raise TypeError(f"Expected dict, was {type(value).__name__}")

        def addresses(key):
            raw = value[key]
            if raw is None:
                return []
            if not isinstance(raw, list):
                raise TypeError(f"Expected '{key}' as list")
            return [Address.from_dict(a) for a in raw]

        reply = value.get("replyTo", value.get("reply_to"))
        return cls(
            from_=Address.from_dict(value["from"]),
            to=addresses("to"),
            cc=addresses("cc"),
            bcc=addresses("bcc"),
            subject=value["subject"],
            date=_parse_date(value["date"]),
            reply_to=Address.from_dict(reply) if reply else None,
            message_id=value.get("messageId", value.get("message_id")),
            text=value.get("text"),
            html=value.get("html"),
            errors=list(value.get("errors") or []),
        )

    def to_dict(self) -> dict:
        return {
            "from": self.from_.to_dict() if self.from_ else None,
            "to": [a.to_dict() for a in self.to],
            "cc": [a.to_dict() for a in self.cc],
            "bcc": [a.to_dict() for a in self.bcc],
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "replyTo": self.reply_to.to_dict() if self.reply_to else None,
            "messageId": self.message_id,
            "text": self.text,
            "html": self.html,
            "errors": list(self.errors),
        }
