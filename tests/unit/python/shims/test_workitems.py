"""robocorp.workitems behaviour (ports of robocorp/robocorp workitems tests,
spec §6 items 1-16 and 25) on an in-memory BaseAdapter."""

import os
import tempfile
import unittest
from pathlib import Path

from robocorp import workitems
from robocorp.workitems import (
    ApplicationException,
    BusinessException,
    EmptyQueue,
    ExceptionType,
    Input,
    State,
)

from wi_helpers import MockAdapter, assert_passed, env, run_task


class WorkitemsCase(unittest.TestCase):
    def setUp(self):
        MockAdapter.instances = []
        MockAdapter.seed = None
        self._env = env(RC_WORKITEM_ADAPTER="wi_helpers.MockAdapter")
        self._env.__enter__()
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()
        self._env.__exit__(None, None, None)

    @property
    def adapter(self) -> MockAdapter:
        return MockAdapter.instances[-1]

    def run_ok(self, func):
        assert_passed(self, run_task(func))


class TestInputs(WorkitemsCase):
    def test_exports(self):
        self.assertEqual(workitems.__version__, "1.5.0")
        for name in workitems.__all__:
            self.assertTrue(hasattr(workitems, name), name)
        self.assertTrue(issubclass(EmptyQueue, IndexError))
        self.assertTrue(issubclass(BusinessException, RuntimeError))
        self.assertEqual(State.DONE.value, "COMPLETED")
        self.assertEqual(State("FAILED"), State.FAILED)

    def test_collection_and_output_types(self):
        def t():
            self.assertIsInstance(workitems.inputs, workitems.Inputs)
            self.assertIsInstance(workitems.outputs, workitems.Outputs)
            self.assertIsInstance(workitems.outputs.create({"x": 1}), workitems.Output)

        self.run_ok(t)

    def test_robocorp_adapter_says_it_needs_control_room(self):
        with self.assertRaises(NotImplementedError):
            workitems.RobocorpAdapter()

    def test_inputs_first(self):  # §6.1
        def t():
            self.assertIsInstance(workitems.inputs.current, Input)
            self.assertEqual(workitems.inputs.current.payload, {"a-key": "a-value"})

        self.run_ok(t)

    def test_inputs_reserve(self):  # §6.2
        def t():
            workitems.inputs.current.done()
            with workitems.inputs.reserve() as s:
                self.assertEqual(s.payload, {"input": "value"})
                self.assertIs(s, workitems.inputs.current)
                self.assertFalse(s.released)
            self.assertTrue(s.released)
            self.assertEqual(s.state, State.DONE)

        self.run_ok(t)

    def test_inputs_iter_and_released(self):  # §6.3
        def t():
            items = list(workitems.inputs)
            self.assertEqual(len(items), 2)
            self.assertTrue(all(i.released for i in items))
            self.assertEqual(len(workitems.inputs.released), 2)
            self.assertEqual([r[1] for r in self.adapter.releases], [State.DONE] * 2)

        self.run_ok(t)

    def test_iter_after_release(self):  # §6.4
        def t():
            workitems.inputs.current.done()
            self.assertEqual(len(list(workitems.inputs)), 1)

        self.run_ok(t)

    def test_duplicate_reserve(self):  # §6.5
        def t():
            self.assertIsNotNone(workitems.inputs.current)
            with self.assertRaisesRegex(RuntimeError, "Previous input not released"):
                workitems.inputs.reserve()

        self.run_ok(t)

    def test_reserve_empty_queue(self):
        def t():
            workitems.inputs.current.done()
            workitems.inputs.reserve().done()
            with self.assertRaises(EmptyQueue):
                workitems.inputs.reserve()

        self.run_ok(t)

    def test_input_pass(self):  # §6.8
        def t():
            item = workitems.inputs.current
            item.done()
            self.assertEqual(item.state, State.DONE)
            self.assertEqual(item.state, "COMPLETED")
            self.assertIsNone(item.exception)
            self.assertEqual(self.adapter.releases, [("0", State.DONE, None)])
            with self.assertRaisesRegex(RuntimeError, "Work item already released"):
                item.done()

        self.run_ok(t)

    def test_input_fail(self):  # §6.9
        def t():
            item = workitems.inputs.current
            item.fail("application", None, " ")
            self.assertEqual(item.state, State.FAILED)
            expected = {"type": "APPLICATION", "code": None, "message": " "}
            self.assertEqual(item.exception, expected)
            self.assertEqual(self.adapter.releases, [("0", State.FAILED, expected)])
            with self.assertRaises(RuntimeError):
                item.fail()

        self.run_ok(t)

    def test_release_work_item_failed_default_type(self):  # §6.9
        def t():
            item = workitems.inputs.current
            item.fail(code="E1", message="msg")
            self.assertEqual(item.exception["type"], ExceptionType.APPLICATION)
            item2 = workitems.inputs.reserve()
            item2.fail(ExceptionType.BUSINESS, "E2", "m2")
            self.assertEqual(self.adapter.releases[-1][2],
                             {"type": "BUSINESS", "code": "E2", "message": "m2"})

        self.run_ok(t)

    def test_input_list_files(self):  # §6.10
        def t():
            self.assertEqual(workitems.inputs.current.files,
                             ["file1.txt", "file2.txt", "file3.png"])

        self.run_ok(t)

    def test_input_get_file(self):  # §6.10
        def t():
            target = Path(self.tmp.name) / "out.txt"
            path = workitems.inputs.current.get_file("file1.txt", target)
            self.assertEqual(path, target.absolute())
            self.assertEqual(path.read_bytes(), b"data1")
            with env(RC_WORKITEM_ADAPTER="wi_helpers.MockAdapter", ROBOT_ROOT=self.tmp.name):
                p2 = workitems.inputs.current.get_file("file2.txt")
            self.assertEqual(p2, (Path(self.tmp.name) / "file2.txt").absolute())

        self.run_ok(t)

    def test_input_get_file_missing(self):  # §6.10
        def t():
            with self.assertRaisesRegex(FileNotFoundError, "No file with name: nope"):
                workitems.inputs.current.get_file("nope")

        self.run_ok(t)

    def test_input_get_files(self):  # §6.10
        def t():
            out = Path(self.tmp.name) / "sub"
            paths = workitems.inputs.current.get_files("*.txt", out)
            self.assertEqual([p.name for p in paths], ["file1.txt", "file2.txt"])
            self.assertTrue(all(p.is_file() for p in paths))
            self.assertEqual(workitems.inputs.current.get_files("*.pdf", out), [])

        self.run_ok(t)

    def test_input_remove_file(self):  # §6.11
        def t():
            item = workitems.inputs.current
            item.remove_file("file1.txt")
            self.assertIn("file1.txt", self.adapter.files["0"])
            self.assertFalse(item.saved)
            item.save()
            self.assertNotIn("file1.txt", self.adapter.files["0"])
            self.assertEqual(item.files, ["file2.txt", "file3.png"])
            self.assertTrue(item.saved)

        self.run_ok(t)

    def test_input_remove_file_notexist(self):  # §6.11
        def t():
            with self.assertRaisesRegex(FileNotFoundError, "No such file in work item"):
                workitems.inputs.current.remove_file("nope.txt")
            workitems.inputs.current.remove_file("nope.txt", missing_ok=True)

        self.run_ok(t)

    def test_input_remove_files(self):  # §6.11
        def t():
            item = workitems.inputs.current
            self.assertEqual(item.remove_files("*.txt"), ["file1.txt", "file2.txt"])
            self.assertFalse(item.saved)
            item.save()
            self.assertEqual(item.files, ["file3.png"])

        self.run_ok(t)

    def test_input_modify_payload_and_multiple_saves(self):  # §6.12
        def t():
            item = workitems.inputs.current
            self.assertTrue(item.saved)
            payload = item.payload
            payload["new"] = 1
            item.payload = payload
            self.assertFalse(item.saved)
            item.save()
            self.assertTrue(item.saved)
            self.assertEqual(self.adapter.data["0"]["new"], 1)
            item.payload = {"again": True}
            item.save()
            item.save()
            self.assertEqual(self.adapter.data["0"], {"again": True})

        self.run_ok(t)

    def test_input_add_file(self):
        def t():
            src = Path(self.tmp.name) / "added.txt"
            src.write_bytes(b"added")
            item = workitems.inputs.current
            self.assertEqual(item.add_file(src), src.resolve())
            self.assertNotIn("added.txt", item.files)
            item.save()
            self.assertIn("added.txt", item.files)
            self.assertEqual(self.adapter.files["0"]["added.txt"], b"added")
            with self.assertRaisesRegex(FileNotFoundError, "Not a valid file"):
                item.add_file(Path(self.tmp.name) / "missing.bin")

        self.run_ok(t)


