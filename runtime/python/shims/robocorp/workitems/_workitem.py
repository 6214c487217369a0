"""Work item containers (behaviour of robocorp.workitems 1.5.0 ``_workitem.py``).

The classes are parameterised by a few class attributes so that the
``actions.work_items`` 0.4 flavour can reuse them with its own exceptions.
"""

import fnmatch
import json
import logging
import os
import warnings
from glob import glob
from pathlib import Path
from typing import Any, Optional, Union

from ._exceptions import ApplicationException, BusinessException, to_exception_type
from ._types import Email, ExceptionType, JSONType, PathType, State
from ._utils import truncate

LOGGER = logging.getLogger(__name__)


# A task keeps every item it reserved or created (``inputs.released``, ``outputs``), so
# each container an item holds is one more object for every cyclic GC pass over the
# whole heap: with 100,000 items that was half the task's time. Empty file lists and
# removal sets are therefore the shared empty tuple until something is put in them
# (a tuple answers ``in``, ``len`` and iteration the same way).
_NONE = ()

# robocorp.log's work-item rows: (on_reserve(item), on_release(item)) while a run's
# log is recorded (robocorp.tasks sets it for each task, None otherwise).
log_hooks = None


class WorkItem:
    def __init__(self, adapter, item_id: Optional[str] = None, parent_id: Optional[str] = None):
        self._adapter = adapter
        self._id: Optional[str] = item_id
        self._parent_id: Optional[str] = parent_id
        self._payload: JSONType = None
        self._files = _NONE  # list of names once there are any
        # name -> Path (or bytes for the actions flavour); an empty dict is not GC-tracked
        self._files_to_add: dict = {}
        self._files_to_remove = _NONE  # set of names once there are any
        self._saved = False

    @property
    def id(self) -> Optional[str]:
        """Current ID for work item."""
        return self._id

    @property
    def parent_id(self) -> Optional[str]:
        """Current parent work item ID (output only)."""
        return self._parent_id

    @property
    def payload(self) -> JSONType:
        """Current JSON payload."""
        return self._payload

    @payload.setter
    def payload(self, value: JSONType):
        self._saved = False
        self._payload = value

    @property
    def files(self) -> list:
        """Names of attached files."""
        files = self._files
        if files is _NONE:
            files = self._files = []
        return files

    @property
    def saved(self) -> bool:
        """Is the current item saved."""
        return self._saved

    def load(self) -> None:
        """Load work item payload and file listing from the adapter."""
        item_id = self._id
        if item_id is None:
            raise RuntimeError("Unable to load unsaved item")
        adapter = self._adapter
        self._payload = adapter.load_payload(item_id)
        files = adapter.list_files(item_id)
        if not files:
            self._files = _NONE
        else:
            files = list(files)
            files.sort()
            self._files = files
        self._saved = True

    def _read_pending(self, source) -> bytes:
        if isinstance(source, (bytes, bytearray)):
            return bytes(source)
        with open(source, "rb") as fd:
            return fd.read()

    def save(self):
        """Save the work item: payload, then queued file additions/removals."""
        # Per output item: the attributes, not their properties.
        if self._id is not None:
            self._adapter.save_payload(self._id, self._payload)
        elif self._parent_id is not None:
            self._id = self._adapter.create_output(self._parent_id, self._payload)
        else:
            raise RuntimeError("Invalid work item state (no id or parent_id)")

        assert self._id is not None

        if not self._files_to_add and not self._files_to_remove:
            self._saved = True  # hot path: an output with a payload only
            return
        for name, source in self._files_to_add.items():
            self._adapter.add_file(self.id, name, self._read_pending(source))

        for name in self._files_to_remove:
            self._adapter.remove_file(self.id, name)

        self._files = list(
            (set(self._files) - set(self._files_to_remove)) | set(self._files_to_add)
        )
        self._files.sort()
        self._files_to_add = {}
        self._files_to_remove = _NONE
        self._saved = True

    def add_file(self, path: PathType, name: Optional[str] = None) -> Path:
        """Attach a local file (uploaded when the item is saved)."""
        path = Path(path).resolve()
        name = name or path.name

        if not path.is_file():
            raise FileNotFoundError(f"Not a valid file: {path}")

        if name in self._files:
            LOGGER.warning('File with name "%s" already exists', name)

        self._saved = False
        self._files_to_add[name] = path
        LOGGER.info("Added file: %s", name)
        return path

    def add_files(self, pattern: PathType) -> list:
        """Attach local files matching a glob pattern (non-recursive)."""
        paths = []
        for match in glob(str(pattern), recursive=False):
            path = self.add_file(match)
            if path is not None:
                paths.append(path)
        LOGGER.info("Added %d file(s)", len(paths))
        return paths

    def remove_file(self, name: str, missing_ok: bool = False):
        """Remove an attached file (applied when the item is saved)."""
        if name not in self._files:
            if missing_ok:
                return
            raise FileNotFoundError(f"No such file in work item: {name}")
        LOGGER.info("Removing file: %s", name)
        if self._files_to_remove is _NONE:
            self._files_to_remove = set()
        self._files_to_remove.add(name)
        self._saved = False

    def remove_files(self, pattern: str) -> list:
        """Remove attached files whose names match a glob pattern."""
        names = []
        for name in self._files:
            if fnmatch.fnmatch(name, pattern):
                self.remove_file(name)
                names.append(name)
        LOGGER.info("Removing %d file(s)", len(names))
        return names


