"""docs/compatibility.md against the shims: every name a table marks supported or
differs exists in its package, and a shim test uses it; every public name of the
packages is in a table."""

import importlib
import os
import re
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("ROBOTNI_REPO_DIR") or HERE.parents[3])
DOC = REPO / "docs" / "compatibility.md"

# section heading (package in backticks) -> module the names live in
MODULES = {
    "robocorp.log": "robocorp.log",
    "robocorp.vault": "robocorp.vault",
    "robocorp.storage": "robocorp.storage",
    "robocorp.tasks": "robocorp.tasks",
    "robocorp.workitems": "robocorp.workitems",
}
_IDENT = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`$")


def tables():
    """{package: [(name cell, status)]} from the doc's tables."""
    out, current = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## `([\w.]+)`", line)
        if m:
            current = m.group(1)
            out.setdefault(current, [])
            continue
        if current and line.startswith("| ") and not line.startswith("| Name") \
                and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2:
                out[current].append((cells[0], cells[1]))
    return out


def test_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in HERE.glob("test_*.py")
                     if p.name != Path(__file__).name)


class TestCompatibilityDoc(unittest.TestCase):
    def test_statuses_are_known(self):
        for pkg, rows in tables().items():
            for name, status in rows:
                self.assertIn(status, ("supported", "differs", "not supported",
                                       "robotni only"), (pkg, name))

    def test_supported_names_exist_and_are_tested(self):
        sources = test_sources()
        checked = 0
        for pkg, rows in tables().items():
            module_name = MODULES.get(pkg)
            if module_name is None:
                continue
            mod = importlib.import_module(module_name)
            for cell, status in rows:
                m = _IDENT.match(cell)
                if not m or status not in ("supported", "differs"):
                    continue
                name = m.group(1)
                self.assertTrue(hasattr(mod, name), f"{pkg}.{name} is marked {status}")
                self.assertRegex(sources, rf"\b{re.escape(name)}\b",
                                 f"{pkg}.{name} is marked {status} but no test uses it")
                checked += 1
        self.assertGreater(checked, 40)

    def test_every_public_name_is_listed(self):
        t = tables()
        for pkg in ("robocorp.log", "robocorp.vault", "robocorp.storage", "robocorp.workitems",
                    "robocorp.tasks"):
            mod = importlib.import_module(MODULES[pkg])
            listed = set()
            for cell, _status in t[pkg]:
                listed.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cell))
            for name in getattr(mod, "__all__"):
                self.assertIn(name, listed, f"{pkg}.{name} is not in docs/compatibility.md")


if __name__ == "__main__":
    unittest.main()
