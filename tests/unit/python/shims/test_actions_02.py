"""actions.work_items as robots pinned to actions-work-items 0.2.x use it: the 0.2
flavour, FileAdapter's directory layout, SQLiteAdapter on robotni's store and the
queue helpers (seed_input, get_queue_stats, list_items, get_item, delete_item,
recover_orphaned_work_items)."""

import json
import logging
import os
import sqlite3
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import actions.work_items as aw
from actions.work_items import _version
from actions import workitems as alias

import fake_robotni
from wi_helpers import env

EML = (b"From: Ann Example <ann@example.com>\r\nTo: bob@example.com, Cy <cy@example.com>\r\n"
       b"Subject: =?utf-8?q?Caf=C3=A9?=\r\nDate: Tue, 01 Apr 2025 10:00:00 +0000\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n")


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)
        aw._reset()

    def tearDown(self):
        aw._reset()
        aw._use("0.4")
        self._tmp.cleanup()


class TestFlavourSelection(TempDirCase):
    def test_specs(self):
        for spec, flavour in [("==0.2.1", "0.2"), ("=0.2.0", "0.2"), ("~=0.2", "0.2"),
                              (">=0.2,<0.3", "0.2"), ("0.4.4", "0.4"), ("==0.4.4", "0.4"),
                              (">=0.2", None), ("", None)]:
            self.assertEqual(_version.from_spec(spec), flavour, spec)

    def test_pin_in_conda_yaml_and_package_yaml(self):
        (self.tmp / "conda.yaml").write_text(
            "dependencies:\n  - python=3.11\n  - pip:\n    - actions-work-items==0.2.1\n")
        self.assertEqual(_version.pinned(self.tmp), "0.2")
        (self.tmp / "conda.yaml").unlink()
        (self.tmp / "package.yaml").write_text(
            "dependencies:\n  pypi:\n    - actions-work-items=0.4.4  # newer\n")
        self.assertEqual(_version.pinned(self.tmp), "0.4")
        with env(ROBOT_ROOT=self.tmp, ROBOTNI_ACTIONS_WORK_ITEMS="0.2"):
            self.assertEqual(_version.detect(), "0.2")
        with env(ROBOT_ROOT=self.tmp):
            self.assertEqual(_version.detect(), "0.4")

    def test_use_switches_module_and_alias(self):
        self.assertEqual(aw._use("0.2"), "0.2")
        self.assertEqual(aw.State.DONE.value, "DONE")
        self.assertIs(aw.State("COMPLETED"), aw.State.DONE)
        self.assertEqual(aw.__version__, "0.2.1")
        self.assertIs(alias.inputs, aw.inputs)
        self.assertIs(alias.State, aw.State)
        for name in aw.__all__:
            self.assertTrue(hasattr(aw, name), name)
        aw._use("0.4")
        self.assertEqual(aw.State.DONE.value, "COMPLETED")
        self.assertEqual(aw.__version__, "0.4.4")


