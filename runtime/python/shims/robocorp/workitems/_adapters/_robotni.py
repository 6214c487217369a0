"""Adapter onto robotni's native work item store (the ``_robotni`` module).

``_robotni`` is imported lazily: outside robotni it does not exist.
"""

import json
from enum import Enum
from typing import Optional

from .._exceptions import EmptyQueue
from .._types import JSONType, State
from ._base import BaseAdapter


def native():
    """Return the ``_robotni`` module, or None when not running inside robotni."""
    try:
        import _robotni  # type: ignore
    except ImportError:
        return None
    return _robotni


def has_store() -> bool:
    mod = native()
    if mod is None:
        return False
    try:
        return bool(mod.has_store())
    except Exception:
        return False


def _make_dumps():
    """json.dumps(x, ensure_ascii=False), without its per-call set-up.

    dumps builds a JSONEncoder and a C encoder on every call, which costs more than
    encoding a small payload; outputs are created per item, so one C encoder is kept.
    """
    encoder = json.JSONEncoder(ensure_ascii=False)
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:
        return encoder.encode
    markers: dict = {}
    iterencode = c_make_encoder(
        markers, encoder.default, json.encoder.encode_basestring, None,
        ": ", ", ", False, False, True,
    )

    def dumps(value):
        try:
            return "".join(iterencode(value, 0))
        except BaseException:
            markers.clear()  # a failed encode can leave container marks behind
            raise

    return dumps


_dumps = _make_dumps()


def _make_loads():
    """json.loads for the store's payload text, skipping its per-call checks.

    The store keeps valid JSON; the C scanner parses it in one call. Anything it does
    not consume whole (surrounding whitespace) goes through json.loads as before.
    """
    c_make_scanner = getattr(json.scanner, "c_make_scanner", None)
    if c_make_scanner is None:
        return json.loads
    scan = c_make_scanner(json.JSONDecoder())

    def loads(text):
        try:
            value, end = scan(text, 0)
        except StopIteration:
            return json.loads(text)  # raises the usual JSONDecodeError
        if end != len(text):
            return json.loads(text)
        return value

    return loads


_loads = _make_loads()


_STATE_NAMES = {member: member.value for member in State}


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    return value


class RobotniAdapter(BaseAdapter):
    """Work items of the robotni store bound to the current run."""

    def __init__(self, module=None):
        mod = module if module is not None else native()
        if mod is None:
            raise RuntimeError(
                "RobotniAdapter needs the _robotni module, which only exists inside robotni"
            )
        self._rt = mod
        # Resolved once: reserve is per item. Older modules lack the fused call.
        self._reserve_loaded = getattr(mod, "reserve_input_loaded", None)
        # (id, payload text, file names) of the input just reserved, each read once.
        self._loaded_payload = None
        self._loaded_files = None

    def _forget(self, item_id: str):
        if self._loaded_payload is not None and self._loaded_payload[0] == item_id:
            self._loaded_payload = None
        if self._loaded_files is not None and self._loaded_files[0] == item_id:
            self._loaded_files = None

    def reserve_input(self) -> str:
        reserve_loaded = self._reserve_loaded
        if reserve_loaded is None:
            item_id = self._rt.reserve_input()
        else:
            # The item's payload and file names come with it; load() reads them from
            # here once instead of asking the store again.
            loaded = reserve_loaded()
            item_id = None if loaded is None else loaded[0]
            self._loaded_payload = loaded
            self._loaded_files = loaded
        if item_id is None:
            raise EmptyQueue("No work items in the input queue")
        return str(item_id)

    def _reserve_and_load(self):
        """reserve_input(), load_payload() and list_files() of the reserved item at once:
        (id, payload, file names). Raises EmptyQueue as reserve_input() does."""
        reserve_loaded = self._reserve_loaded
        if reserve_loaded is None:
            item_id = self.reserve_input()
            return item_id, self.load_payload(item_id), self.list_files(item_id)
        loaded = reserve_loaded()
        if loaded is None:
            raise EmptyQueue("No work items in the input queue")
        text = loaded[1]
        return str(loaded[0]), _loads(text) if text else None, loaded[2]

    def release_input(self, item_id: str, state: State, exception: Optional[dict] = None):
        exc = None
        if exception is not None:
            exc = {
                "type": _plain(exception.get("type")),
                "code": None if exception.get("code") is None else str(exception.get("code")),
                "message": None
                if exception.get("message") is None
                else str(exception.get("message")),
            }
        name = _STATE_NAMES.get(state)  # State members, the per-item case
        self._rt.release_input(item_id, name if name else str(_plain(state)), exc)

    def create_output(self, parent_id: str, payload: Optional[JSONType] = None) -> str:
        return str(self._rt.create_output(parent_id, _dumps(payload)))

    def load_payload(self, item_id: str) -> JSONType:
        loaded = self._loaded_payload
        if loaded is not None and loaded[0] == item_id:
            self._loaded_payload = None
            text = loaded[1]
        else:
            text = self._rt.load_payload(item_id)
        if text is None or text == "":
            return None
        return _loads(text)

    def save_payload(self, item_id: str, payload: JSONType):
        self._forget(item_id)
        self._rt.save_payload(item_id, _dumps(payload))

    def list_files(self, item_id: str) -> list:
        loaded = self._loaded_files
        if loaded is not None and loaded[0] == item_id:
            self._loaded_files = None
            return loaded[2]  # a new list from the module, ours to hand on
        return list(self._rt.list_files(item_id))

    def get_file(self, item_id: str, name: str) -> bytes:
        return bytes(self._rt.get_file(item_id, name))

    def add_file(self, item_id: str, name: str, content: bytes):
        self._forget(item_id)
        self._rt.add_file(item_id, name, bytes(content))

    def remove_file(self, item_id: str, name: str):
        self._forget(item_id)
        self._rt.remove_file(item_id, name)

    def flush(self):
        flush = getattr(self._rt, "flush", None)
        if flush is not None:
            flush()