class TestContextManager(WorkitemsCase):
    def test_inputs_context_raise(self):  # §6.13
        def t():
            with workitems.inputs.reserve() if False else workitems.inputs.current as item:
                raise BusinessException(message="some message", code="some code")
            self.assertEqual(item.state, State.FAILED)
            self.assertEqual(item.exception, {"type": "BUSINESS", "code": "some code",
                                              "message": "some message"})

        self.run_ok(t)

    def test_inputs_raise_derived_class(self):  # §6.13
        class MyError(BusinessException):
            pass

        class MyAppError(ApplicationException):
            pass

        def t():
            with workitems.inputs.current as item:
                raise MyError(message="derived", code="D1")
            self.assertEqual(item.exception["type"], "BUSINESS")
            with workitems.inputs.reserve() as item2:
                raise MyAppError("app")
            self.assertEqual(item2.exception, {"type": "APPLICATION", "code": None,
                                               "message": "app"})

        self.run_ok(t)

    def test_inputs_loop_raise(self):  # §6.14
        def t():
            seen = 0
            for item in workitems.inputs:
                with item:
                    seen += 1
                    raise BusinessException(message=f"bad {item.id}", code="LOOP")
            self.assertEqual(seen, 2)
            states = [(r[1], r[2]["type"], r[2]["code"]) for r in self.adapter.releases]
            self.assertEqual(states, [(State.FAILED, "BUSINESS", "LOOP")] * 2)

        self.run_ok(t)

    def test_inputs_throw_unknown_exception(self):  # §6.15
        def t():
            workitems.inputs.current.done()
            with self.assertRaises(ValueError):
                with workitems.inputs.reserve() as item:
                    raise ValueError("Some value")
            self.assertEqual(item.state, State.FAILED)
            self.assertEqual(item.exception, {"type": "APPLICATION", "code": None,
                                              "message": "Some value"})

        self.run_ok(t)

    def test_inputs_iter_explicit_release(self):  # §6.16
        def t():
            for item in workitems.inputs:
                item.done()  # no double release by the iterator
            self.assertEqual(len(self.adapter.releases), 2)

        self.run_ok(t)

    def test_collect_inputs(self):  # §6.16
        def t():
            output = workitems.outputs.create(save=False)
            payloads = []
            for item in workitems.inputs:
                payloads.append(item.payload)
            self.assertEqual(len(payloads), 2)
            output.payload = {"collected": payloads}
            self.assertFalse(output.saved)
            # parent is the (released) first input; the mock adapter allows it
            output.save()
            self.assertTrue(output.saved)
            self.assertEqual(self.adapter.outputs, [("0", output.id)])

        self.run_ok(t)

    def test_exception_str(self):
        self.assertEqual(str(BusinessException("msg", "code")),
                         'BusinessException("msg", "code")')
        self.assertEqual(str(ApplicationException(code="c")), 'ApplicationException("c")')
        self.assertEqual(str(BusinessException()), "BusinessException()")