class TestSQLiteAdapterOnRobotniStore(TempDirCase):
    def adapter(self, **kw):
        kw.setdefault("db_path", str(self.tmp / "wi.db"))
        kw.setdefault("queue_name", "orders")
        return aw.SQLiteAdapter(**kw)

    def test_seed_reserve_done_and_schema(self):
        a = self.adapter()
        self.assertEqual(a.output_queue_name, "orders_output")
        item_id = a.seed_input({"n": 1}, {"a.txt": b"A"})
        self.assertEqual(a.reserve_input(), item_id)
        with self.assertRaises(aw.EmptyQueue):
            a.reserve_input()
        self.assertEqual(a.load_payload(item_id), {"n": 1})
        a.save_payload(item_id, {"n": 2})
        a.release_input(item_id, aw.State.DONE)
        item = a.get_item(item_id)
        self.assertEqual((item["state"], item["payload"], item["files"], item["queue_name"]),
                         ("DONE", {"n": 2}, ["a.txt"], "orders"))
        self.assertIsNotNone(item["completed_at"])
        db = sqlite3.connect(self.tmp / "wi.db")
        self.assertEqual(db.execute("SELECT max(version) FROM schema_version").fetchone(), (5,))
        row = db.execute("SELECT state, attempt, finished > 0 FROM items").fetchone()
        self.assertEqual(row, ("DONE", 1, 1))
        size, sha = db.execute("SELECT size, sha256 FROM files").fetchone()
        self.assertEqual(size, 1)
        self.assertEqual(len(sha), 64)
        self.assertEqual((self.tmp / "work_item_files" / item_id / "a.txt").read_bytes(), b"A")

    def test_failures_follow_robotni_retries(self):
        a = self.adapter()
        biz = a.seed_input({"k": "b"})
        app = a.seed_input({"k": "a"})
        a.reserve_input()
        a.release_input(biz, aw.State.FAILED, exception_type=aw.ExceptionType.BUSINESS,
                        code="E1", message="bad")
        item = a.get_item(biz)
        self.assertEqual((item["state"], item["exception_type"], item["error_code"],
                          item["error_message"]), ("FAILED", "BUSINESS", "E1", "bad"))
        a.reserve_input()
        # robocorp's call shape: an exception dict
        a.release_input(app, aw.State.FAILED, {"type": "APPLICATION", "code": None,
                                              "message": "flaky"})
        item = a.get_item(app)
        self.assertEqual((item["state"], item["attempt"], item["error_message"]),
                         ("PENDING", 1, "flaky"))  # retried later (backoff)
        with self.assertRaises(RuntimeError):
            a.release_input(app, aw.State.DONE)  # not reserved: fenced

    def test_outputs_files_list_stats_delete(self):
        a = self.adapter()
        parent = a.seed_input({"in": 1})
        a.reserve_input()
        out = a.create_output(parent, {"out": 1})
        a.add_file(out, "r.txt", "orig.txt", b"R")  # 0.2 call shape
        a.add_file(out, "s.txt", b"S")  # robocorp call shape
        self.assertEqual(a.list_files(out), ["r.txt", "s.txt"])
        self.assertEqual(a.get_file(out, "s.txt"), b"S")
        a.remove_file(out, "s.txt")
        with self.assertRaises(FileNotFoundError):
            a.get_file(out, "s.txt")
        with self.assertRaises(ValueError):
            a.get_file(out, "s.txt")
        with self.assertRaises(ValueError):
            a.add_file(out, "../x", b"x")
        item = a.get_item(out)
        self.assertEqual((item["parent_id"], item["queue_name"], item["state"]),
                         (parent, "orders_output", "PENDING"))
        a.seed_input({"i": 2})
        a.seed_input({"i": 3})
        listed = a.list_items()
        self.assertEqual([i["payload"] for i in listed], [{"i": 3}, {"i": 2}, {"in": 1}])
        self.assertEqual(len(a.list_items(state=aw.State.PENDING)), 2)
        self.assertEqual(len(a.list_items(state="IN_PROGRESS")), 1)
        self.assertEqual(len(a.list_items(queue_name="orders_output")), 1)
        self.assertEqual(a.get_queue_stats(),
                         {"pending": 2, "in_progress": 1, "done": 0, "failed": 0,
                          "cancelled": 0, "total": 3})
        a.delete_item(out)
        self.assertFalse((self.tmp / "work_item_files" / out).exists())
        with self.assertRaises(ValueError):
            a.get_item(out)
        with self.assertRaises(ValueError):
            a.delete_item(out)

    def test_recover_orphaned(self):
        a = self.adapter()
        item_id = a.seed_input()
        a.reserve_input()
        self.assertEqual(a.recover_orphaned_work_items(), [])
        db = sqlite3.connect(self.tmp / "wi.db")
        db.execute("UPDATE items SET started = started - 31 * 60 * 1000")
        db.commit()
        self.assertEqual(a.recover_orphaned_work_items(), [item_id])
        self.assertEqual(a.get_item(item_id)["state"], "PENDING")
        self.assertEqual(a.reserve_input(), item_id)

    def test_foreign_schema_refused_with_hint(self):
        path = self.tmp / "action_server.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE work_items(id TEXT PRIMARY KEY, queue_name TEXT)")
        db.commit()
        with self.assertRaisesRegex(RuntimeError, "not robotni's work-item store"):
            aw.SQLiteAdapter(db_path=str(path))

    def test_env_defaults_and_files_dir(self):
        with env(RC_WORKITEM_DB_PATH=self.tmp / "e.db", RC_WORKITEM_QUEUE_NAME="q",
                 RC_WORKITEM_OUTPUT_QUEUE_NAME="q_out", RC_WORKITEM_FILES_DIR=self.tmp / "x"):
            with self.assertLogs("actions.work_items._adapters", logging.WARNING):
                a = aw.create_adapter()
            self.assertIsInstance(a, aw.SQLiteAdapter)
            self.assertEqual((a.queue_name, a.output_queue_name), ("q", "q_out"))
            self.assertEqual(a.files_dir, (self.tmp / "work_item_files").resolve())
            explicit = aw.SQLiteAdapter(queue_name="other")
            self.assertEqual(explicit.output_queue_name, "other_output")

    def test_inside_robotni_same_store_goes_through_the_run(self):
        mod = fake_robotni.make(items=[({"n": 1}, {})])
        db = self.tmp / "run.db"
        with env(RC_WORKITEM_DB_PATH=db), fake_robotni.installed(mod):
            a = aw.SQLiteAdapter(db_path=str(db), queue_name="orders",
                                 output_queue_name="orders_output")
            self.assertEqual(a.reserve_input(), "in-1")
            a.release_input("in-1", aw.State.DONE)
            other = aw.SQLiteAdapter(db_path=str(db), queue_name="elsewhere")
            with self.assertRaises(aw.EmptyQueue):
                other.reserve_input()
            # create_adapter() in a run: robotni's adapter, with the queue helpers
            run = aw.create_adapter()
            self.assertIsInstance(run, aw.RobotniAdapter)
            new_id = run.seed_input({"seeded": True}, queue_name="orders")
            self.assertEqual(run.get_item(new_id)["payload"], {"seeded": True})
            self.assertEqual(run.get_queue_stats("orders")["pending"], 1)
        self.assertEqual(mod.state["releases"], [("in-1", "COMPLETED", None)])


