"""The example orders robot: producer -> consumer -> reporter chained through
FileAdapter files, each run as `/usr/bin/python3.11 -I` with the shims on sys.path."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(os.environ.get("ROBOTNI_REPO_DIR") or Path(__file__).resolve().parents[4])
SHIMS = REPO / "runtime" / "python" / "shims"


class TestOrdersRobot(unittest.TestCase):
    def run_task(self, root: Path, name: str, artifacts: Path):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RC_", "RPA_", "ROBOT_"))}
        env.update(json.loads((root / "devdata" / f"env-for-{name}.json").read_text()))
        env["ROBOT_ROOT"] = str(root)
        env["ROBOT_ARTIFACTS"] = str(artifacts)
        code = ("import sys; sys.path.insert(0, %r); "
                "from robocorp.tasks.cli import main; main(sys.argv[1:])" % str(SHIMS))
        return subprocess.run(
            ["/usr/bin/python3.11", "-I", "-c", code, "run", "workers/orders/tasks.py",
             "-t", name],
            cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )

    def test_chain(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            shutil.copytree(REPO / "devdata", root / "devdata",
                            ignore=shutil.ignore_patterns("work-items-out"))
            (root / "workers" / "orders").mkdir(parents=True)
            shutil.copy(REPO / "workers" / "orders" / "tasks.py", root / "workers" / "orders")
            artifacts = root / "output"

            for name in ("producer", "consumer", "reporter"):
                proc = self.run_task(root, name, artifacts)
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                self.assertIn(f"{name} status: PASS", proc.stdout)

            produced = json.loads(
                (root / "devdata/work-items-out/producer/work-items.json").read_text())
            self.assertEqual(len(produced), 30)
            consumed = json.loads(
                (root / "devdata/work-items-out/consumer/work-items.json").read_text())
            statuses = [o["payload"]["status"] for o in consumed]
            self.assertEqual(statuses.count("rejected"), 5)
            self.assertEqual(statuses.count("accepted"), 25)

            summary = json.loads((artifacts / "summary.json").read_text())
            self.assertEqual(summary["orders"], 30)
            self.assertEqual(summary["accepted"], 25)
            self.assertEqual(summary["rejected"], 5)
            codes = sorted(r["code"] for r in summary["rejections"])
            self.assertEqual(codes, ["INVALID_QUANTITY", "INVALID_QUANTITY",
                                     "MISSING_CUSTOMER", "MISSING_CUSTOMER",
                                     "UNKNOWN_PRODUCT"])
            total = sum(float(o["payload"]["total"]) for o in consumed
                        if o["payload"]["status"] == "accepted")
            self.assertAlmostEqual(float(summary["grand_total"]), total, places=2)
            text = (artifacts / "summary.txt").read_text()
            self.assertIn("TOTAL", text)
            self.assertIn("ORD-1018", text)


if __name__ == "__main__":
    unittest.main()