class TestOutputs(WorkitemsCase):
    def test_outputs_create(self):  # §6.6
        def t():
            out = workitems.outputs.create({"key": "value"})
            self.assertTrue(out.saved)
            self.assertEqual(out.parent_id, "0")
            self.assertEqual(self.adapter.data[out.id], {"key": "value"})

        self.run_ok(t)

    def test_empty_file_lists_and_outputs_are_lists(self):
        # Items keep shared empty tuples internally until something is added (fewer
        # GC-tracked objects per item); what users see must still be lists.
        def t():
            current = workitems.inputs.current
            self.assertEqual(current.outputs, [])
            self.assertIsInstance(current.outputs, list)
            out = workitems.outputs.create({"key": "value"})
            self.assertEqual(out.files, [])
            self.assertIsInstance(out.files, list)
            self.assertEqual(current.outputs, [out])
            second = workitems.outputs.create({"key": 2})
            self.assertEqual(current.outputs, [out, second])
            path = Path(self.tmp.name) / "a.txt"
            path.write_text("a")
            out.add_file(path)
            out.save()
            self.assertEqual(out.files, ["a.txt"])
            out.remove_file("a.txt")
            out.save()
            self.assertEqual(out.files, [])
            self.assertIsInstance(out.files, list)

        self.run_ok(t)

    def test_outputs_create_no_save(self):  # §6.6
        def t():
            out = workitems.outputs.create({"key": "value"}, save=False)
            self.assertFalse(out.saved)
            self.assertIsNone(out.id)
            self.assertEqual(self.adapter.outputs, [])

        self.run_ok(t)

    def test_outputs_create_files(self):
        def t():
            d = Path(self.tmp.name)
            (d / "a.txt").write_text("a")
            (d / "b.txt").write_text("b")
            out = workitems.outputs.create({"k": 1}, files=str(d / "*.txt"))
            self.assertEqual(out.files, ["a.txt", "b.txt"])
            out2 = workitems.outputs.create(files=[d / "a.txt"])
            self.assertEqual(self.adapter.files[out2.id], {"a.txt": b"a"})

        self.run_ok(t)

    def test_outputs_create_no_current(self):  # §6.6
        from robocorp.workitems._context import Context

        MockAdapter.seed = []
        ctx = Context(adapter=MockAdapter())
        with self.assertRaisesRegex(RuntimeError, "without an input item"):
            ctx.create_output()

        def t():
            # the auto-reserve of the first input fails on an empty queue
            with self.assertRaisesRegex(EmptyQueue, "No work items"):
                workitems.outputs.create({"a": 1})

        self.run_ok(t)

    def test_outputs_last_and_magic(self):  # §6.7
        def t():
            self.assertIsNone(workitems.outputs.last)
            self.assertEqual(len(workitems.outputs), 0)
            o1 = workitems.outputs.create({"n": 1})
            o2 = workitems.outputs.create({"n": 2})
            self.assertIs(workitems.outputs.last, o2)
            self.assertEqual(len(workitems.outputs), 2)
            self.assertIs(workitems.outputs[0], o1)
            self.assertEqual(list(workitems.outputs), [o1, o2])
            self.assertEqual(list(reversed(workitems.outputs)), [o2, o1])

        self.run_ok(t)

    def test_output_context_manager_saves_only_on_error(self):
        def t():
            with workitems.outputs.create(save=False) as out:
                out.payload = {"ok": True}
            self.assertFalse(out.saved)  # 1.5.0 quirk
            with self.assertRaises(KeyError):
                with workitems.outputs.create(save=False) as out2:
                    raise KeyError("x")
            self.assertTrue(out2.saved)

        self.run_ok(t)


