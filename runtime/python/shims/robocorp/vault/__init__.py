"""robocorp.vault for robotni: secrets from a local file (robocorp-vault's
FileSecrets adapter), standard library only.

    RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets   (or RC_VAULT_SECRET_MANAGER)
    RPA_SECRET_FILE=/path/to/secrets.json               (or RC_VAULT_SECRETS_FILE; .yaml too)

    from robocorp import vault
    secret = vault.get_secret("credentials")
    secret["username"], secret["password"]

Values read or written are hidden from robocorp.log's output (``hide=True``).
Control Room's vault (the default adapter upstream) needs its API and encryption and
is not available: without a FileSecrets setting, get_secret raises
RobocorpVaultError saying how to set one.
"""

import os
from contextlib import nullcontext
from typing import Any, Dict

from ._adapters import BaseSecretManager, FileSecrets, RobocorpVault
from ._errors import RobocorpVaultError
from ._secrets import SecretContainer

__version__ = "1.4.0"
version_info = [int(x) for x in __version__.split(".")]

# One adapter per settings: robotni runs many robots (and many runs) in one
# interpreter, each with its own os.environ, where upstream caches one per process.
_vaults: Dict[tuple, Any] = {}


def _get_vault():
    from ._vault import Vault

    key = tuple(os.environ.get(k) for k in (
        "RC_VAULT_SECRET_MANAGER", "RPA_SECRET_MANAGER", "RC_VAULT_SECRETS_FILE",
        "RPA_SECRET_FILE", "ROBOT_ROOT"))
    key += (os.getcwd(),)
    vault = _vaults.get(key)
    if vault is None:
        if len(_vaults) > 32:
            _vaults.clear()
        vault = _vaults[key] = Vault()
    return vault


_get_vault.cache_clear = _vaults.clear  # as functools.lru_cache's, for tests


def get_secret(name: str, hide: bool = True) -> SecretContainer:
    """Get the secret ``name`` (a SecretContainer). ``hide``: its values are hidden
    from robocorp.log's output.

    Raises:
        RobocorpVaultError: no adapter configured, or the adapter failed.
        KeyError: FileSecrets has no secret with that name.
    """
    with _suppress_variables():
        secret = _get_vault().get_secret(name)
        if hide:
            _hide_secret_values(secret)
        return secret


def set_secret(secret: SecretContainer, hide: bool = True) -> None:
    """Store ``secret`` (all its values replace the stored ones); FileSecrets writes
    it back to the secrets file."""
    with _suppress_variables():
        _get_vault().set_secret(secret)
        if hide:
            _hide_secret_values(secret)


def create_secret(name: str, values: Dict[str, Any], description: str = "",
                  exist_ok: bool = False, hide: bool = True) -> SecretContainer:
    """Create a secret (``exist_ok``: overwrite an existing one)."""
    with _suppress_variables():
        vault = _get_vault()
        if not exist_ok:
            try:
                vault.get_secret(name)
            except Exception:
                pass
            else:
                raise RobocorpVaultError(f"Secret with name '{name}' already exists")
        secret = SecretContainer(name=name, description=description, values=values)
        set_secret(secret, hide=hide)
        return secret


def _suppress_variables():
    try:
        from robocorp import log
    except ImportError:
        return nullcontext()
    return log.suppress_variables()


def _hide_secret_values(secret) -> None:
    try:
        from robocorp import log
    except ImportError:
        return
    for value in secret.values():
        s = str(value)
        log.hide_from_output(s)
        r = repr(value)
        if r.startswith("'") and r.endswith("'"):
            r = r[1:-1]
        if r != s:
            log.hide_from_output(r)
            log.hide_from_output(r.replace("\\", "\\\\"))


__all__ = [
    "get_secret",
    "set_secret",
    "create_secret",
    "SecretContainer",
    "RobocorpVaultError",
]
