import importlib
import json
from pathlib import Path
from typing import Any, Optional


def import_by_name(name: str, caller: Optional[str] = None) -> Any:
    """Import a module or attribute by (dotted) name."""
    name = str(name)
    try:
        return importlib.import_module(name)
    except ImportError:
        pass

    if caller is not None:
        try:
            module = importlib.import_module(caller)
            return getattr(module, name)
        except (AttributeError, ImportError):
            pass

    if "." in name:
        try:
            path, attr = name.rsplit(".", 1)
            module = importlib.import_module(path)
            return getattr(module, attr)
        except (AttributeError, ImportError):
            pass

    raise ValueError(f"No module/attribute with name: {name}")


def resolve_path(path: str) -> Path:
    return Path(path).expanduser().resolve()


def json_dumps(payload: Any, **kwargs) -> str:
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(payload, **kwargs)


def truncate(text: str, size: int) -> str:
    """Truncate a string from the middle."""
    if len(text) <= size:
        return text
    ellipsis = " ... "
    segment = (size - len(ellipsis)) // 2
    return text[:segment] + ellipsis + text[-segment:]
