import json
import logging
import os
from abc import ABCMeta, abstractmethod
from typing import Callable, Tuple

from ._errors import RobocorpVaultError
from ._secrets import SecretContainer
from ._utils import resolve_path


class BaseSecretManager(metaclass=ABCMeta):
    """Base class of secret adapters (``RC_VAULT_SECRET_MANAGER=module.Class``)."""

    @abstractmethod
    def get_secret(self, secret_name) -> SecretContainer:
        """Return ``SecretContainer`` object with given name."""

    @abstractmethod
    def set_secret(self, secret: SecretContainer):
        """Set a secret with a new value."""


class FileSecrets(BaseSecretManager):
    """Secrets in a local plaintext file (for development, as upstream).

    The path: ``RC_VAULT_SECRETS_FILE``, else ``RPA_SECRET_FILE``, else
    ``secret_file`` (default ``secrets.json``). ``.json`` or ``.yaml``/``.yml``::

        {"name1": {"key1": "value1", "key2": "value2"}, "name2": {"key1": "value1"}}

        name1:
          key1: value1
          key2: value2
    """

    def __init__(self, secret_file="secrets.json"):
        self.logger = logging.getLogger(__name__)
        if "RC_VAULT_SECRETS_FILE" in os.environ:
            path = os.environ["RC_VAULT_SECRETS_FILE"]
        elif "RPA_SECRET_FILE" in os.environ:
            path = os.environ["RPA_SECRET_FILE"]
        else:
            path = secret_file
        self.logger.info("Resolving path: %s", path)
        self.path = resolve_path(path)
        self._loader, self._dumper = self._get_serializer(self.path.suffix)

    def _get_serializer(self, extension: str) -> Tuple[Callable, Callable]:
        if extension == ".json":
            return (json.load, lambda data, f: json.dump(data, f, indent=4))
        if extension in (".yaml", ".yml"):
            from . import _yaml

            return (_yaml.load, lambda data, f: _yaml.dump(data, f, indent=4))
        raise ValueError(f"Local vault secrets file extension {extension!r} not supported.")

    def _load(self) -> dict:
        with open(self.path, encoding="utf-8") as fd:
            data = self._loader(fd)
        if not isinstance(data, dict):
            raise ValueError(f"Expected dictionary, was '{type(data)}'")
        return data

    def _save(self, data) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"Expected dictionary, was '{type(data)}'")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            self._dumper(data, f)
        try:
            os.chmod(tmp, os.stat(self.path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, self.path)

    def get_secret(self, secret_name: str) -> SecretContainer:
        """Raises KeyError("Undefined secret: name") when the file has no such secret."""
        values = self._load().get(secret_name)
        if values is None:
            raise KeyError(f"Undefined secret: {secret_name}")
        return SecretContainer(secret_name, "", values)

    def set_secret(self, secret: SecretContainer) -> None:
        """Write the secret back to the file (other secrets kept)."""
        data = self._load()
        data[secret.name] = dict(secret)
        self._save(data)


class RobocorpVault(BaseSecretManager):
    """Control Room's vault: not available in robotni (no API client, no
    encryption library); raises RobocorpVaultError with the local alternative."""

    def __init__(self, *args, **kwargs):
        self._hint = (
            "robotni: Control Room's vault is not available; set "
            "RPA_SECRET_MANAGER=RPA.Robocorp.Vault.FileSecrets (or "
            "RC_VAULT_SECRET_MANAGER=FileSecrets) and RPA_SECRET_FILE (or "
            "RC_VAULT_SECRETS_FILE) to a .json or .yaml secrets file")

    def get_secret(self, secret_name: str) -> SecretContainer:
        raise RobocorpVaultError(self._hint)

    def set_secret(self, secret: SecretContainer) -> None:
        raise RobocorpVaultError(self._hint)
