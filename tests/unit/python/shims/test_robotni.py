"""robotni job API and the RobotniAdapter (with a fake ``_robotni``)."""

import json
import sys
import unittest

import fake_robotni
from wi_helpers import env, run_task


class TestJobApiOutsideJob(unittest.TestCase):
    def test_outside_robotni(self):
        sys.modules.pop("_robotni", None)
        from robotni import run

        for attr in ("id", "type", "payload", "attempt", "max_attempts"):
            with self.assertRaisesRegex(RuntimeError, "not running inside a robotni job"):
                getattr(run, attr)
        for call in (lambda: run.heartbeat(5), run.is_cancelled, lambda: run.progress("x")):
            with self.assertRaisesRegex(RuntimeError, "not running inside a robotni job"):
                call()
        self.assertFalse(run.active)

    def test_inside_robotni_but_no_job(self):
        from robotni import run

        with fake_robotni.installed(fake_robotni.make(job=None)):
            with self.assertRaisesRegex(RuntimeError, "not running inside a robotni job"):
                run.payload  # noqa: B018

    def test_inside_job(self):
        from robotni import run

        job = {"id": "j-1", "type": "orders.consume", "payload": '{"order": 7}',
               "attempt": 2, "max_attempts": 5}
        with fake_robotni.installed(fake_robotni.make(job=job)) as mod:
            self.assertEqual(run.id, "j-1")
            self.assertEqual(run.type, "orders.consume")
            self.assertEqual(run.payload, {"order": 7})
            self.assertEqual(run.attempt, 2)
            self.assertEqual(run.max_attempts, 5)
            run.heartbeat(30)
            run.progress("half way")
            self.assertFalse(run.is_cancelled())
            mod.state["cancelled"] = True
            self.assertTrue(run.is_cancelled())
            self.assertEqual(mod.state["heartbeats"], [30.0])
            self.assertEqual(mod.state["progress"], ["half way"])
            mod.state["job"] = dict(job, id="j-2", payload='{"order": 8}')
            self.assertEqual(run.payload, {"order": 8})


class TestJobDecoratorLimits(unittest.TestCase):
    def test_limits_are_described_and_unset_ones_are_none(self):
        from robotni import _jobs, job

        @job("limits_test", timeout=2.5, kill_grace=1, memory_limit=256, max_jobs_per_worker=10,
             max_output=4096)
        def f():
            return 1

        @job("limits_none")
        def g():
            return 1

        described = {t["type"]: t for t in json.loads(_jobs.describe_all())}
        t = described["limits_test"]
        self.assertEqual((t["timeout"], t["kill_grace"], t["memory_limit"],
                          t["max_jobs_per_worker"], t["max_output"]), (2.5, 1, 256, 10, 4096))
        n = described["limits_none"]
        self.assertEqual([n[k] for k in ("timeout", "kill_grace", "memory_limit",
                                         "max_jobs_per_worker", "max_output")], [None] * 5)

    def test_bad_limits_name_the_type_and_the_argument(self):
        from robotni import job

        for kwargs, message in (
            ({"timeout": -1}, "job type 'bad': timeout must be a number >= 0 or None, got -1"),
            ({"timeout": "30s"}, "timeout must be a number >= 0"),
            ({"memory_limit": 1.5}, "memory_limit must be an integer >= 0"),
            ({"max_output": True}, "max_output must be an integer >= 0"),
            ({"max_jobs_per_worker": -2}, "max_jobs_per_worker must be an integer >= 0"),
            ({"kill_grace": float("nan")}, "kill_grace must be a number >= 0"),
        ):
            with self.assertRaisesRegex(ValueError, message.replace("(", r"\(")):
                job("bad", **kwargs)

    def test_schedule_is_described(self):
        from robotni import _jobs, job

        @job("sched_test", schedule="*/5 * * * *", timezone="Europe/Helsinki",
             schedule_params={"a": 1})
        def f(a):
            return a

        @job("sched_default", schedule="@daily")
        def g():
            return 1

        @job("sched_none")
        def h():
            return 1

        described = {t["type"]: t for t in json.loads(_jobs.describe_all())}
        self.assertEqual(described["sched_test"]["schedule"],
                         {"cron": "*/5 * * * *", "timezone": "Europe/Helsinki", "params": {"a": 1}})
        self.assertEqual(described["sched_default"]["schedule"],
                         {"cron": "@daily", "timezone": "UTC", "params": {}})
        self.assertIsNone(described["sched_none"]["schedule"])

    def test_bad_schedules_name_the_type_and_the_argument(self):
        from robotni import job

        for kwargs, message in (
            ({"schedule": 5}, "job type 'bad': schedule must be a cron expression string"),
            ({"schedule": " "}, "schedule must be a cron expression string"),
            ({"timezone": "UTC"}, "timezone and schedule_params need a schedule"),
            ({"schedule": "@daily", "timezone": 3}, "timezone must be an IANA name"),
            ({"schedule": "@daily", "schedule_params": [1]}, "schedule_params must be a dict"),
        ):
            with self.assertRaisesRegex(ValueError, message):
                job("bad", **kwargs)


