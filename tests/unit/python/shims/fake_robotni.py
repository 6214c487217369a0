"""An in-memory stand-in for the native ``_robotni`` module (contract of
docs/robotni-module.md), installed into sys.modules by tests."""

import json
import sys
import types
from contextlib import contextmanager


def make(items=(), job=None, store=True, loaded_reserve=True):
    mod = types.ModuleType("_robotni")
    state = {"queue": [], "data": {}, "files": {}, "releases": [], "outputs": [],
             "next": 1, "job": job, "heartbeats": [], "progress": [], "cancelled": False,
             "flushes": 0}
    for payload, files in items:
        item_id = f"in-{state['next']}"
        state["next"] += 1
        state["queue"].append(item_id)
        state["data"][item_id] = json.dumps(payload)
        state["files"][item_id] = dict(files or {})
    mod.state = state
    mod.version = "test"

    class TaskTimeout(BaseException):
        pass

    mod.TaskTimeout = TaskTimeout
    mod.has_store = lambda: store
    mod.input_queue = lambda: "orders"
    mod.output_queue = lambda: "orders_output"

    def reserve_input():
        return state["queue"].pop(0) if state["queue"] else None

    def release_input(item_id, st, exception):
        assert isinstance(st, str) and st in ("COMPLETED", "FAILED")
        assert exception is None or set(exception) == {"type", "code", "message"}
        state["releases"].append((item_id, st, exception))

    def create_output(parent_id, payload_json):
        assert isinstance(payload_json, str)
        item_id = f"out-{state['next']}"
        state["next"] += 1
        state["data"][item_id] = payload_json
        state["files"][item_id] = {}
        state["outputs"].append((parent_id, item_id))
        return item_id

    def get_file(item_id, name):
        try:
            return state["files"][item_id][name]
        except KeyError:
            raise FileNotFoundError(name)

    def add_file(item_id, name, content):
        if "/" in name:
            raise ValueError("bad name")
        state["files"][item_id][name] = bytes(content)

    def remove_file(item_id, name):
        if name not in state["files"][item_id]:
            raise FileNotFoundError(name)
        del state["files"][item_id][name]

    def flush():
        state["flushes"] += 1

    mod.reserve_input = reserve_input
    if loaded_reserve:
        def reserve_input_loaded():
            item_id = reserve_input()
            if item_id is None:
                return None
            return item_id, state["data"][item_id], sorted(state["files"][item_id])

        mod.reserve_input_loaded = reserve_input_loaded
    mod.release_input = release_input
    mod.create_output = create_output
    mod.load_payload = lambda item_id: state["data"][item_id]
    mod.save_payload = lambda item_id, text: state["data"].__setitem__(item_id, text)
    mod.list_files = lambda item_id: sorted(state["files"][item_id])
    mod.get_file = get_file
    mod.add_file = add_file
    mod.remove_file = remove_file
    mod.flush = flush
    mod.current_job = lambda: state["job"]

    def heartbeat(seconds):
        state["heartbeats"].append(seconds)

    mod.heartbeat = heartbeat
    mod.is_cancelled = lambda: state["cancelled"]
    mod.progress = lambda message: state["progress"].append(message)
    return mod


@contextmanager
def installed(mod):
    old = sys.modules.get("_robotni")
    sys.modules["_robotni"] = mod
    try:
        yield mod
    finally:
        if old is None:
            sys.modules.pop("_robotni", None)
        else:
            sys.modules["_robotni"] = old
