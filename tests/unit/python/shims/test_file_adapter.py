"""FileAdapter (spec §3, §6 items 17-20) on real temp files."""

import json
import os
import tempfile
import unittest
from pathlib import Path

from robocorp.workitems import EmptyQueue, FileAdapter, State

from wi_helpers import env


class FileAdapterCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self.input_path = self.root / "in" / "items.json"
        self.input_path.parent.mkdir()
        self.input_path.write_text(json.dumps(
            [{"payload": {"a-key": "a-value"}, "files": {"a-file": "file.txt"}},
             {"payload": [1, 2], "files": {}}]
        ))
        (self.root / "in" / "file.txt").write_bytes(b"some mock content")
        self.output_path = self.root / "out" / "items.json"
        self._env = env(RC_WORKITEM_INPUT_PATH=self.input_path,
                        RC_WORKITEM_OUTPUT_PATH=self.output_path)
        self._env.__enter__()

    def tearDown(self):
        self._env.__exit__(None, None, None)
        self.tmp.cleanup()

    def test_load_data(self):  # §6.17
        adapter = FileAdapter()
        item_id = adapter.reserve_input()
        self.assertEqual(item_id, "0")
        self.assertEqual(adapter.load_payload(item_id), {"a-key": "a-value"})
        self.assertEqual(adapter.reserve_input(), "1")
        self.assertEqual(adapter.load_payload("1"), [1, 2])
        with self.assertRaisesRegex(EmptyQueue, "No work items in the input queue"):
            adapter.reserve_input()

    def test_list_files_and_get_file(self):  # §6.17
        adapter = FileAdapter()
        item_id = adapter.reserve_input()
        self.assertEqual(adapter.list_files(item_id), ["a-file"])
        self.assertEqual(adapter.get_file(item_id, "a-file"), b"some mock content")

    def test_add_file_and_save_data_output(self):  # §6.18
        adapter = FileAdapter()
        parent = adapter.reserve_input()
        out_id = adapter.create_output(parent, {"key": "value"})
        self.assertEqual(out_id, "2")
        self.assertEqual(json.loads(self.output_path.read_text()),
                         [{"payload": {"key": "value"}, "files": {}}])
        adapter.add_file(out_id, "att.txt", b"attachment")
        self.assertEqual((self.output_path.parent / "att.txt").read_bytes(), b"attachment")
        self.assertEqual(json.loads(self.output_path.read_text()),
                         [{"payload": {"key": "value"}, "files": {"att.txt": "att.txt"}}])
        self.assertEqual(adapter.get_file(out_id, "att.txt"), b"attachment")
        adapter.save_payload(out_id, {"key": "changed"})
        self.assertEqual(json.loads(self.output_path.read_text())[0]["payload"],
                         {"key": "changed"})
        adapter.remove_file(out_id, "att.txt")
        self.assertEqual(json.loads(self.output_path.read_text())[0]["files"], {})
        self.assertIn('    "payload"', self.output_path.read_text())  # indent=4

    def test_save_data_input(self):  # §6.18
        adapter = FileAdapter()
        item_id = adapter.reserve_input()
        adapter.save_payload(item_id, {"new": "data", "ä": "ö"})
        data = json.loads(self.input_path.read_text(encoding="utf-8"))
        self.assertEqual(data[0], {"payload": {"new": "data", "ä": "ö"},
                                   "files": {"a-file": "file.txt"}})
        self.assertIn("ä", self.input_path.read_text(encoding="utf-8"))  # ensure_ascii=False

    def test_missing_file(self):  # §6.19
        with env(RC_WORKITEM_INPUT_PATH=self.root / "nope.json"):
            with self.assertRaisesRegex(ValueError, "Invalid work items file"):
                FileAdapter()

    def test_empty_queue(self):  # §6.19
        self.input_path.write_text("[]")
        with self.assertRaisesRegex(ValueError, "Invalid work items file"):
            FileAdapter()

    def test_malformed_queue(self):  # §6.19
        for content in ('{"payload": 1}', "[1, 2]", "not json"):
            self.input_path.write_text(content)
            with self.assertRaisesRegex(ValueError, "Invalid work items file"):
                FileAdapter()

    def test_missing_parent_directory(self):  # §6.19
        out = self.root / "deep" / "er" / "out.json"
        with env(RC_WORKITEM_INPUT_PATH=self.input_path, RC_WORKITEM_OUTPUT_PATH=out):
            adapter = FileAdapter()
            adapter.create_output(adapter.reserve_input(), {"x": 1})
        self.assertTrue(out.is_file())

    def test_invalid_reporter(self):  # §6.20
        adapter = FileAdapter()
        for _ in range(2):
            item_id = adapter.reserve_input()
            adapter.release_input(item_id, State.DONE)
        with self.assertRaisesRegex(ValueError, r"Work item parent \(1\) already released"):
            adapter.create_output("1", {"late": True})
        with self.assertRaisesRegex(ValueError, "already released"):
            adapter.release_input("1", State.DONE)

    def test_default_paths(self):  # §3
        with env(ROBOT_ARTIFACTS=self.root / "artifacts"):
            adapter = FileAdapter()
            self.assertEqual(adapter.load_payload(adapter.reserve_input()), None)
            adapter.create_output("0", {"o": 1})
        gen_in = self.root / "artifacts" / "work-items-in" / "workitems.json"
        gen_out = self.root / "artifacts" / "work-items-out" / "workitems.json"
        self.assertEqual(json.loads(gen_in.read_text()), [{"payload": None, "files": {}}])
        self.assertEqual(json.loads(gen_out.read_text()), [{"payload": {"o": 1}, "files": {}}])

    def test_legacy_env_names_and_relative_paths(self):  # §3
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            with env(RPA_INPUT_WORKITEM_PATH="in/items.json",
                     RPA_OUTPUT_WORKITEM_PATH="out2/items.json"):
                adapter = FileAdapter()
                self.assertEqual(adapter.input_path, self.input_path.resolve())
                adapter.create_output(adapter.reserve_input(), None)
                self.assertTrue((self.root / "out2" / "items.json").is_file())
        finally:
            os.chdir(cwd)

    def test_workitems_api_over_file_adapter(self):
        from wi_helpers import run_task
        from robocorp import workitems

        def t():
            for item in workitems.inputs:
                with item:
                    workitems.outputs.create({"from": item.id})
            self.assertEqual(len(workitems.inputs.released), 2)

        with env(RC_WORKITEM_ADAPTER="FileAdapter", RC_WORKITEM_INPUT_PATH=self.input_path,
                 RC_WORKITEM_OUTPUT_PATH=self.output_path):
            task = run_task(t)
        if task.exc_info:
            raise task.exc_info[1]
        self.assertEqual([o["payload"] for o in json.loads(self.output_path.read_text())],
                         [{"from": "0"}, {"from": "1"}])


if __name__ == "__main__":
    unittest.main()
