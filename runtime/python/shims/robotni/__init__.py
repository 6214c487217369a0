"""robotni job API for one-item-per-call workers.

    from robotni import run

    def handle():
        order = run.payload          # dict parsed from the job's JSON payload
        run.progress(f"processing {run.id} (attempt {run.attempt}/{run.max_attempts})")
        if run.is_cancelled():
            return
        run.heartbeat(30)            # extend the lease by 30 s

Everything delegates to the native ``_robotni`` module; outside a robotni job
every attribute raises ``RuntimeError("not running inside a robotni job")``.

A Python program can also host a robotni runtime (docs/python-host.md):

    import robotni
    with robotni.Runtime(store="/tmp/wi.db", robot="robot.yaml") as rt:
        rt.run_task("Producer")

``Runtime`` and the exception classes come from the pybind11 module ``robotni._native``,
imported on first use and only in the main interpreter: this package is also imported by
job code inside robotni's sub-interpreters, where a pybind11 module must never be loaded
(on Python 3.11 the import deadlocks).
"""

import json
from typing import Any, Optional

from robotni._jobs import BusinessError, job

__all__ = ["run", "Run", "NOT_IN_JOB", "job", "BusinessError"]

NOT_IN_JOB = "not running inside a robotni job"


def _robotni_module():
    try:
        import _robotni  # type: ignore
    except ImportError:
        return None
    return _robotni


class Run:
    """The job being run by this call (a view on ``_robotni.current_job()``)."""

    __slots__ = ("_cache_key", "_cache_payload")

    def __init__(self):
        self._cache_key: Optional[tuple] = None
        self._cache_payload: Any = None

    @staticmethod
    def _module():
        mod = _robotni_module()
        if mod is None:
            raise RuntimeError(NOT_IN_JOB)
        return mod

    def _job(self) -> dict:
        job = self._module().current_job()
        if job is None:
            raise RuntimeError(NOT_IN_JOB)
        return job

    @property
    def id(self) -> str:
        return self._job()["id"]

    @property
    def type(self) -> str:
        return self._job()["type"]

    @property
    def payload(self) -> Any:
        """The job payload parsed from JSON (a fresh copy per job and attempt)."""
        job = self._job()
        raw = job.get("payload")
        key = (job.get("id"), job.get("attempt"), raw)
        if self._cache_key != key:
            if raw is None or raw == "":
                value = {}
            elif isinstance(raw, (bytes, bytearray)):
                value = json.loads(raw.decode("utf-8"))
            elif isinstance(raw, str):
                value = json.loads(raw)
            else:
                value = raw
            self._cache_key, self._cache_payload = key, value
        return self._cache_payload

    @property
    def attempt(self) -> int:
        return int(self._job()["attempt"])

    @property
    def max_attempts(self) -> int:
        return int(self._job()["max_attempts"])

    def heartbeat(self, seconds: float) -> None:
        """Extend the job's lease by ``seconds``; RuntimeError if the lease was lost."""
        self._job()
        self._module().heartbeat(float(seconds))

    def is_cancelled(self) -> bool:
        """True when cancellation of this job was requested."""
        self._job()
        return bool(self._module().is_cancelled())

    def progress(self, message: str) -> None:
        """Add a progress entry to the job's timeline."""
        self._job()
        self._module().progress(str(message))

    @property
    def active(self) -> bool:
        """True inside a robotni job (never raises)."""
        mod = _robotni_module()
        return bool(mod is not None and mod.current_job() is not None)

    def __repr__(self):
        mod = _robotni_module()
        job = mod.current_job() if mod is not None else None
        if job is None:
            return "<robotni.run: not in a job>"
        return f"<robotni.run id={job.get('id')!r} type={job.get('type')!r} attempt={job.get('attempt')}>"


run = Run()


# --- The host API (robotni._native), loaded lazily -------------------------------------

_HOST_NAMES = frozenset(
    {"Runtime", "RobotniError", "NotFoundError", "InvalidArgumentError", "BusyError"}
)


def _in_subinterpreter() -> bool:
    try:
        import _xxsubinterpreters as interpreters  # type: ignore
    except ImportError:
        # Without it, robotni's own interpreters are those where _robotni exists.
        return _robotni_module() is not None
    return interpreters.get_current() != interpreters.get_main()


def __getattr__(name):
    if name not in _HOST_NAMES:
        raise AttributeError(f"module 'robotni' has no attribute {name!r}")
    import sys

    if "robotni._native" not in sys.modules and _in_subinterpreter():
        raise ImportError(
            f"robotni.{name} is for host programs: it cannot be used inside robotni's "
            "sub-interpreters (the pybind11 module robotni._native would deadlock there)"
        )
    import importlib

    try:
        host = importlib.import_module("robotni._native")
    except ImportError as e:
        raise ImportError(
            f"robotni.{name} needs robotni's Python bindings (the module robotni._native, "
            f"not found next to {__file__}): {e}"
        ) from e
    value = getattr(host, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | _HOST_NAMES)
