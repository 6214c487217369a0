"""actions-work-items 0.2.x behaviour (joshyorko/actions ``work-items/``, 0.2.0/0.2.1).

What differs from the 0.4 flavour: ``State.DONE == "DONE"``; no input is reserved for
you and iteration releases nothing (call ``done()``/``fail()`` or use ``with item:``);
``with item:`` never swallows an exception and records the class name as the code of a
non-library one; releasing twice only warns; ``fail()`` truncates the message to 1000
characters; ``done()``/``fail()`` save the payload first; files are written at once
(``add_file``/``remove_file``), ``get_file(name, path=None)`` returns the bytes;
``get_email()`` parses an ``.eml`` attachment; ``get_context()`` raises until ``init()``
(the ``inputs``/``outputs`` singletons and the queue helpers initialise it).
"""

import fnmatch
import glob as glob_module
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Iterator, List, Optional

from robocorp.workitems._adapters import FileAdapter as _RcFileAdapter
from robocorp.workitems._adapters import RobotniAdapter

from . import _adapters
from ._exceptions import ApplicationException, BusinessException, EmptyQueue
from ._types import ExceptionType, JSONType
from ._types import State as _State04

__version__ = "0.2.1"

log = logging.getLogger("actions.work_items")


class State(str, Enum):
    """Work item processing states (actions-work-items 0.2.x)."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"
    COMPLETED = "DONE"  # alias of DONE

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str) and value.upper() == "COMPLETED":
            return cls.DONE
        return None


@dataclass
class Address:
    address: str
    name: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass
class Email:
    """An e-mail parsed from an attachment (``Input.get_email``), 0.2 fields."""

    sender: Optional[Address] = None
    recipients: List[Address] = field(default_factory=list)
    cc: List[Address] = field(default_factory=list)
    bcc: List[Address] = field(default_factory=list)
    subject: Optional[str] = None
    date: Optional[datetime] = None
    body: Optional[str] = None
    html: Optional[str] = None
    reply_to: Optional[Address] = None
    message_id: Optional[str] = None
    errors: List[str] = field(default_factory=list)

    @classmethod
    def from_bytes(cls, content: bytes) -> "Email":
        import email
        from email.header import decode_header, make_header
        from email.utils import getaddresses, parsedate_to_datetime

        errors: List[str] = []
        msg = email.message_from_bytes(content)

        def text(value):
            if not value:
                return None
            try:
                return str(make_header(decode_header(value)))
            except Exception as exc:  # noqa: BLE001 - reported, as upstream
                errors.append(f"Header decode error: {exc}")
                return value

        def addresses(value) -> List[Address]:
            result = []
            for name, addr in getaddresses([value] if value else []):
                if addr:
                    result.append(Address(addr, text(name) if name else None))
            return result

        def one(value):
            found = addresses(value)
            return found[0] if found else None

        def decoded(part):
            try:
                data = part.get_payload(decode=True) or b""
                return data.decode(part.get_content_charset() or "utf-8", errors="replace")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"Body decode error: {exc}")
                return None

        body = html = None
        for part in msg.walk() if msg.is_multipart() else [msg]:
            ctype = part.get_content_type()
            if ctype == "text/plain" and body is None:
                body = decoded(part)
            elif ctype == "text/html" and html is None:
                html = decoded(part)
        date = None
        if msg.get("Date"):
            try:
                date = parsedate_to_datetime(msg["Date"])
            except Exception as exc:  # noqa: BLE001
                errors.append(f"Date parse error: {exc}")
        return cls(sender=one(msg.get("From")), recipients=addresses(msg.get("To")),
                   cc=addresses(msg.get("Cc")), bcc=addresses(msg.get("Bcc")),
                   subject=text(msg.get("Subject")), date=date, body=body, html=html,
                   reply_to=one(msg.get("Reply-To")), message_id=msg.get("Message-ID"),
                   errors=errors)


def _truncate(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_OURS = (_adapters.BaseAdapter, RobotniAdapter, _RcFileAdapter)


def _release(adapter, item_id, done: bool, etype=None, code=None, message=None):
    """Release through robocorp's adapter call, or actions-work-items' for an adapter
    written for 0.2 (keyword arguments)."""
    if isinstance(adapter, _OURS):
        if done:
            adapter.release_input(item_id, _State04.DONE, None)
        else:
            adapter.release_input(item_id, _State04.FAILED,
                                  {"type": etype.value, "code": code, "message": message})
    elif done:
        adapter.release_input(item_id, State.DONE)
    else:
        adapter.release_input(item_id, State.FAILED, exception_type=etype, code=code,
                              message=message)


class WorkItem:
    """A work item: JSON payload and attached files (changes are written at once)."""

    def __init__(self, adapter, item_id: str, payload: JSONType = None):
        self._adapter = adapter
        self._id = item_id
        self._payload = payload
        self._payload_modified = False
        self._released = False

    def __repr__(self):
        return f"{type(self).__name__}(id={self._id!r})"

    @property
    def id(self) -> str:
        return self._id

    @property
    def payload(self) -> JSONType:
        if self._payload is None:
            self._payload = self._adapter.load_payload(self._id)
        return self._payload

    @payload.setter
    def payload(self, value: JSONType) -> None:
        self._payload = value
        self._payload_modified = True

    @property
    def files(self) -> List[str]:
        """Names of the attached files (robotni addition: 0.2 has list_files() only)."""
        return self.list_files()

    def save(self) -> None:
        if self._payload_modified and self._payload is not None:
            self._adapter.save_payload(self._id, self._payload)
            self._payload_modified = False

    def list_files(self) -> List[str]:
        return list(self._adapter.list_files(self._id))

    def get_file(self, name: str, path=None) -> bytes:
        content = self._adapter.get_file(self._id, name)
        if path:
            Path(path).write_bytes(content)
        return content

    def add_file(self, path=None, name: Optional[str] = None, content: Optional[bytes] = None,
                 original_name: Optional[str] = None) -> None:
        if path is not None:
            file_path = Path(path)
            if content is None:
                content = file_path.read_bytes()
            name = name or file_path.name
            original_name = original_name or file_path.name
        elif content is not None:
            if name is None:
                raise ValueError("name must be provided when using content")
            original_name = original_name or name
        else:
            raise ValueError("Either path or content must be provided")
        if isinstance(self._adapter, _OURS):
            self._adapter.add_file(self._id, name, bytes(content))
        else:
            self._adapter.add_file(self._id, name, original_name, bytes(content))

    def remove_file(self, name: str, missing_ok: bool = False) -> None:
        try:
            self._adapter.remove_file(self._id, name)
        except (ValueError, FileNotFoundError, KeyError):
            if not missing_ok:
                raise

    def add_files(self, pattern: str) -> List[Path]:
        added = []
        for match in glob_module.glob(str(pattern), recursive=True):
            path = Path(match)
            if path.is_file():
                self.add_file(path=path)
                added.append(path)
        return added

    def remove_files(self, pattern: str, missing_ok: bool = True) -> List[str]:
        removed = []
        for name in self.list_files():
            if fnmatch.fnmatch(name, pattern):
                self.remove_file(name, missing_ok=True)
                removed.append(name)
        return removed

    def get_email(self, name: str = "email.eml") -> Email:
        return Email.from_bytes(self.get_file(name))


class Input(WorkItem):
    """An input work item; release it with ``done()``/``fail()`` or ``with item:``."""

    def __init__(self, adapter, item_id: str, payload: JSONType = None):
        super().__init__(adapter, item_id, payload)
        self._state = State.IN_PROGRESS
        self._exception: Optional[BaseException] = None

    def __enter__(self) -> "Input":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> bool:
        if self._released:
            return False
        if exc_val is None:
            self.done()
            return False
        self._exception = exc_val
        if isinstance(exc_val, BusinessException):
            self.fail(ExceptionType.BUSINESS, getattr(exc_val, "code", None), str(exc_val))
        elif isinstance(exc_val, ApplicationException):
            self.fail(ExceptionType.APPLICATION, getattr(exc_val, "code", None), str(exc_val))
        else:
            self.fail(ExceptionType.APPLICATION, exc_type.__name__ if exc_type else "ERROR",
                      str(exc_val))
        return False  # never swallowed

    @property
    def released(self) -> bool:
        return self._released

    @property
    def state(self) -> State:
        return self._state

    @property
    def exception(self) -> Optional[BaseException]:
        return self._exception

    def done(self) -> None:
        if self._released:
            log.warning("Input %s already released", self._id)
            return
        self.save()
        _release(self._adapter, self._id, True)
        self._released = True
        self._state = State.DONE
        log.info("Input %s marked as DONE", self._id)

    def fail(self, exception_type=ExceptionType.APPLICATION, code: Optional[str] = None,
             message: Optional[str] = None) -> None:
        if self._released:
            log.warning("Input %s already released", self._id)
            return
        etype = exception_type if isinstance(exception_type, ExceptionType) else \
            ExceptionType(str(exception_type).upper())
        self.save()
        _release(self._adapter, self._id, False, etype, code, _truncate(message or ""))
        self._released = True
        self._state = State.FAILED
        log.info("Input %s marked as FAILED: %s", self._id, message)

    def create_output(self, payload: JSONType = None) -> "Output":
        output_id = self._adapter.create_output(self._id, payload)
        return Output(self._adapter, output_id, payload, parent_id=self._id)


class Output(WorkItem):
    """An output work item (created in the output queue at once)."""

    def __init__(self, adapter, item_id: str, payload: JSONType = None, parent_id=None):
        super().__init__(adapter, item_id, payload)
        self._parent_id = parent_id
        if payload is not None:
            self._payload_modified = True

    @property
    def parent_id(self):
        return self._parent_id


class Inputs:
    """Input work items: ``for item in inputs`` reserves until the queue is empty."""

    def __init__(self, adapter):
        self._adapter = adapter
        self._current: Optional[Input] = None
        self._items: List[Input] = []

    @property
    def current(self) -> Optional[Input]:
        return self._current

    @property
    def released(self) -> List[Input]:
        return [item for item in self._items if item.released]

    def __iter__(self) -> Iterator[Input]:
        while True:
            try:
                item = self.reserve()
            except EmptyQueue:
                break
            yield item

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Input:
        return self._items[index]

    def reserve(self) -> Input:
        item = Input(self._adapter, _reserve(self._adapter))
        self._current = item
        self._items.append(item)
        return item


def _reserve(adapter) -> str:
    try:
        return adapter.reserve_input()
    except EmptyQueue:
        raise
    except IndexError as exc:  # robocorp's EmptyQueue from robotni's adapter
        if type(exc).__name__ == "EmptyQueue":
            raise EmptyQueue(str(exc) or "No work items in the input queue") from None
        raise


class Outputs:
    """Outputs created by this process."""

    def __init__(self, adapter, inputs: Inputs):
        self._adapter = adapter
        self._inputs = inputs
        self._items: List[Output] = []

    @property
    def last(self) -> Optional[Output]:
        return self._items[-1] if self._items else None

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Output:
        return self._items[index]

    def create(self, payload: JSONType = None, files=None, save: bool = True) -> Output:
        current = self._inputs.current
        if current is None:
            raise RuntimeError(
                "No current input work item. Reserve an input before creating outputs.")
        output = current.create_output(payload)
        _attach(output, files)
        if save:
            output.save()
        self._items.append(output)
        return output


def _attach(output: Output, files) -> None:
    for name, value in (files or {}).items():
        if isinstance(value, (bytes, bytearray)):
            output.add_file(content=bytes(value), name=name)
        else:
            output.add_file(path=value, name=name)


class WorkItemsContext:
    """The adapter and the current input (0.2: one per process, set by ``init()``)."""

    def __init__(self, adapter):
        self._adapter = adapter
        self._current_input: Optional[Input] = None

    @property
    def adapter(self):
        return self._adapter

    @property
    def current_input(self) -> Optional[Input]:
        return self._current_input

    def inputs(self) -> Iterator[Input]:
        while True:
            try:
                item = Input(self._adapter, _reserve(self._adapter))
            except EmptyQueue:
                break
            self._current_input = item
            try:
                yield item
            finally:
                self._current_input = None

    def get_input(self) -> Input:
        item = Input(self._adapter, _reserve(self._adapter))
        self._current_input = item
        return item

    def create_output(self, payload: JSONType = None, files=None, save: bool = False) -> Output:
        if self._current_input is None:
            raise RuntimeError("No current input - cannot create output")
        output = self._current_input.create_output(payload)
        _attach(output, files)
        if save:
            output.save()
        return output

    def seed_input(self, payload: JSONType = None, files=None, queue_name=None) -> str:
        content = None
        if files:
            content = {name: value if isinstance(value, (bytes, bytearray))
                       else Path(value).read_bytes() for name, value in files.items()}
        return self._adapter.seed_input(payload, content, queue_name)


_context: Optional[WorkItemsContext] = None


def get_context() -> WorkItemsContext:
    if _context is None:
        raise RuntimeError(
            "Work items context not initialized. "
            "Call work_items.init() first or set environment variables.")
    return _context


def init(adapter=None) -> WorkItemsContext:
    global _context
    if adapter is None:
        adapter = _adapters.create_adapter()
    inputs._reset()
    outputs._reset()
    _context = WorkItemsContext(adapter)
    return _context


def _auto_init() -> WorkItemsContext:
    if _context is None:
        return init()
    return _context


def _reset() -> None:
    global _context
    _context = None
    inputs._reset()
    outputs._reset()


class _LazyProxy:
    """Stands for the Inputs / Outputs made on first use (0.2's module-level objects)."""

    _instance = None

    def __iter__(self):
        return iter(self._get_instance())

    def __len__(self):
        return len(self._get_instance())

    def __getitem__(self, index):
        return self._get_instance()[index]

    def __getattr__(self, name):
        return getattr(self._get_instance(), name)

    def _get_instance(self):
        raise NotImplementedError


class _InputsSingleton(_LazyProxy):
    _instance: Optional[Inputs] = None

    def _get_instance(self) -> Inputs:
        if self._instance is None:
            self._instance = Inputs(_auto_init().adapter)
        return self._instance

    def _reset(self):
        self._instance = None


class _OutputsSingleton(_LazyProxy):
    _instance: Optional[Outputs] = None

    def __init__(self, inputs_singleton: _InputsSingleton):
        self._inputs_singleton = inputs_singleton

    def _get_instance(self) -> Outputs:
        if self._instance is None:
            ctx = _auto_init()
            self._instance = Outputs(ctx.adapter, self._inputs_singleton._get_instance())
        return self._instance

    def _reset(self):
        self._instance = None


inputs = _InputsSingleton()
outputs = _OutputsSingleton(inputs)


def get_input() -> Input:
    return get_context().get_input()


def create_output(payload: JSONType = None, files=None, save: bool = False) -> Output:
    return get_context().create_output(payload, files, save)


def seed_input(payload: JSONType = None, files=None, queue_name=None) -> str:
    return get_context().seed_input(payload, files, queue_name)


PUBLIC = {
    "__version__": __version__,
    "State": State,
    "Address": Address,
    "Email": Email,
    "WorkItem": WorkItem,
    "Input": Input,
    "Output": Output,
    "Inputs": Inputs,
    "Outputs": Outputs,
    "inputs": inputs,
    "outputs": outputs,
    "WorkItemsContext": WorkItemsContext,
    "init": init,
    "get_context": get_context,
    "get_input": get_input,
    "create_output": create_output,
    "seed_input": seed_input,
}