class TestJobParamsSchema(unittest.TestCase):
    def described(self):
        from robotni import _jobs
        return {t["type"]: t["schema"] for t in json.loads(_jobs.describe_all())}

    def test_a_schema_is_made_from_the_signature(self):
        import enum
        from typing import Literal, Optional

        from robotni import job

        class Tone(enum.Enum):
            WARM = "warm"
            DRY = "dry"

        @job("schema_made")
        def f(name: str, times: int = 1, ratio: float = 1.0, *, loud: bool = False,
              tags: list = (), opts: Optional[dict] = None, tone: Tone = Tone.WARM,
              kind: Literal["a", "b"] = "a", anything=None):
            return name

        self.assertEqual(self.described()["schema_made"], {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"name": {"type": "string"}, "times": {"type": "integer"},
                           "ratio": {"type": "number"}, "loud": {"type": "boolean"},
                           "tags": {"type": "array"}, "opts": {"type": ["object", "null"]},
                           "tone": {"enum": ["warm", "dry"]}, "kind": {"enum": ["a", "b"]},
                           "anything": {}},
            "required": ["name"],
            "additionalProperties": False})

    def test_a_given_schema_is_completed_unless_the_function_takes_kwargs(self):
        from robotni import job

        given = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}

        @job("schema_given", schema=given)
        def f(x, y=0):
            return x

        @job("schema_kwargs", schema=given)
        def g(x, **rest):
            return x

        @job("schema_open", schema=dict(given, additionalProperties=True))
        def h(x):
            return x

        @job("schema_scalar", schema={"type": "number"})
        def k(value):
            return value

        described = self.described()
        self.assertEqual(described["schema_given"]["properties"],
                         {"x": {"type": "number"}, "y": {}})
        self.assertIs(described["schema_given"]["additionalProperties"], False)
        self.assertNotIn("additionalProperties", given)  # the caller's dict is not changed
        self.assertNotIn("additionalProperties", described["schema_kwargs"])
        self.assertEqual(described["schema_kwargs"]["$schema"],
                         "http://json-schema.org/draft-07/schema#")
        self.assertIs(described["schema_open"]["additionalProperties"], True)
        self.assertEqual(described["schema_scalar"], {"type": "number"})


