"""robocorp.storage shim: assets on a local directory (ROBOTNI_STORAGE_DIR, default
<robot root>/.robotni/storage): text, JSON, bytes, files, list, delete, AssetNotFound."""

import json
import os
import tempfile
import unittest
from pathlib import Path

from robocorp import storage
from robocorp.storage import AssetNotFound


class StorageCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self._env = dict(os.environ)
        os.environ.pop("ROBOTNI_STORAGE_DIR", None)
        os.environ["ROBOT_ROOT"] = str(self.root)

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self._env)
        self.tmp.cleanup()


class TestStorage(StorageCase):
    def test_default_dir_and_setting(self):
        self.assertEqual(storage.storage_dir(), self.root / ".robotni" / "storage")
        storage.set_text("a", "1")
        self.assertTrue((self.root / ".robotni" / "storage" / "a").is_file())
        os.environ["ROBOTNI_STORAGE_DIR"] = "assets"
        self.assertEqual(storage.storage_dir(), self.root / "assets")
        self.assertEqual(storage.list_assets(), [])
        os.environ["ROBOTNI_STORAGE_DIR"] = str(self.root / "abs")
        storage.set_text("b", "2")
        self.assertEqual(storage.list_assets(), ["b"])
        self.assertTrue((self.root / "abs" / "b").is_file())

    def test_text_json_bytes(self):
        storage.set_text("greeting", "hyvää päivää")
        self.assertEqual(storage.get_text("greeting"), "hyvää päivää")
        self.assertEqual(storage.get_bytes("greeting"), "hyvää päivää".encode())
        self.assertEqual(storage.content_type("greeting"), "text/plain")
        storage.set_json("config", {"retries": 3, "hosts": ["a", "b"]}, wait=False)
        self.assertEqual(storage.get_json("config"), {"retries": 3, "hosts": ["a", "b"]})
        self.assertEqual(storage.content_type("config"), "application/json")
        storage.set_json("floats", {"x": 1.5}, sort_keys=True)
        from decimal import Decimal

        self.assertEqual(storage.get_json("floats", parse_float=Decimal), {"x": Decimal("1.5")})
        storage.set_bytes("blob", b"\x00\x01\xff", content_type="application/x-thing")
        self.assertEqual(storage.get_bytes("blob"), b"\x00\x01\xff")
        self.assertEqual(storage.content_type("blob"), "application/x-thing")
        storage.set_text("greeting", "replaced")
        self.assertEqual(storage.get_text("greeting"), "replaced")
        storage.set_text("not json", "{")
        with self.assertRaises(json.JSONDecodeError):
            storage.get_json("not json")

    def test_files(self):
        src = self.root / "in.yaml"
        src.write_text("a: 1\n")
        storage.set_file("settings", src)
        self.assertEqual(storage.content_type("settings"), "text/x-yaml")
        storage.set_file("raw", src, content_type="text/plain")
        self.assertEqual(storage.content_type("raw"), "text/plain")
        out = storage.get_file("settings", self.root / "out.yaml")
        self.assertTrue(out.is_absolute())
        self.assertEqual(out.read_text(), "a: 1\n")
        with self.assertRaises(FileExistsError):
            storage.get_file("settings", out)
        src.write_text("a: 2\n")
        storage.set_file("settings", str(src))
        self.assertEqual(storage.get_file("settings", out, exist_ok=True).read_text(), "a: 2\n")
        (self.root / "x.bin").write_bytes(b"zz")
        storage.set_file("bin", self.root / "x.bin")
        self.assertEqual(storage.content_type("bin"), "application/octet-stream")

    def test_list_and_delete(self):
        names = ["b", "a", "with/slash", ".hidden", "spaces and: colon", "ünï"]
        for n in names:
            storage.set_text(n, n)
        self.assertEqual(storage.list_assets(), sorted(names))
        for n in names:
            self.assertEqual(storage.get_text(n), n)
        # one asset is one file in the directory, nothing else is listed
        files = [p.name for p in storage.storage_dir().iterdir() if not p.name.startswith(".")]
        self.assertEqual(len(files), len(names))
        storage.delete_asset("with/slash")
        self.assertNotIn("with/slash", storage.list_assets())
        with self.assertRaises(AssetNotFound):
            storage.delete_asset("with/slash")
        with self.assertRaises(ValueError):
            storage.set_text("", "x")

    def test_asset_not_found(self):
        for get in (storage.get_text, storage.get_json, storage.get_bytes,
                    storage.content_type):
            with self.assertRaises(AssetNotFound) as cm:
                get("missing")
            self.assertEqual(cm.exception.status_code, 404)
            self.assertIn("missing", str(cm.exception))
        with self.assertRaises(AssetNotFound):
            storage.get_file("missing", self.root / "never")
        self.assertFalse((self.root / "never").exists())
        self.assertTrue(issubclass(AssetNotFound, OSError))
        self.assertEqual(storage.list_assets(), [])

    def test_upload_failed(self):
        os.environ["ROBOTNI_STORAGE_DIR"] = str(self.root / "file")
        (self.root / "file").write_text("a file where the directory should be")
        with self.assertRaises(storage.AssetUploadFailed):
            storage.set_text("x", "y")


if __name__ == "__main__":
    unittest.main()