class TestFileAdapterDirectoryLayout(TempDirCase):
    def make_input(self):
        inp = self.tmp / "in"
        (inp / "2").mkdir(parents=True)
        (inp / "2" / "doc.txt").write_bytes(b"DOC")
        (inp / "work-items.json").write_text(json.dumps({"workItems": [
            {"id": "a", "payload": {"n": 1}, "files": []},
            {"id": "b", "payload": {"n": 2}, "files": ["doc.txt"]}]}))
        return inp

    def test_reserve_release_outputs(self):
        inp, out = self.make_input(), self.tmp / "out"
        a = aw.FileAdapter(input_path=str(inp), output_path=str(out))
        self.assertEqual(a.layout, "directory")
        self.assertEqual(a.reserve_input(), "a")
        self.assertEqual(a.reserve_input(), "b")
        with self.assertRaises(aw.EmptyQueue):
            a.reserve_input()
        self.assertEqual(a.list_files("b"), ["doc.txt"])
        self.assertEqual(a.get_file("b", "doc.txt"), b"DOC")
        a.release_input("a", aw.State.DONE)
        a.release_input("b", aw.State.FAILED, exception_type=aw.ExceptionType.BUSINESS,
                        code="C", message="m")
        saved = json.loads((inp / "work-items.json").read_text())["workItems"]
        self.assertEqual(saved[0]["state"], "DONE")
        self.assertEqual(saved[1]["exception"], {"type": "BUSINESS", "code": "C",
                                                 "message": "m"})
        oid = a.create_output("b", {"r": 1})
        a.add_file(oid, "res.txt", "res.txt", b"RES")
        written = json.loads((out / "work-items.json").read_text())["workItems"]
        self.assertEqual((written[0]["parentId"], written[0]["payload"], written[0]["files"],
                          written[0]["state"]), ("b", {"r": 1}, ["res.txt"], "PENDING"))
        self.assertEqual((out / "1" / "res.txt").read_bytes(), b"RES")

    def test_queue_helpers(self):
        a = aw.FileAdapter(input_path=str(self.tmp / "in2"), output_path=str(self.tmp / "o2"))
        sid = a.seed_input({"s": 1}, {"f.bin": b"F"})
        self.assertEqual((self.tmp / "in2" / "1" / "f.bin").read_bytes(), b"F")
        self.assertEqual(a.get_item(sid)["payload"], {"s": 1})
        self.assertEqual(a.get_queue_stats()["pending"], 1)
        self.assertEqual(len(a.list_items(state=aw.State.PENDING)), 1)
        a.delete_item(sid)
        self.assertEqual(a.get_queue_stats()["total"], 0)
        with self.assertRaises(ValueError):
            a.get_item(sid)
        self.assertEqual(a.recover_orphaned_work_items(), [])

    def test_list_file_keeps_robocorp_layout(self):
        inp = self.tmp / "items.json"
        inp.write_text(json.dumps([{"payload": {"p": 1}, "files": {}}]))
        a = aw.FileAdapter(input_path=str(inp), output_path=str(self.tmp / "out.json"))
        self.assertEqual(a.layout, "list")
        self.assertEqual(a.reserve_input(), "0")
        with self.assertRaises(NotImplementedError):
            a.get_queue_stats()
        # a work-items.json holding {"workItems": ...} means its directory
        d = self.make_input()
        self.assertEqual(aw.FileAdapter(input_path=str(d / "work-items.json"),
                                        output_path=str(self.tmp / "o")).layout, "directory")


