"""Job types: Python functions that handle one work item per call.

    from robotni import job

    @job("add", schema={"type": "object",
                        "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                        "required": ["x", "y"]})
    def add(x, y):
        return x + y

The function gets the job's params (the payload object) as keyword arguments and
returns a JSON-serialisable result. Without a schema, one is made from the function's
signature (parameters without a default are required; str, int, float, bool, list, dict,
Optional[...], Literal[...] and Enum annotations give types and enums). An object schema
that does not say "additionalProperties" gets `false` there (and the parameters it does not
name), unless the function takes **kwargs: a param the function cannot take is refused at
submission (400) instead of failing the job with a TypeError. Schemas are JSON Schema draft 7. Raising robotni.BusinessError (or robocorp's
BusinessException) fails the job for good; any other exception is an APPLICATION
failure, retried with backoff until max_attempts.
"""

import enum
import inspect
import json
import traceback
import typing

_registry = {}


class BusinessError(Exception):
    """Bad input: fail the job without retrying."""

    def __init__(self, message="", code=None):
        super().__init__(message)
        self.message = message
        self.code = code


DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_SIMPLE_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean",
                 list: "array", tuple: "array", dict: "object", type(None): "null"}


def _annotation_schema(annotation):
    """The JSON Schema of one annotated parameter; {} (anything) when it cannot tell."""
    if annotation in _SIMPLE_TYPES:
        return {"type": _SIMPLE_TYPES[annotation]}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [m.value for m in annotation]}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in _SIMPLE_TYPES:
        return {"type": _SIMPLE_TYPES[origin]}
    if origin is typing.Union:
        parts = [_annotation_schema(a) for a in args]
        if all(list(p) == ["type"] for p in parts):
            return {"type": [p["type"] for p in parts]}
    return {}


