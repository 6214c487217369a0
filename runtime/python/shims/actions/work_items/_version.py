"""Which actions-work-items behaviour ``actions.work_items`` gives: "0.4" (default) or
"0.2" (robots that pin actions-work-items below 0.4).

1. ``ROBOTNI_ACTIONS_WORK_ITEMS`` = a version (``0.2``, ``0.2.1``, ``0.4`` ...);
2. else the robot's own pin: an ``actions-work-items`` requirement in ``conda.yaml`` or
   ``package.yaml`` (``ROBOT_ROOT``, else the working directory) whose version is below
   0.4 (``==0.2.1``, ``=0.2.0``, ``~=0.2``, ``>=0.2,<0.3``);
3. else "0.4".
"""

import os
import re
from pathlib import Path
from typing import Optional

ENV = "ROBOTNI_ACTIONS_WORK_ITEMS"
_PIN = re.compile(r"actions[-_.]work[-_.]items\s*(\[[^\]]*\])?\s*([^\s#'\"]*)", re.IGNORECASE)
_NUM = re.compile(r"([<>=!~]*)\s*(\d+)(?:\.(\d+))?")

_current: Optional[str] = None


def _flavour_of(major: int, minor: int) -> str:
    return "0.2" if (major, minor) < (0, 4) else "0.4"


def from_spec(spec: str) -> Optional[str]:
    """"0.2"/"0.4" for a version or requirement spec, None when it says nothing."""
    spec = spec.strip()
    if not spec:
        return None
    for op, major, minor in _NUM.findall(spec):
        major, minor = int(major), int(minor or 0)
        if op in ("", "==", "=", "~=", "==="):
            return _flavour_of(major, minor)
        if op == "<" and (major, minor) <= (0, 4):
            return "0.2"
        if op == "<=" and (major, minor) < (0, 4):
            return "0.2"
    return None


def pinned(root: Optional[Path] = None) -> Optional[str]:
    """The flavour the robot's conda.yaml / package.yaml pins, if any."""
    root = Path(root or os.environ.get("ROBOT_ROOT") or os.getcwd())
    for name in ("conda.yaml", "package.yaml"):
        try:
            text = (root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            m = _PIN.search(line)
            if m:
                found = from_spec(m.group(2))
                if found:
                    return found
    return None


def detect() -> str:
    env = os.environ.get(ENV, "")
    found = from_spec(env) if env else None
    return found or pinned() or "0.4"


def current() -> str:
    global _current
    if _current is None:
        _current = detect()
    return _current


def set_current(flavour: Optional[str]) -> None:
    """Force a flavour ("0.2"/"0.4"), or None to detect again."""
    global _current
    _current = flavour
