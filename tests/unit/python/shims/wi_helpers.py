"""Test helpers: an in-memory BaseAdapter (like robocorp's own tests use)
and a minimal task runner emulating robocorp.tasks' per-task lifecycle."""

import copy
import os
import sys
from contextlib import contextmanager
from unittest import mock

from robocorp.workitems import BaseAdapter, EmptyQueue, State


class MockAdapter(BaseAdapter):
    """Mock queue: 2 inputs, the first with file1.txt, file2.txt, file3.png."""

    instances: list = []
    seed: list = None  # optional override of the initial queue

    def __init__(self):
        MockAdapter.instances.append(self)
        seed = MockAdapter.seed
        if seed is None:
            seed = [
                {"payload": {"a-key": "a-value"},
                 "files": {"file1.txt": b"data1", "file2.txt": b"data2",
                           "file3.png": b"data3"}},
                {"payload": {"input": "value"}, "files": {}},
            ]
        self.inputs = [str(i) for i in range(len(seed))]
        self.data = {str(i): copy.deepcopy(item["payload"]) for i, item in enumerate(seed)}
        self.files = {str(i): dict(item.get("files") or {}) for i, item in enumerate(seed)}
        self.index = 0
        self.releases = []
        self.outputs = []  # (parent_id, item_id)
        self.empty_queue_class = EmptyQueue

    def reserve_input(self) -> str:
        if self.index >= len(self.inputs):
            raise self.empty_queue_class("No work items in the input queue")
        try:
            return self.inputs[self.index]
        finally:
            self.index += 1

    def release_input(self, item_id, state, exception=None):
        self.releases.append((item_id, state, exception))

    def create_output(self, parent_id, payload=None):
        item_id = str(len(self.data) + 100)
        self.data[item_id] = copy.deepcopy(payload)
        self.files[item_id] = {}
        self.outputs.append((parent_id, item_id))
        return item_id

    def load_payload(self, item_id):
        return copy.deepcopy(self.data[item_id])

    def save_payload(self, item_id, payload):
        self.data[item_id] = copy.deepcopy(payload)

    def list_files(self, item_id):
        return list(self.files[item_id])

    def get_file(self, item_id, name):
        return self.files[item_id][name]

    def add_file(self, item_id, name, content):
        self.files[item_id][name] = content

    def remove_file(self, item_id, name):
        del self.files[item_id][name]


@contextmanager
def env(**values):
    """Patch os.environ: values of None remove the variable."""
    keys = [
        "RC_WORKITEM_ADAPTER", "RPA_WORKITEMS_ADAPTER", "RC_WORKITEM_INPUT_PATH",
        "RC_WORKITEM_OUTPUT_PATH", "RPA_INPUT_WORKITEM_PATH", "RPA_OUTPUT_WORKITEM_PATH",
        "RC_WORKSPACE_ID", "RC_PROCESS_RUN_ID", "RC_ACTIVITY_RUN_ID", "ROBOT_ARTIFACTS",
        "ROBOT_ROOT",
    ]
    with mock.patch.dict(os.environ):
        for k in keys:
            os.environ.pop(k, None)
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield


def run_task(func, name=None):
    """Run ``func`` like robocorp.tasks runs a task (current task set,
    failures recorded, after_task_run fired). Returns the Task."""
    from robocorp.tasks import Status, _hooks
    from robocorp.tasks._task import Task, set_current_task

    task = Task(func.__module__, func.__code__.co_filename, func)
    set_current_task(task)
    _hooks.before_task_run(task)
    try:
        task.result = func()
        task.status = Status.PASS
    except Exception as e:
        task.status = Status.FAIL
        task.message = str(e) or e.__class__.__name__
        task.exc_info = sys.exc_info()
    finally:
        try:
            _hooks.after_task_run(task)
        finally:
            set_current_task(None)
    return task


def assert_passed(testcase, task):
    if task.exc_info is not None:
        raise task.exc_info[1]
    testcase.assertEqual(task.status.value, "PASS")