class TestTaskLifecycle(WorkitemsCase):
    def test_context_per_task(self):
        seen = []

        def t1():
            seen.append(workitems.inputs.current.id)
            workitems.inputs.current.done()

        def t2():
            seen.append(workitems.inputs.current.id)

        self.run_ok(t1)
        self.run_ok(t2)
        self.assertEqual(seen, ["0", "0"])  # a new context (and adapter) per task
        self.assertEqual(len(MockAdapter.instances), 2)

    def test_task_failure_fails_current_input(self):
        def t():
            workitems.inputs.current  # noqa: B018
            raise BusinessException(message="nope", code="C9")

        task = run_task(t)
        self.assertTrue(task.failed)
        self.assertEqual(self.adapter.releases,
                         [("0", State.FAILED, {"type": "BUSINESS", "code": "C9",
                                               "message": "nope"})])

    def test_task_failure_unknown_exception(self):
        def t():
            workitems.inputs.current  # noqa: B018
            raise KeyError("k")

        run_task(t)
        self.assertEqual(self.adapter.releases[0][2],
                         {"type": "APPLICATION", "code": None, "message": "'k'"})

    def test_task_pass_leaves_current_unreleased(self):
        def t():
            workitems.inputs.current  # noqa: B018

        self.run_ok(t)
        self.assertEqual(self.adapter.releases, [])

    def test_unsaved_output_warning(self):
        def t():
            workitems.outputs.create({"x": 1}, save=False)
            workitems.inputs.current.done()

        with self.assertLogs("robocorp.workitems", level="WARNING") as logs:
            self.run_ok(t)
        self.assertTrue(any("unsaved changes that will be discarded" in m
                            for m in logs.output))

    def test_plain_for_loop_exception_quirk(self):  # §6.25
        def t():
            for _item in workitems.inputs:
                raise BusinessException(message="lost", code="X")

        task = run_task(t)
        self.assertTrue(task.failed)
        # The generator is closed by refcounting: GeneratorExit inside the
        # ``with`` releases the item as APPLICATION with an empty message.
        self.assertEqual(self.adapter.releases,
                         [("0", State.FAILED,
                           {"type": "APPLICATION", "code": None, "message": ""})])

    def test_plain_for_loop_break_quirk(self):  # §1 (break)
        def t():
            for _item in workitems.inputs:
                break

        self.run_ok(t)
        self.assertEqual(self.adapter.releases,
                         [("0", State.FAILED,
                           {"type": "APPLICATION", "code": None, "message": ""})])


