import enum
import typing
from typing import Any, Dict, Optional, Protocol


class Status(str, enum.Enum):
    NOT_RUN = "NOT_RUN"
    PASS = "PASS"
    FAIL = "FAIL"

    def __str__(self):
        return self.value


class ITask(Protocol):
    module_name: str
    filename: str
    method: typing.Callable
    message: str
    exc_info: Optional[tuple]
    result: Any
    options: Optional[dict]

    @property
    def name(self) -> str: ...

    @property
    def lineno(self) -> int: ...

    @property
    def status(self) -> Status: ...

    @property
    def failed(self) -> bool: ...

    @property
    def input_schema(self) -> Dict[str, Any]: ...

    @property
    def output_schema(self) -> Dict[str, Any]: ...

    @property
    def managed_params_schema(self) -> Dict[str, Any]: ...

    def run(self, **kwargs) -> Any: ...
