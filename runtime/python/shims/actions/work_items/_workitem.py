"""0.4.x work items: robocorp 1.5.0 behaviour plus the actions differences."""

from pathlib import Path
from typing import Optional, Union

from robocorp.workitems import _workitem as _rc

from ._exceptions import ApplicationException, BusinessException, to_exception_type
from ._types import JSONType, PathType, State


class WorkItem(_rc.WorkItem):
    def add_file(
        self,
        path: Optional[PathType] = None,
        name: Optional[str] = None,
        content: Optional[bytes] = None,
        original_name: Optional[str] = None,
    ) -> Optional[Path]:
        """Attach a file by path, or raw ``content`` under ``name`` (on save)."""
        if path is not None:
            resolved = Path(path).resolve()
            if not resolved.is_file():
                raise FileNotFoundError(f"Not a valid file: {resolved}")
            name = name or resolved.name
            source: Union[Path, bytes] = resolved if content is None else bytes(content)
        elif content is not None:
            if name is None:
                raise ValueError("name must be provided when using content")
            source = bytes(content)
            resolved = None
        else:
            raise ValueError("Either path or content must be provided")

        if name in self._files:
            _rc.LOGGER.warning('File with name "%s" already exists', name)
        self._saved = False
        self._files_to_add[name] = source
        return resolved

    def list_files(self) -> list:
        return list(self.files)

    def get_file(self, name: str) -> bytes:
        """Content of an attached (or pending) file."""
        pending = self._files_to_add.get(name)
        if pending is not None:
            return self._read_pending(pending)
        if self.id is None or name not in self._files:
            raise FileNotFoundError(f"No file with name: {name}")
        try:
            return self._adapter.get_file(self.id, name)
        except KeyError as err:
            raise FileNotFoundError(f"No file with name: {name}") from err


class Input(WorkItem, _rc.Input):
    _suppressed_exceptions = (ApplicationException, BusinessException)
    _to_exception_type = staticmethod(to_exception_type)
    _State = State

    def get_file(self, name: str, path: Optional[PathType] = None) -> Path:
        return _rc.Input.get_file(self, name, path)

    def create_output(self, payload: JSONType = None) -> "Output":
        item = _rc.Input.create_output(self)
        if payload is not None:
            item.payload = payload
        return item


class Output(WorkItem, _rc.Output):
    def __exit__(self, exc_type, exc_value, traceback):
        # actions-work-items 0.4.x: saves on success (robocorp 1.5.0: on error)
        if exc_type is None and not self.saved:
            self.save()


Input._output_class = Output