class TestPatchedContext(WorkitemsCase):
    """Upstream's own fixtures (workitems/tests/workitems_tests/fixtures.py) patch
    ``robocorp.workitems._ctx`` with a getter of their context; ``inputs`` and ``outputs``
    must follow the patch, also after they were used with the package's own context."""

    def test_inputs_and_outputs_follow_a_patched_ctx(self):
        from unittest import mock

        from robocorp.workitems._context import Context

        def first_use():
            self.assertEqual(workitems.inputs.current.payload, {"a-key": "a-value"})

        self.run_ok(first_use)  # the views have looked the package's getter up once
        for _ in range(2):  # a second patch too
            adapter = MockAdapter()
            ctx = Context(adapter=adapter)
            ctx.reserve_input()
            with mock.patch("robocorp.workitems._ctx", lambda: ctx):
                self.assertIs(workitems.inputs.current, ctx.current_input)
                out = workitems.outputs.create({"n": 1})
                self.assertEqual(list(workitems.outputs), [out])
                self.assertEqual([i.payload for i in workitems.inputs],
                                 [{"a-key": "a-value"}, {"input": "value"}])
            self.assertEqual(len(adapter.releases), 2)


class TestAdapterSelection(unittest.TestCase):
    def test_custom_adapter_must_subclass(self):
        from robocorp.workitems._adapters import create_adapter

        with env(RC_WORKITEM_ADAPTER="wi_helpers.env"):
            with self.assertRaisesRegex(ValueError, "does not inherit from BaseAdapter"):
                create_adapter()

    def test_legacy_env_name(self):
        from robocorp.workitems._adapters import create_adapter

        MockAdapter.seed = None
        with env(RPA_WORKITEMS_ADAPTER="wi_helpers.MockAdapter"):
            self.assertIsInstance(create_adapter(), MockAdapter)

    def test_control_room_not_supported(self):
        from robocorp.workitems._adapters import create_adapter

        with env(RC_WORKSPACE_ID="w", RC_PROCESS_RUN_ID="p", RC_ACTIVITY_RUN_ID="a"):
            with self.assertRaisesRegex(NotImplementedError, "Control Room"):
                create_adapter()

    def test_default_is_file_adapter_with_warning(self):
        from robocorp.workitems import FileAdapter
        from robocorp.workitems._adapters import create_adapter

        with tempfile.TemporaryDirectory() as tmp:
            with env(ROBOT_ARTIFACTS=tmp):
                with self.assertLogs("robocorp.workitems", level="WARNING"):
                    adapter = create_adapter()
                self.assertIsInstance(adapter, FileAdapter)
                path = Path(tmp) / "work-items-in" / "workitems.json"
                self.assertTrue(path.is_file())


if __name__ == "__main__":
    unittest.main()