class TestRobotniAdapter(unittest.TestCase):
    def test_selected_when_store_bound(self):
        self.check_store_bound(loaded_reserve=True)

    def test_older_module_without_loaded_reserve(self):
        self.check_store_bound(loaded_reserve=False)

    def check_store_bound(self, loaded_reserve):
        from robocorp import workitems
        from robocorp.workitems import RobotniAdapter
        from robocorp.workitems._adapters import create_adapter

        mod = fake_robotni.make(items=[({"n": 1}, {"a.txt": b"A"}), ({"n": 2}, {})],
                                loaded_reserve=loaded_reserve)
        with fake_robotni.installed(mod), env():
            self.assertIsInstance(create_adapter(), RobotniAdapter)

            def t():
                for item in workitems.inputs:
                    with item:
                        if item.payload["n"] == 2:
                            raise workitems.BusinessException(code="B", message="two")
                        self.assertEqual(item.files, ["a.txt"])
                        out = workitems.outputs.create({"double": 2})
                        out.add_file
                        item.payload = {"n": 1, "seen": True}
                        item.save()

            task = run_task(t)
            if task.exc_info:
                raise task.exc_info[1]
        st = mod.state
        self.assertEqual(st["releases"], [
            ("in-1", "COMPLETED", None),
            ("in-2", "FAILED", {"type": "BUSINESS", "code": "B", "message": "two"}),
        ])
        self.assertEqual(st["outputs"], [("in-1", "out-3")])
        self.assertEqual(json.loads(st["data"]["out-3"]), {"double": 2})
        self.assertEqual(json.loads(st["data"]["in-1"]), {"n": 1, "seen": True})
        self.assertEqual(st["flushes"], 1)  # flushed at task end

    def test_reserve_loads_payload_and_sorted_files_and_honours_an_own_load(self):
        from robocorp.workitems import RobotniAdapter
        from robocorp.workitems._context import Context
        from robocorp.workitems._workitem import Input

        calls = []

        class LoggingInput(Input):
            def load(self):
                calls.append(self.id)
                super().load()

        items = [({"n": 1}, {"b.txt": b"B", "a.txt": b"A"}), ({"n": 2}, {})]
        for loaded_reserve in (True, False):
            calls.clear()
            mod = fake_robotni.make(items=items, loaded_reserve=loaded_reserve)
            with fake_robotni.installed(mod), env():
                ctx = Context(adapter=RobotniAdapter())
                first = ctx.reserve_input()
                first.done()
                ctx.input_class = LoggingInput
                second = ctx.reserve_input()
            self.assertEqual(first.payload, {"n": 1})
            self.assertEqual(first.files, ["a.txt", "b.txt"])
            self.assertTrue(first.saved)
            self.assertEqual(calls, [second.id], "an Input with its own load() is loaded by it")
            self.assertEqual(second.payload, {"n": 2})
            self.assertEqual(second.files, [])

    def test_payload_text_is_what_json_dumps_writes(self):
        from robocorp.workitems._adapters._robotni import _dumps

        for value in ({"n": 4}, [1, "ä", None, True, 1.5], "x\n", 5, None,
                      {"a": {"b": [float("nan"), {}]}}, {1: "int key"}):
            self.assertEqual(_dumps(value), json.dumps(value, ensure_ascii=False))
        loop = []
        loop.append(loop)
        with self.assertRaisesRegex(ValueError, "Circular"):
            _dumps(loop)
        with self.assertRaises(TypeError):
            _dumps({"x": object()})
        self.assertEqual(_dumps([{"again": 1}]), '[{"again": 1}]')  # usable after errors

    def test_payload_is_read_as_json_loads_reads_it(self):
        from robocorp.workitems._adapters._robotni import _loads

        for text in ('{"n": 4}', '[1, "\\u00e4", null]', ' {"a": 1} ', '"s"', "5", "null",
                     "1.5e3", '{"a": {"b": [NaN, {}]}}'):
            self.assertEqual(repr(_loads(text)), repr(json.loads(text)), text)
        for bad in ("", "{", '{"a": 1} x', "nope", " "):
            with self.assertRaises(json.JSONDecodeError, msg=bad):
                _loads(bad)

    def test_env_overrides_store(self):
        from robocorp.workitems import FileAdapter
        from robocorp.workitems._adapters import create_adapter

        with fake_robotni.installed(fake_robotni.make()), env(RC_WORKITEM_ADAPTER="FileAdapter"):
            import tempfile, os

            with tempfile.TemporaryDirectory() as tmp:
                os.environ["ROBOT_ARTIFACTS"] = tmp
                self.assertIsInstance(create_adapter(), FileAdapter)

    def test_no_store_falls_back(self):
        from robocorp.workitems._adapters import create_adapter
        from robocorp.workitems import FileAdapter
        import tempfile

        with fake_robotni.installed(fake_robotni.make(store=False)):
            with tempfile.TemporaryDirectory() as tmp, env(ROBOT_ARTIFACTS=tmp):
                with self.assertLogs("robocorp.workitems", "WARNING"):
                    self.assertIsInstance(create_adapter(), FileAdapter)

    def test_task_timeout_fails_item(self):
        from robocorp import workitems

        mod = fake_robotni.make(items=[({"n": 1}, {})])
        with fake_robotni.installed(mod), env():
            def t():
                workitems.inputs.current  # noqa: B018
                raise mod.TaskTimeout("timed out")

            with self.assertRaises(mod.TaskTimeout):
                run_task_base(t)
        self.assertEqual(mod.state["releases"],
                         [("in-1", "FAILED",
                           {"type": "APPLICATION", "code": None, "message": "timed out"})])


def run_task_base(func):
    """Like wi_helpers.run_task but records BaseExceptions as the runner does."""
    from robocorp.tasks import Status, _hooks
    from robocorp.tasks._task import Task, set_current_task

    task = Task(func.__module__, "f", func)
    set_current_task(task)
    try:
        func()
    except BaseException as e:
        task.status = Status.FAIL
        task.message = str(e)
        task.exc_info = sys.exc_info()
        raise
    finally:
        _hooks.after_task_run(task)
        set_current_task(None)


if __name__ == "__main__":
    unittest.main()
