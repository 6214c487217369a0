from collections.abc import Mapping
from typing import Any, Dict, Iterator


class SecretContainer(Mapping):
    """A secret: name, description and key-value pairs (keys are str).

    A read-write mapping (``secret["key"]``, ``keys()``, ``items()``, ``update()``,
    ``secret["key"] = value``) whose repr names the keys and never the values.
    """

    def __init__(self, name: str, description: str, values: Dict[str, Any]):
        self._name = name
        self._desc = description
        self._dict = dict((str(key), val) for key, val in values.items())

    @property
    def name(self) -> str:
        return self._name

    @property
    def description(self) -> str:
        return self._desc

    def update(self, kvpairs) -> None:
        self._dict.update(kvpairs)

    def __getitem__(self, key: str) -> Any:
        return self._dict[str(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        self._dict[str(key)] = value

    def __contains__(self, key: object) -> bool:
        return str(key) in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __repr__(self) -> str:
        return "Secret(name={name}, keys=[{keys}])".format(
            name=self.name, keys=", ".join(str(key) for key in self.keys()))
