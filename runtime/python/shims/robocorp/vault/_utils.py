import importlib
import os
from pathlib import Path
from typing import Any, Optional

UNDEFINED = object()


def required_env(name: str, default: Any = UNDEFINED) -> str:
    val = os.environ.get(name, default)
    if val is UNDEFINED:
        raise KeyError(f"Missing required environment variable: {name}")
    return val


def import_by_name(name: str, caller: Optional[str] = None) -> Any:
    """Import a module or a module attribute by its dotted name."""
    name = str(name)
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    if caller is not None:
        try:
            return getattr(importlib.import_module(caller), name)
        except AttributeError:
            pass
    if "." in name:
        try:
            path, attr = name.rsplit(".", 1)
            return getattr(importlib.import_module(path), attr)
        except (AttributeError, ImportError):
            pass
    raise ValueError(f"No module/attribute with name: {name}")


def resolve_path(path: str) -> Path:
    """``~`` expanded; a relative path is relative to the robot (ROBOT_ROOT, which
    is the working directory under rcc), else to the working directory."""
    p = Path(os.path.expandvars(str(path))).expanduser()
    if not p.is_absolute():
        root = os.environ.get("ROBOT_ROOT")
        if root:
            p = Path(root) / p
    return p.resolve()
