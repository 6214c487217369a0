"""The ``inputs``/``outputs`` queue views (robocorp.workitems 1.5.0 behaviour)."""

from pathlib import Path
from typing import Callable, Optional, Union

from ._exceptions import EmptyQueue


_package = None


def _package_ctx():
    """The package's context getter. The package module is looked up once (these calls are
    per item), its ``_ctx`` every time: upstream's own test fixtures patch
    ``robocorp.workitems._ctx``, and a getter kept from the first call ignored that."""
    global _package
    if _package is None:
        import sys

        _package = sys.modules[__name__.rpartition(".")[0]]
    return _package._ctx


class _ContextView:
    """A view on the task's work-item context (the package's by default)."""

    def __init__(self, get_context: Optional[Callable] = None):
        self._get_context = get_context

    def _ctx(self):
        if self._get_context is None:
            package = _package  # set after the first call: twice per item, one call less
            if package is None:
                return _package_ctx()()
            return package._ctx()
        return self._get_context()


class Inputs(_ContextView):
    """The input queue of work items: reserve, release and iterate."""

    _empty_queue = EmptyQueue

    def __iter__(self):
        # NOTE: a generator can't see exceptions raised in the loop body; if it
        # is closed early (break/exception), GeneratorExit hits the ``with``
        # below and the item is released as an APPLICATION failure (as upstream).
        current = self.current
        if current is not None and not current.released:
            with current as item:
                yield item

        while True:
            try:
                with self.reserve() as item:
                    yield item
            except self._empty_queue:
                break

    @property
    def current(self):
        """The current reserved input item."""
        return self._ctx().current_input

    @property
    def released(self) -> list:
        """Inputs reserved and released during this task."""
        return [item for item in self._ctx().inputs if item.released]

    def reserve(self):
        """Reserve the next input work item.

        Raises:
            RuntimeError: An input work item is already reserved
            EmptyQueue: There are no further items in the queue
        """
        return self._ctx().reserve_input()


PathOrPaths = Union[str, Path, list, None]



class Outputs(_ContextView):
    """The output work items created during this task."""

    def __len__(self):
        return len(self._ctx().outputs)

    def __getitem__(self, key):
        return self._ctx().outputs[key]

    def __iter__(self):
        return iter(self._ctx().outputs)

    def __reversed__(self):
        return reversed(self._ctx().outputs)

    @property
    def last(self):
        """The most recently created output work item, or ``None``."""
        outputs = self._ctx().outputs
        if not outputs:
            return None
        return outputs[-1]

    def _attach(self, item, files):
        if isinstance(files, (Path, str)):
            item.add_files(pattern=files)
        else:
            for path in files:
                item.add_file(path=path)

    def create(self, payload=None, files: PathOrPaths = None, save: bool = True):
        """Create an output work item (needs a reserved input as parent).

        Args:
            payload: JSON serializable data
            files: path, glob pattern, or list of paths to attach
            save: save immediately
        Raises:
            RuntimeError: No input work item reserved
        """
        item = self._ctx().create_output()

        if payload is not None:
            item.payload = payload

        if files is not None:
            self._attach(item, files)

        if save:
            item.save()

        return item
