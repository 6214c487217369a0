"""robocorp.storage for robotni: Control Room's Asset Storage API on a local
directory, standard library only.

    ROBOTNI_STORAGE_DIR=/path/to/assets   (default: <robot root>/.robotni/storage,
                                            the robot root being ROBOT_ROOT or the cwd)

    from robocorp import storage
    storage.set_json("config", {"retries": 3})
    storage.get_json("config")

Each asset is one file in that directory (its name percent-encoded where it is not
a portable file name) beside a ``.<file>.meta.json`` with its content type. Writes are
atomic (a temporary file renamed over the asset), so a reader sees the old or the new
content, never a half-written one. ``wait`` is accepted: a local write is done when
the call returns.
"""

import json
import logging
import mimetypes
import os
from pathlib import Path
from typing import Dict, List, Optional, Union
from urllib.parse import quote, unquote

__version__ = "1.1.0"
version_info = [int(x) for x in __version__.split(".")]

JSON = Union[Dict[str, "JSON"], List["JSON"], str, int, float, bool, None]

LOGGER = logging.getLogger(__name__)

KNOWN_MIMETYPES = [
    ("text/x-yaml", ".yml"),
    ("text/x-yaml", ".yaml"),
]

_META_PREFIX = "."
_META_SUFFIX = ".meta.json"


class AssetNotFound(OSError):
    """No asset with the given name (an OSError with ``status_code`` 404, as
    upstream's, which is a requests HTTPError)."""

    def __init__(self, message: str, status_code: int = 404, reason: str = "Not Found"):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.reason = reason

    def __str__(self):
        return f"{self.status_code} {self.reason} - {self.message}"


class AssetUploadFailed(RuntimeError):
    """The asset could not be written."""


def storage_dir() -> Path:
    """The directory robotni keeps the assets in (created on first write)."""
    d = os.environ.get("ROBOTNI_STORAGE_DIR")
    if d:
        p = Path(d).expanduser()
        if not p.is_absolute():
            p = Path(os.environ.get("ROBOT_ROOT") or os.getcwd()) / p
        return p
    return Path(os.environ.get("ROBOT_ROOT") or os.getcwd()) / ".robotni" / "storage"


def _file_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError("Asset name must be a non-empty string")
    # Portable names stay readable; anything else (/, \, :, leading dot, ...) is
    # percent-encoded so that one asset is always one file in the directory.
    enc = quote(name, safe=" -_()[]+,;=@!~'")
    if enc.startswith("."):
        enc = "%2E" + enc[1:]
    return enc


def _asset_path(name: str) -> Path:
    return storage_dir() / _file_name(name)


def _meta_path(path: Path) -> Path:
    return path.with_name(f"{_META_PREFIX}{path.name}{_META_SUFFIX}")


def list_assets() -> List[str]:
    """The names of all the assets (sorted)."""
    d = storage_dir()
    if not d.is_dir():
        return []
    names = []
    for p in d.iterdir():
        if p.name.startswith(".") or not p.is_file():
            continue
        names.append(unquote(p.name))
    return sorted(names)


def delete_asset(name: str):
    """Delete the asset ``name``. Raises AssetNotFound when there is none."""
    LOGGER.info("Deleting asset: %s", name)
    path = _asset_path(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise AssetNotFound(f"Asset not found: {name}") from None
    try:
        _meta_path(path).unlink()
    except FileNotFoundError:
        pass


def _read(name: str) -> bytes:
    try:
        return _asset_path(name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise AssetNotFound(f"Asset not found: {name}") from None


def content_type(name: str) -> str:
    """The content type the asset was stored with (robotni helper)."""
    path = _asset_path(name)
    if not path.is_file():
        raise AssetNotFound(f"Asset not found: {name}")
    try:
        return json.loads(_meta_path(path).read_text("utf-8"))["content_type"]
    except (OSError, ValueError, KeyError):
        return "application/octet-stream"


def get_text(name: str) -> str:
    """The asset as text (UTF-8). Raises AssetNotFound."""
    return _read(name).decode("utf-8")


def get_json(name: str, **kwargs) -> JSON:
    """The asset parsed as JSON (``kwargs`` go to json.loads). Raises AssetNotFound,
    JSONDecodeError."""
    return json.loads(_read(name).decode("utf-8"), **kwargs)


def get_file(name: str, path: Union[os.PathLike, str], exist_ok=False) -> Path:
    """Write the asset to ``path`` and return it (absolute). Raises AssetNotFound,
    FileExistsError (``path`` exists and not ``exist_ok``)."""
    content = _read(name)
    path = Path(path).absolute()
    if path.exists() and not exist_ok:
        raise FileExistsError(f"File already exists: {path}")
    path.write_bytes(content)
    return path


def get_bytes(name: str) -> bytes:
    """The asset as bytes. Raises AssetNotFound."""
    return _read(name)


def _set_asset(name: str, content: bytes, content_type: str, wait: bool) -> None:
    path = _asset_path(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(content)
        meta = _meta_path(path)
        meta_tmp = meta.with_name(meta.name + f".{os.getpid()}.tmp")
        meta_tmp.write_text(json.dumps({"name": name, "content_type": content_type}),
                            encoding="utf-8")
        os.replace(tmp, path)
        os.replace(meta_tmp, meta)
    except OSError as e:
        raise AssetUploadFailed(f"Failed to store asset {name!r}: {e}") from e
    LOGGER.info("Stored asset %r (content-type: %s)", name, content_type)


def set_text(name: str, text: str, wait: bool = True):
    """Create or update the asset with ``text`` (UTF-8, text/plain)."""
    _set_asset(name, text.encode("utf-8"), "text/plain", wait)


def set_json(name: str, value: JSON, wait: bool = True, **kwargs):
    """Create or update the asset with ``value`` as JSON (``kwargs`` go to json.dumps)."""
    _set_asset(name, json.dumps(value, **kwargs).encode("utf-8"), "application/json", wait)


def set_file(name: str, path: Union[os.PathLike, str], content_type: Optional[str] = None,
             wait: bool = True):
    """Create or update the asset with the content of the file ``path`` (content type
    guessed from its extension unless given)."""
    if content_type is None:
        for type_, ext in KNOWN_MIMETYPES:
            mimetypes.add_type(type_, ext)
        content_type, _ = mimetypes.guess_type(str(path))
        if content_type is None:
            content_type = "application/octet-stream"
    _set_asset(name, Path(path).read_bytes(), content_type, wait)


def set_bytes(name: str, data: bytes, content_type="application/octet-stream",
              wait: bool = True):
    """Create or update the asset with ``data``."""
    _set_asset(name, bytes(data), content_type, wait)


__all__ = [
    "AssetNotFound",
    "AssetUploadFailed",
    "list_assets",
    "delete_asset",
    "get_text",
    "get_json",
    "get_file",
    "get_bytes",
    "set_text",
    "set_json",
    "set_file",
    "set_bytes",
]