class Input(WorkItem):
    """An input work item (reserved from the input queue)."""

    # Exceptions swallowed by ``with item:`` and the classifier used on failure.
    _suppressed_exceptions: tuple = (ApplicationException, BusinessException)
    _to_exception_type = staticmethod(to_exception_type)
    _State = State

    def __init__(self, adapter, item_id: str):
        WorkItem.__init__(self, adapter, item_id)
        self._state: Optional[State] = None
        self._exception: Optional[dict] = None
        self._outputs = _NONE  # list once an output is created
        self._saved = True

    def __repr__(self):
        try:
            payload = truncate(json.dumps(self._payload), 64)
        except (TypeError, ValueError):
            payload = truncate(repr(self._payload), 64)
        return (
            "Input["
            + f"id={self.id},"
            + f"payload={payload},"
            + f"files={self.files},"
            + f"state={self.state},"
            + f"saved={self.saved}]"
        )

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if self._state is not None:  # released
            return False

        if exc_type is None:
            self.done()
            return False

        exception_type = self._to_exception_type(exc_type)
        code = getattr(exc_value, "code", None)
        message = getattr(exc_value, "message", str(exc_value))

        self.fail(exception_type=exception_type, code=code, message=message)

        # Do not propagate library-specific exceptions
        return any(issubclass(exc_type, t) for t in self._suppressed_exceptions)

    @property
    def state(self) -> Optional[State]:
        """Current release state."""
        return self._state

    @property
    def exception(self) -> Optional[dict]:
        """Failure details ({"type", "code", "message"}) after ``fail()``."""
        return self._exception

    @property
    def released(self) -> bool:
        """Is the current item released."""
        return self._state is not None

    @property
    def outputs(self) -> list:
        """Child output work items."""
        return list(self._outputs)

    def save(self):
        """Save the input work item (payload and pending file changes)."""
        super().save()

    def email(self, html=True, encoding="utf-8", ignore_errors=False) -> Email:
        """Parse an email attached by Control Room (``email``/``failedEmail``)."""
        assert self.id is not None
        email = self._parse_email()

        if email.errors and not ignore_errors:
            raise ValueError("\n".join(email.errors))

        if html and "__mail.html" in self._files:
            content = self._adapter.get_file(self.id, "__mail.html")
            email.html = content.decode(encoding)

        return email

    def _parse_email(self) -> Email:
        if not isinstance(self._payload, dict):
            typename = type(self._payload).__name__
            raise ValueError(f"Expected 'dict' payload, was '{typename}'")

        def _try_parse(fields):
            try:
                return Email.from_dict(fields)
            except KeyError as err:
                raise ValueError(f"Missing key in 'email' field: {err}") from err
            except Exception as err:
                raise ValueError(f"Malformed 'email' field: {err}") from err

        if "email" in self._payload:
            return _try_parse(self._payload["email"])

        if "failedEmail" in self._payload:
            email = _try_parse(self._payload["failedEmail"])
            email.errors = self._parse_email_errors(self._payload)
            return email

        raise ValueError("No email in work item")

    @staticmethod
    def _parse_email_errors(payload: dict) -> list:
        errors = payload.get("errors", [])
        if not isinstance(errors, list):
            LOGGER.warning("Expected 'errors' as 'list', was '%s'", type(errors))
            return []
        result = []
        for err in errors:
            msg = err["message"]
            files = err.get("files")
            if files:
                msg += " (" + ", ".join(f["name"] for f in files) + ")"
            result.append(msg)
        return result

    def get_file(self, name: str, path: Optional[PathType] = None) -> Path:
        """Write the attached file ``name`` to ``path`` (default ROBOT_ROOT/name)."""
        assert self.id is not None
        if name not in self.files:
            raise FileNotFoundError(f"No file with name: {name}")

        if path is None:
            path = Path(os.getenv("ROBOT_ROOT", "")) / name
        else:
            path = Path(path)

        content = self._adapter.get_file(self.id, name)
        with open(path, "wb") as fd:
            fd.write(content)
        return path.absolute()

    def get_files(self, pattern: str, path: Optional[PathType] = None) -> list:
        """Write all attached files matching ``pattern`` into directory ``path``."""
        assert self.id is not None
        if path is None:
            path = Path(os.getenv("ROBOT_ROOT", ""))
        else:
            path = Path(path)
        path.mkdir(parents=True, exist_ok=True)

        paths = []
        for name in self.files:
            if not fnmatch.fnmatch(name, pattern):
                continue
            filepath = (path / name).absolute()
            paths.append(filepath)
            content = self._adapter.get_file(self.id, name)
            with open(filepath, "wb") as fd:
                fd.write(content)
        return paths

    _output_class: Any = None  # set below

    def create_output(self) -> "Output":
        """Create an (unsaved) output work item that is a child of this item."""
        assert self._id is not None
        item = self._output_class(self._adapter, self._id)
        if self._outputs is _NONE:
            self._outputs = [item]
        else:
            self._outputs.append(item)
        return item

    def done(self):
        """Mark this work item as done, and release it."""
        assert self._id is not None
        if self._state is not None:
            raise RuntimeError("Work item already released")
        state = self._State.DONE
        self._adapter.release_input(self._id, state, exception=None)
        self._state = state
        if log_hooks is not None:
            log_hooks[1](self)

    def fail(
        self,
        exception_type: Union[ExceptionType, str] = ExceptionType.APPLICATION,
        code: Optional[str] = None,
        message: Optional[str] = None,
    ):
        """Mark this work item as failed, and release it."""
        assert self.id is not None
        if self._state is not None:
            raise RuntimeError("Work item already released")

        type_ = (
            exception_type
            if isinstance(exception_type, ExceptionType)
            else ExceptionType(str(exception_type).upper())
        )
        exception = {"type": type_.value, "code": code, "message": message}

        state = self._State.FAILED
        self._adapter.release_input(self.id, state, exception=exception)
        self._state = state
        self._exception = exception
        if log_hooks is not None:
            log_hooks[1](self)

    # Backwards compatibility
    def download_file(self, name: str, path: Optional[PathType] = None) -> Path:
        warnings.warn(
            "download_file() will be removed in version 2.x, use get_file()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.get_file(name, path)

    def download_files(self, pattern: str, path: Optional[PathType] = None) -> list:
        warnings.warn(
            "download_files() will be removed in version 2.x, use get_files()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.get_files(pattern, path)


class Output(WorkItem):
    """An output work item; always has an input item as its parent."""

    def __init__(self, adapter, parent_id: str):
        WorkItem.__init__(self, adapter, None, parent_id)

    def __repr__(self):
        payload = truncate(str(self.payload), 64)
        return (
            "Output["
            + f"id={self.id},"
            + f"parent={self.parent_id},"
            + f"payload={payload},"
            + f"files={self.files},"
            + f"saved={self.saved}]"
        )

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        # robocorp.workitems 1.5.0 quirk: saves only when an exception occurred.
        if exc_type is not None:
            self.save()


Input._output_class = Output