class TestFlavour02Api(TempDirCase):
    def setUp(self):
        super().setUp()
        aw._use("0.2")
        self.adapter = aw.SQLiteAdapter(db_path=str(self.tmp / "wi.db"), queue_name="q")
        aw.init(self.adapter)

    def test_loop_explicit_release_outputs_and_helpers(self):
        for n in range(3):
            aw.seed_input({"n": n})
        self.assertEqual(aw.get_queue_stats()["pending"], 3)
        self.assertIsNone(aw.inputs.current)
        seen = []
        for item in aw.inputs:
            seen.append(item.payload["n"])
            self.assertEqual(item.state, aw.State.IN_PROGRESS)
            out = aw.outputs.create({"double": item.payload["n"] * 2},
                                    files={"n.txt": str(item.payload["n"]).encode()})
            self.assertTrue(out.list_files())
            item.done()
            item.done()  # a second release only warns
        self.assertEqual(seen, [0, 1, 2])
        self.assertEqual(len(aw.inputs), 3)
        self.assertEqual(len(aw.inputs.released), 3)
        self.assertEqual(aw.outputs.last.payload, {"double": 4})
        self.assertEqual(len(aw.outputs), 3)
        stats = aw.get_queue_stats()
        self.assertEqual((stats["done"], stats["total"]), (3, 3))
        outs = aw.list_items(queue_name="q_output")
        self.assertEqual(sorted(o["payload"]["double"] for o in outs), [0, 2, 4])
        first = outs[-1]
        self.assertEqual(aw.get_item(first["id"])["files"], ["n.txt"])
        aw.delete_item(first["id"])
        self.assertEqual(len(aw.list_items(queue_name="q_output")), 2)
        self.assertEqual(aw.recover_orphaned_work_items(), [])

    def test_with_item_never_suppresses(self):
        aw.seed_input({"x": 1})
        aw.seed_input({"x": 2})
        with self.assertRaises(aw.BusinessException):
            with aw.inputs.reserve() as item:
                raise aw.BusinessException("no", code="B1")
        self.assertEqual(item.state, aw.State.FAILED)
        self.assertIsInstance(item.exception, aw.BusinessException)
        row = aw.get_item(item.id)
        self.assertEqual((row["state"], row["exception_type"], row["error_code"]),
                         ("FAILED", "BUSINESS", "B1"))
        with self.assertRaises(KeyError):
            with aw.inputs.reserve() as item2:
                raise KeyError("k")
        self.assertEqual(aw.get_item(item2.id)["error_code"], "KeyError")

    def test_fail_truncates_and_files_are_immediate(self):
        src = self.tmp / "src.txt"
        src.write_bytes(b"SRC")
        item_id = aw.seed_input({"a": 1}, files={"in.txt": src})
        item = aw.get_input()
        self.assertEqual(item.id, item_id)
        self.assertEqual(item.get_file("in.txt"), b"SRC")  # bytes in 0.2
        target = self.tmp / "copy.txt"
        item.get_file("in.txt", target)
        self.assertEqual(target.read_bytes(), b"SRC")
        item.add_file(content=EML, name="email.eml")
        self.assertEqual(self.adapter.list_files(item_id), ["email.eml", "in.txt"])
        mail = item.get_email()
        self.assertEqual((mail.sender.address, mail.sender.name, mail.subject, mail.body.strip()),
                         ("ann@example.com", "Ann Example", "Café", "hello"))
        self.assertEqual([r.address for r in mail.recipients],
                         ["bob@example.com", "cy@example.com"])
        self.assertEqual(item.remove_files("*.eml"), ["email.eml"])
        item.remove_file("gone.txt", missing_ok=True)
        out = aw.create_output({"o": 1}, files={"b.bin": b"B"})
        self.assertEqual(out.parent_id, item_id)
        item.payload = {"a": 2}
        item.fail("application", "E", "x" * 2000)
        row = aw.get_item(item_id)
        self.assertEqual(len(row["error_message"]), 1000)
        self.assertEqual(row["payload"], {"a": 2})  # fail() saved the payload first

    def test_get_context_needs_init(self):
        aw._reset()
        with self.assertRaisesRegex(RuntimeError, "not initialized"):
            aw.get_context()
        with env(RC_WORKITEM_DB_PATH=self.tmp / "auto.db"):
            self.assertEqual(list(aw.inputs), [])  # the singleton initialises it
        self.assertIsInstance(aw.get_context().adapter, aw.SQLiteAdapter)
        ctx = aw.init(self.adapter)
        aw.seed_input({"z": 1})
        got = [i.payload for i in ctx.inputs()]
        self.assertEqual(got, [{"z": 1}])

    def test_custom_02_adapter_gets_02_calls(self):
        calls = []

        class Custom:
            def reserve_input(self):
                if calls:
                    raise aw.EmptyQueue("empty")
                calls.append("reserve")
                return "c1"

            def load_payload(self, item_id):
                return {"c": 1}

            def release_input(self, item_id, state, exception_type=None, code=None,
                              message=None):
                calls.append((item_id, state, exception_type, code, message))

            def add_file(self, item_id, name, original_name, content):
                calls.append(("file", name, original_name, content))

        aw.init(Custom())
        item = aw.get_input()
        item.add_file(content=b"c", name="c.txt")
        item.fail(aw.ExceptionType.BUSINESS, "C", "m")
        self.assertEqual(calls[1:], [("file", "c.txt", "c.txt", b"c"),
                                     ("c1", aw.State.FAILED, aw.ExceptionType.BUSINESS, "C",
                                      "m")])


