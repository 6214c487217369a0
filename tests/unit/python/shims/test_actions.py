"""actions.work_items 0.4.x behaviour and its differences from robocorp.workitems."""

import json
import tempfile
import unittest
from pathlib import Path

import actions
import actions.work_items as aw
from actions import workitems as alias
from robocorp import workitems as rw

import fake_robotni
from wi_helpers import MockAdapter, env


class ActionsCase(unittest.TestCase):
    def setUp(self):
        MockAdapter.instances = []
        MockAdapter.seed = None
        self.adapter = MockAdapter()
        self.adapter.empty_queue_class = aw.EmptyQueue
        aw.init(self.adapter)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        aw._reset()
        self.tmp.cleanup()


class TestActionsApi(ActionsCase):
    def test_imports_and_alias(self):
        self.assertIs(alias.inputs, aw.inputs)
        self.assertIs(actions.workitems.Input, aw.Input)
        for name in aw.__all__:
            self.assertTrue(hasattr(aw, name), name)
        self.assertEqual(aw.__version__, "0.4.4")

    def test_exception_differences(self):
        self.assertFalse(issubclass(aw.EmptyQueue, IndexError))
        self.assertTrue(issubclass(aw.EmptyQueue, Exception))
        self.assertFalse(issubclass(aw.BusinessException, RuntimeError))
        self.assertTrue(issubclass(aw.BusinessException, aw.WorkItemException))
        e = aw.BusinessException("bad data", "E1")
        self.assertEqual(str(e), "bad data")
        self.assertEqual((e.message, e.code), ("bad data", "E1"))
        self.assertEqual(aw.State.DONE.value, "COMPLETED")
        self.assertIs(aw.State("DONE"), aw.State.DONE)
        self.assertIs(aw.State.COMPLETED, aw.State.DONE)

    def test_no_auto_reserve_and_iteration(self):
        self.assertIsNone(aw.inputs.current)
        seen = []
        for item in aw.inputs:
            with item:
                seen.append(item.payload)
                if len(seen) == 2:
                    raise aw.BusinessException("second is bad", "B2")
        self.assertEqual(len(seen), 2)
        self.assertEqual(self.adapter.releases[0][1], aw.State.DONE)
        self.assertEqual(self.adapter.releases[1][2],
                         {"type": "BUSINESS", "code": "B2", "message": "second is bad"})
        self.assertEqual(len(aw.inputs.released), 2)
        self.assertEqual(len(aw.inputs), 2)
        with self.assertRaises(aw.EmptyQueue):
            aw.inputs.reserve()

    def test_library_exception_suppressed_others_propagate(self):
        with aw.inputs.reserve() as item:
            raise aw.ApplicationException("app", "A1")
        self.assertEqual(item.exception, {"type": "APPLICATION", "code": "A1",
                                          "message": "app"})
        with self.assertRaises(ValueError):
            with aw.inputs.reserve() as item2:
                raise ValueError("boom")
        self.assertEqual(item2.state, aw.State.FAILED)
        # robocorp's exceptions are not the actions ones: not suppressed here
        self.assertNotIn(rw.BusinessException, aw.Input._suppressed_exceptions)

    def test_output_exit_saves_on_success(self):
        aw.inputs.reserve()
        with aw.outputs.create({"a": 1}, save=False) as out:
            self.assertFalse(out.saved)
        self.assertTrue(out.saved)
        with self.assertRaises(KeyError):
            with aw.outputs.create({"b": 2}, save=False) as out2:
                raise KeyError("x")
        self.assertFalse(out2.saved)

    def test_create_files_variants(self):
        d = Path(self.tmp.name)
        (d / "a.txt").write_text("A")
        (d / "b.txt").write_text("B")
        aw.inputs.reserve()
        o1 = aw.outputs.create({"k": 1}, files=str(d / "*.txt"))
        self.assertEqual(o1.files, ["a.txt", "b.txt"])
        o2 = aw.outputs.create(files=[d / "a.txt"])
        self.assertEqual(o2.files, ["a.txt"])
        o3 = aw.outputs.create(files={"renamed.txt": d / "b.txt", "raw.bin": b"\x00\x01"})
        self.assertEqual(self.adapter.files[o3.id], {"renamed.txt": b"B", "raw.bin": b"\x00\x01"})
        self.assertEqual(o3.get_file("raw.bin"), b"\x00\x01")
        self.assertEqual(o3.list_files(), ["raw.bin", "renamed.txt"])
        self.assertIs(aw.outputs.last, o3)
        self.assertEqual(len(aw.outputs), 3)

    def test_create_output_without_input(self):
        with self.assertRaisesRegex(RuntimeError, "No current input work item"):
            aw.outputs.create({"x": 1})

    def test_get_file_returns_path(self):
        item = aw.get_input()
        path = item.get_file("file1.txt", Path(self.tmp.name) / "f.txt")
        self.assertEqual(path.read_bytes(), b"data1")
        out = aw.create_output({"x": 1}, files={"n.txt": b"n"})
        self.assertFalse(out.saved)  # 0.2-style helper default save=False
        out.save()
        self.assertEqual(self.adapter.files[out.id], {"n.txt": b"n"})

    def test_seed_input_needs_capable_adapter(self):
        with self.assertRaises(NotImplementedError):
            aw.seed_input({"x": 1})


