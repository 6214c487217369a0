import os

from ._adapters import BaseSecretManager, FileSecrets, RobocorpVault
from ._secrets import SecretContainer
from ._utils import import_by_name


class Vault:
    """Picks the adapter: ``RC_VAULT_SECRET_MANAGER`` (or the older
    ``RPA_SECRET_MANAGER``): "FileSecrets", "RPA.Robocorp.Vault.FileSecrets" or the
    import path of a BaseSecretManager subclass; unset: Control Room's vault."""

    def __init__(self, *args, **kwargs):
        default = kwargs.pop("default_adapter", RobocorpVault)
        if "RC_VAULT_SECRET_MANAGER" in os.environ:
            adapter = os.environ["RC_VAULT_SECRET_MANAGER"]
        elif "RPA_SECRET_MANAGER" in os.environ:
            adapter = os.environ["RPA_SECRET_MANAGER"]
        else:
            adapter = default
        self._adapter_factory = self._create_factory(adapter, args, kwargs)
        self._adapter = None

    @property
    def adapter(self) -> BaseSecretManager:
        if self._adapter is None:
            self._adapter = self._adapter_factory()
        return self._adapter

    def _create_factory(self, adapter, args, kwargs):
        if isinstance(adapter, str):
            if adapter in ("FileSecrets", "RPA.Robocorp.Vault.FileSecrets",
                           "robocorp.vault._adapters.FileSecrets"):
                adapter = FileSecrets
            else:
                try:
                    adapter = import_by_name(adapter, __name__)
                except Exception as e:
                    raise ValueError(
                        f"RC_VAULT_SECRET_MANAGER environment variable seems to "
                        f"have a wrong value: {adapter!r}.\n"
                        f'It should be unset to load from Control Room, "FileSecrets" '
                        f'to load from a file or the name of the "BaseSecretManager" '
                        f"implementation class."
                    ) from e
        if not isinstance(adapter, type) or not issubclass(adapter, BaseSecretManager):
            raise ValueError(f"Adapter '{adapter}' does not inherit from BaseSecretManager")

        def factory():
            return adapter(*args, **kwargs)

        return factory

    def get_secret(self, secret_name: str) -> SecretContainer:
        return self.adapter.get_secret(secret_name)

    def set_secret(self, secret: SecretContainer) -> None:
        self.adapter.set_secret(secret)
