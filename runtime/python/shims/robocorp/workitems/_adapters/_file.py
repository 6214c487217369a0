"""Local development adapter (behaviour of robocorp.workitems 1.5.0 ``_adapters/_file.py``)."""

import json
import logging
import os
from pathlib import Path
from typing import Optional

from .._exceptions import EmptyQueue
from .._types import JSONType, State
from .._utils import json_dumps, resolve_path
from ._base import BaseAdapter

ENCODING = "utf-8"
LOGGER = logging.getLogger(__name__)

INPUT_HELP = """\
Work items input path not defined, to simulate different input values set the
environment variable `RC_WORKITEM_INPUT_PATH`.

Generated input path: {path}
"""

OUTPUT_HELP = """\
Work items output path not defined, to control the path of the
generated output file set the environment variable `RC_WORKITEM_OUTPUT_PATH`.

Generated output path: {path}
"""


class FileAdapter(BaseAdapter):
    """Simulates the work item queues with local JSON files.

    * RC_WORKITEM_INPUT_PATH (legacy RPA_INPUT_WORKITEM_PATH): input JSON file
    * RC_WORKITEM_OUTPUT_PATH (legacy RPA_OUTPUT_WORKITEM_PATH): output JSON file

    Without an input path, ``<$ROBOT_ARTIFACTS or ./output>/work-items-in/workitems.json``
    is generated with one empty item; without an output path
    ``<$ROBOT_ARTIFACTS or ./output>/work-items-out/workitems.json`` is used.
    """

    def __init__(self) -> None:
        self._input_path: Optional[Path] = None
        self._output_path: Optional[Path] = None

        self._inputs: list = self._load_inputs()
        self._outputs: list = []
        self._releases: dict = {}
        self._index: int = 0

    @property
    def input_path(self) -> Path:
        if self._input_path is None:
            self._input_path = self._resolve_input_path()
        return self._input_path

    @property
    def output_path(self) -> Path:
        if self._output_path is None:
            self._output_path = self._resolve_output_path()
        return self._output_path

    def _load_inputs(self) -> list:
        try:
            with open(self.input_path, "r", encoding=ENCODING) as infile:
                data = json.load(infile)

            if not isinstance(data, list):
                raise ValueError("Expected list of items")
            if any(not isinstance(d, dict) for d in data):
                raise ValueError("Items should be dictionaries")
            if len(data) == 0:
                raise ValueError("Expected at least one item")
            return data
        except Exception as exc:
            raise ValueError(f"Invalid work items file: {exc}") from exc

    def _resolve_input_path(self) -> Path:
        env = os.getenv("RC_WORKITEM_INPUT_PATH") or os.getenv("RPA_INPUT_WORKITEM_PATH")
        if env:
            return resolve_path(env)

        parent = resolve_path(os.getenv("ROBOT_ARTIFACTS") or "output")
        path = parent / "work-items-in" / "workitems.json"
        LOGGER.warning(INPUT_HELP.format(path=path))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding=ENCODING) as fd:
            fd.write(json_dumps([{"payload": None, "files": {}}]))
        return path

    def _resolve_output_path(self) -> Path:
        env = os.getenv("RC_WORKITEM_OUTPUT_PATH") or os.getenv("RPA_OUTPUT_WORKITEM_PATH")
        if env:
            return resolve_path(env)

        parent = resolve_path(os.getenv("ROBOT_ARTIFACTS") or "output")
        path = parent / "work-items-out" / "workitems.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        LOGGER.warning(OUTPUT_HELP.format(path=path))
        return path

    def _save_inputs(self):
        self.input_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.input_path, "w", encoding=ENCODING) as fd:
            fd.write(json_dumps(self._inputs, indent=4))
        LOGGER.info("Saved input work items: %s", self.input_path)

    def _save_outputs(self):
        self.output_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.output_path, "w", encoding=ENCODING) as fd:
            fd.write(json_dumps(self._outputs, indent=4))
        LOGGER.info("Saved output work items: %s", self.output_path)

    def _save(self, source: str):
        if source == "input":
            self._save_inputs()
        else:
            self._save_outputs()

    def _get_item(self, item_id: str):
        # The work item ID is the index in the inputs + outputs lists
        idx = int(item_id)
        if 0 <= idx < len(self._inputs):
            return "input", self._inputs[idx]
        if len(self._inputs) <= idx < len(self._inputs) + len(self._outputs):
            return "output", self._outputs[idx - len(self._inputs)]
        raise ValueError(f"Unknown work item ID: {item_id}")

    # BaseAdapter

    def reserve_input(self) -> str:
        if self._index >= len(self._inputs):
            raise EmptyQueue("No work items in the input queue")
        try:
            return str(self._index)
        finally:
            self._index += 1

    def release_input(self, item_id: str, state: State, exception: Optional[dict] = None):
        if item_id in self._releases:
            raise ValueError("Work item already released")
        self._releases[item_id] = (state, exception)
        LOGGER.info(
            "Releasing item %r with %s state and exception: %s",
            item_id,
            getattr(state, "value", state),
            exception,
        )

    def create_output(self, parent_id: str, payload: Optional[JSONType] = None) -> str:
        source, _ = self._get_item(parent_id)
        if source != "input":
            raise ValueError(f"Work item parent ({parent_id}) must be an input")
        if parent_id in self._releases:
            raise ValueError(f"Work item parent ({parent_id}) already released")

        self._outputs.append({"payload": payload, "files": {}})
        self._save_outputs()
        return str(len(self._inputs) + len(self._outputs) - 1)

    def load_payload(self, item_id: str) -> JSONType:
        _, item = self._get_item(item_id)
        return item.get("payload", None)

    def save_payload(self, item_id: str, payload: JSONType):
        source, item = self._get_item(item_id)
        item["payload"] = payload
        self._save(source)

    def list_files(self, item_id: str) -> list:
        _, item = self._get_item(item_id)
        return list((item.get("files") or {}).keys())

    def get_file(self, item_id: str, name: str) -> bytes:
        source, item = self._get_item(item_id)
        path = (item.get("files") or {})[name]
        if not Path(path).is_absolute():
            base = self.input_path.parent if source == "input" else self.output_path.parent
            path = base / path
        with open(path, "rb") as fd:
            return fd.read()

    def add_file(self, item_id: str, name: str, content: bytes):
        source, item = self._get_item(item_id)
        files = item.get("files")
        if not isinstance(files, dict):
            files = item["files"] = {}
        files[name] = name

        base = self.input_path.parent if source == "input" else self.output_path.parent
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fd:
            fd.write(content)
        LOGGER.info("Created file: %s", path)
        self._save(source)

    def remove_file(self, item_id: str, name: str):
        source, item = self._get_item(item_id)
        files = item.get("files") or {}
        path = files[name]
        # Note: does not remove the file from disk (as upstream)
        LOGGER.info("Would remove file: %s", path)
        del files[name]
        self._save(source)