class TestActionsAdapterSelection(unittest.TestCase):
    def tearDown(self):
        aw._reset()

    def test_no_store_no_paths_is_sqlite_on_robotni_store(self):
        # As upstream: no store bound and no file paths => SQLiteAdapter, here on a
        # robotni store at RC_WORKITEM_DB_PATH (test_actions_02.py covers it in full).
        with tempfile.TemporaryDirectory() as tmp, \
                env(RC_WORKITEM_DB_PATH=Path(tmp) / "wi.db"), \
                fake_robotni.installed(fake_robotni.make(store=False)):
            self.assertIsInstance(aw.create_adapter(), aw.SQLiteAdapter)
            self.assertIsInstance(aw.create_adapter("sqlite"), aw.SQLiteAdapter)

    def test_file_adapter_when_paths_set(self):
        with tempfile.TemporaryDirectory() as tmp:
            inp = Path(tmp) / "in.json"
            inp.write_text(json.dumps([{"payload": {"p": 1}, "files": {}}]))
            out = Path(tmp) / "out.json"
            with env(RC_WORKITEM_INPUT_PATH=inp, RC_WORKITEM_OUTPUT_PATH=out):
                self.assertIsInstance(aw.create_adapter(), aw.FileAdapter)
                for item in aw.inputs:
                    aw.outputs.create({"got": item.payload["p"]})
            self.assertEqual(json.loads(out.read_text()), [{"payload": {"got": 1}, "files": {}}])
            with env(RC_WORKITEM_ADAPTER="File", RC_WORKITEM_INPUT_PATH=inp,
                     RC_WORKITEM_OUTPUT_PATH=out):
                self.assertIsInstance(aw.create_adapter(), aw.FileAdapter)

    def test_robotni_store_preferred(self):
        mod = fake_robotni.make(items=[({"n": 1}, {})])
        with env(), fake_robotni.installed(mod):
            self.assertIsInstance(aw.create_adapter(), aw.RobotniAdapter)
            self.assertIsInstance(aw.create_adapter("sqlite"), aw.RobotniAdapter)
            for item in aw.inputs:
                with item:
                    aw.outputs.create({"ok": True})
            with self.assertRaises(aw.EmptyQueue):
                aw.inputs.reserve()
        self.assertEqual(mod.state["releases"], [("in-1", "COMPLETED", None)])
        self.assertEqual(len(mod.state["outputs"]), 1)


if __name__ == "__main__":
    unittest.main()