def _params_schema(func, schema):
    """The schema params are checked with: `schema` completed, or one from func's signature."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin)
        return schema if schema is not None else {"$schema": DRAFT_07, "type": "object"}
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - an annotation that names nothing: untyped
        hints = {}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if schema is None:
        schema = {"type": "object",
                  "properties": {p.name: _annotation_schema(hints.get(p.name, p.empty))
                                 for p in named}}
        required = [p.name for p in named if p.default is p.empty]
        if required:
            schema["required"] = required
    elif not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return schema  # params that are no object: the function gets them whole
    else:
        schema = dict(schema)
    schema.setdefault("$schema", DRAFT_07)
    if not takes_kwargs and "additionalProperties" not in schema:
        props = dict(schema.get("properties") or {})
        for p in named:
            props.setdefault(p.name, _annotation_schema(hints.get(p.name, p.empty)))
        schema["properties"] = props
        schema["additionalProperties"] = False
    return schema


class JobType:
    __slots__ = ("name", "func", "schema", "concurrency", "timeout", "max_attempts",
                 "memory_limit", "kill_grace", "max_jobs_per_worker", "max_output", "module",
                 "schedule")

    def __init__(self, name, func, schema, concurrency, timeout, max_attempts, memory_limit=None,
                 kill_grace=None, max_jobs_per_worker=None, max_output=None, schedule=None):
        self.name = name
        self.schedule = schedule
        self.func = func
        self.schema = _params_schema(func, schema)
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.memory_limit = memory_limit
        self.kill_grace = kill_grace
        self.max_jobs_per_worker = max_jobs_per_worker
        self.max_output = max_output
        self.module = getattr(func, "__module__", "")

    def describe(self):
        # Limits left as None take serve's settings (--job-timeout, --memory-limit, ...).
        return {
            "type": self.name,
            "schema": self.schema,
            "concurrency": self.concurrency or 0,
            "max_attempts": self.max_attempts or 0,
            "timeout": self.timeout,
            "kill_grace": self.kill_grace,
            "memory_limit": self.memory_limit,
            "max_jobs_per_worker": self.max_jobs_per_worker,
            "max_output": self.max_output,
            "module": self.module,
            "doc": (self.func.__doc__ or "").strip(),
            "schedule": self.schedule,
        }


def _check_limit(name, key, value, integer):
    if value is None:
        return
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or value < 0 or value != value:
        what = "an integer" if integer else "a number"
        raise ValueError(f"job type {name!r}: {key} must be {what} >= 0 or None, got {value!r}")


def _check_schedule(name, schedule, timezone, schedule_params):
    if schedule is None:
        if timezone is not None or schedule_params is not None:
            raise ValueError(f"job type {name!r}: timezone and schedule_params need a schedule")
        return None
    if not isinstance(schedule, str) or not schedule.strip():
        raise ValueError(f"job type {name!r}: schedule must be a cron expression string, "
                         f"got {schedule!r}")
    if timezone is not None and (not isinstance(timezone, str) or not timezone):
        raise ValueError(f"job type {name!r}: timezone must be an IANA name such as "
                         f"'Europe/Helsinki', got {timezone!r}")
    params = {} if schedule_params is None else schedule_params
    if not isinstance(params, dict):
        raise ValueError(f"job type {name!r}: schedule_params must be a dict, got {params!r}")
    json.dumps(params)  # a TypeError names what is not JSON
    return {"cron": schedule, "timezone": timezone or "UTC", "params": params}


def job(name, *, schema=None, concurrency=None, timeout=None, max_attempts=None,
        memory_limit=None, kill_grace=None, max_jobs_per_worker=None, max_output=None,
        schedule=None, timezone=None, schedule_params=None):
    """Registers the decorated function as the handler of job type `name`.

    Limits (None = serve's setting; serve's config `job_types:` section wins over these):
    timeout: seconds before TaskTimeout is raised in the job (0 = none); kill_grace: seconds
    after that before its worker process is killed; memory_limit: MiB of resident memory
    the worker process running the job may use (0 = none); max_jobs_per_worker: the worker
    is replaced after it ran this many jobs (0 = never); max_output: bytes kept of each of
    the job's stdout and stderr, the rest dropped with a note. kill_grace, memory_limit and
    max_jobs_per_worker apply to worker processes (isolation: process) only.

    schedule: a cron expression ("*/5 * * * *", "0 7 * * MON-FRI", "@daily"; a sixth leading
    field is seconds) on which `robotni serve` enqueues a job of this type with
    `schedule_params` as its params, in `timezone` (an IANA name; default UTC). Serve's
    config `schedules:` section adds schedules and wins over these (docs/serve.md)."""
    if not isinstance(name, str) or not name:
        raise ValueError("job type name must be a non-empty string")
    _check_limit(name, "timeout", timeout, integer=False)
    _check_limit(name, "kill_grace", kill_grace, integer=False)
    _check_limit(name, "memory_limit", memory_limit, integer=True)
    _check_limit(name, "max_jobs_per_worker", max_jobs_per_worker, integer=True)
    _check_limit(name, "max_output", max_output, integer=True)
    sched = _check_schedule(name, schedule, timezone, schedule_params)

    def register(func):
        _registry[name] = JobType(name, func, schema, concurrency, timeout, max_attempts,
                                  memory_limit, kill_grace, max_jobs_per_worker, max_output,
                                  sched)
        return func

    return register


def registered():
    return dict(_registry)


def describe_all():
    """JSON list of the registered job types (read by the runtime)."""
    return json.dumps([t.describe() for t in _registry.values()])


def _is_business(exc):
    if isinstance(exc, BusinessError):
        return True
    return type(exc).__name__ == "BusinessException"


def call_current():
    """Runs the job _robotni.current_job() names; reports its outcome to _robotni."""
    import _robotni

    current = _robotni.current_job()
    if current is None:
        raise RuntimeError("not running inside a robotni job")
    jt = _registry.get(current["type"])
    if jt is None:
        _robotni.set_failure("APPLICATION", "UNKNOWN_TYPE",
                             f"no handler for job type {current['type']!r}", "")
        return
    try:
        params = json.loads(current["payload"] or "null")
        if params is None:
            params = {}
        result = jt.func(**params) if isinstance(params, dict) else jt.func(params)
        _robotni.set_result(json.dumps(result))
    except _robotni.TaskTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - a job's failure is data
        tb = traceback.format_exc()
        print(tb, end="", file=__import__("sys").stderr)
        kind = "BUSINESS" if _is_business(exc) else "APPLICATION"
        code = getattr(exc, "code", None)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        _robotni.set_failure(kind, None if code is None else str(code), str(message), tb)


_loaded = set()
_generation = None


def _import_entry(entry, root):
    import importlib
    import importlib.util
    import os
    import sys

    if entry.endswith(".py") or os.sep in entry:
        path = entry if os.path.isabs(entry) else os.path.join(root, entry)
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load job module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        sys.modules.pop(entry, None)  # a reload imports it afresh
        importlib.import_module(entry)


def ensure_loaded(modules, root, generation=0):
    """Imports the robot's job modules once per interpreter and generation (files or dotted
    names). A new generation (serve's SIGHUP reload) imports them afresh into a new registry;
    when that fails the previous registry and modules stay, and the error propagates."""
    global _generation
    import os
    import sys

    if generation != _generation and _generation is not None:
        names = [os.path.splitext(os.path.basename(e))[0] if (e.endswith(".py") or os.sep in e)
                 else e for e in modules]
        saved = (dict(_registry), set(_loaded), {n: sys.modules.get(n) for n in names})
        _registry.clear()
        _loaded.clear()
        try:
            for entry in modules:
                _import_entry(entry, root)
                _loaded.add(entry)
        except BaseException:
            _registry.clear()
            _registry.update(saved[0])
            _loaded.clear()
            _loaded.update(saved[1])
            for n, m in saved[2].items():
                if m is None:
                    sys.modules.pop(n, None)
                else:
                    sys.modules[n] = m
            raise
        _generation = generation
        return
    for entry in modules:
        if entry in _loaded:
            continue
        _import_entry(entry, root)
        _loaded.add(entry)
    _generation = generation
