from typing import Optional

from ._adapters import BaseAdapter, create_adapter
from . import _workitem
from ._workitem import Input, WorkItem


class Context:
    """Work item state of one task: the adapter, reserved inputs and their outputs."""

    input_class = Input

    def __init__(self, adapter: Optional[BaseAdapter] = None, adapter_factory=None) -> None:
        self._inputs: list = []
        self._adapter: Optional[BaseAdapter] = adapter
        self._adapter_factory = adapter_factory or create_adapter
        # robotni's _robotni.gc_hold / gc_release when the package context sets them: the
        # items this context keeps alive stay out of the cyclic GC until release_gc_hold().
        self._gc_hold = None
        self._gc_release = None
        self._gc_held: list = []

    def hold_from_gc(self, native) -> None:
        """Keeps the inputs and outputs of this context out of CPython's cyclic GC while
        the context holds them (they are alive anyway; full collections walked them all,
        22% of a 100,000-item run). release_gc_hold() must follow."""
        self._gc_hold = native.gc_hold
        self._gc_release = native.gc_release

    def release_gc_hold(self) -> None:
        """Puts every held input, output and output list back under the cyclic GC."""
        release = self._gc_release
        if release is None:
            return
        self._gc_hold = self._gc_release = None
        held, self._gc_held = self._gc_held, []
        release(held)

    def _hold(self, obj) -> None:
        self._gc_hold(obj)
        self._gc_held.append(obj)

    @property
    def inputs(self) -> list:
        return self._inputs

    @property
    def outputs(self) -> list:
        items = []
        for item in self._inputs:
            items.extend(item.outputs)
        return items

    @property
    def adapter(self) -> BaseAdapter:
        if self._adapter is None:
            self._adapter = self._adapter_factory()
        return self._adapter

    @property
    def current_input(self) -> Optional[Input]:
        if not self._inputs:
            return None
        return self._inputs[-1]

    def reserve_input(self) -> Input:
        inputs = self._inputs
        if inputs and not inputs[-1].released:
            raise RuntimeError("Previous input not released")

        adapter = self._adapter
        if adapter is None:
            adapter = self.adapter
        cls = self.input_class
        # robotni's adapter reserves and loads in one call (per item, three Python calls
        # less); an Input class with its own load() still gets it called.
        fused = getattr(adapter, "_reserve_and_load", None) if cls.load is WorkItem.load else None
        if fused is not None:
            item_id, payload, files = fused()
            item = cls(adapter, item_id)
            item._payload = payload
            if files:
                item._files = sorted(files)
        else:
            item_id = adapter.reserve_input()
            item = cls(adapter, item_id)
            item.load()
        inputs.append(item)
        if self._gc_hold is not None:
            self._hold(item)
        hooks = _workitem.log_hooks
        if hooks is not None:
            hooks[0](item)
        return item

    def create_output(self):
        parent = self._inputs[-1] if self._inputs else None
        if parent is None:
            raise RuntimeError("Unable to create output without an input item")
        item = parent.create_output()
        if self._gc_hold is not None:
            self._hold(item)
            outputs = parent._outputs
            if len(outputs) == 1:  # the list is new: hold it once
                self._hold(outputs)
        return item

    def flush(self):
        adapter = self._adapter
        flush = getattr(adapter, "flush", None) if adapter is not None else None
        if flush is not None:
            flush()