class TestHelpersIn04Flavour(TempDirCase):
    def test_helpers_with_sqlite_adapter(self):
        adapter = aw.SQLiteAdapter(db_path=str(self.tmp / "wi.db"), queue_name="q")
        aw.init(adapter)
        src = self.tmp / "f.txt"
        src.write_bytes(b"F")
        item_id = aw.seed_input({"v": 1}, files={"f.txt": src})
        for item in aw.inputs:  # 0.4: released DONE by the loop
            self.assertEqual(item.get_file("f.txt", self.tmp / "g.txt").read_bytes(), b"F")
            aw.outputs.create({"r": 1})
        self.assertEqual(aw.get_item(item_id)["state"], "DONE")
        self.assertEqual(aw.get_queue_stats()["done"], 1)
        self.assertEqual(aw.list_items(queue_name="q_output")[0]["parent_id"], item_id)

    def test_helpers_need_capable_adapter(self):
        class Bare(aw.BaseAdapter):
            reserve_input = release_input = create_output = load_payload = None
            save_payload = list_files = get_file = add_file = remove_file = None

        aw.init(Bare())
        for call in (aw.get_queue_stats, aw.list_items, aw.recover_orphaned_work_items,
                     lambda: aw.get_item("1"), lambda: aw.delete_item("1")):
            with self.assertRaises(NotImplementedError):
                call()


if __name__ == "__main__":
    unittest.main()
