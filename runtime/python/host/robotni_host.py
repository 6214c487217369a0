"""Per-interpreter host side of robotni: capture, run a task as `python ...` would.

Imported once into every interpreter robotni creates (sub-interpreters and the main
one). Kept in Python because it orchestrates Python semantics (runpy, SystemExit,
tracebacks); the hot path (stream writes, work-item calls) is C in _robotni.
"""

import os
import runpy
import sys
from collections.abc import MutableMapping

import _robotni

# Extension modules that keep process-wide state and refuse (or crash in) a second
# interpreter on CPython 3.11 (reference/embedding-cpython.md R13, R14). Refused up
# front in sub-interpreters, before their C code runs, with a message that names the
# remedy.
UNSAFE_IN_SUBINTERPRETERS = frozenset(
    """numpy pandas scipy sklearn matplotlib lxml torch tensorflow cv2 pyarrow
    grpc uvloop numba shapely h5py""".split()
)
ISOLATION_HINT = (
    "set `isolation: main` in robot.yaml (or pass --isolation main) to run this "
    "robot's Python in the main interpreter"
)
# Messages C extensions raise when loaded into a second interpreter.
_REFUSAL_MARKERS = (
    "Interpreter change detected",
    "does not support loading in subinterpreters",
    "cannot be loaded in a sub-interpreter",
)


class SubinterpreterUnsupported(ImportError):
    pass


refused = []  # module names refused during the current run


class _SubinterpreterGuard:
    """sys.meta_path finder that refuses known single-interpreter modules."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in UNSAFE_IN_SUBINTERPRETERS:
            refused.append(top)
            raise SubinterpreterUnsupported(
                f"robotni: module '{top}' cannot be loaded in a sub-interpreter "
                f"(it keeps process-wide native state); {ISOLATION_HINT}",
                name=top,
            )
        return None


class RobotEnviron(MutableMapping):
    """This interpreter's view of the robot's environment (os.environ).

    cwd and the C environment are process-wide (R26): robots sharing a process must
    not see each other's variables, so each interpreter gets its own mapping, and
    child processes started without env= get it explicitly (see _execute_child).
    """

    def __init__(self, data):
        self._data = {str(k): str(v) for k, v in data.items()}

    @classmethod
    def _taking(cls, data):
        """One over `data` itself: a dict of str the host made for this run alone (copying
        its ~90 entries again cost a quick job a tenth of its time)."""
        env = cls.__new__(cls)
        env._data = data
        return env

    def __getitem__(self, key):
        return self._data[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value).__name__}")
        self._data[key] = value

    def __delitem__(self, key):
        del self._data[key]

    def __iter__(self):
        return iter(list(self._data))

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return f"environ({self._data!r})"

    def copy(self):
        return dict(self._data)

    def __or__(self, other):
        return {**self._data, **dict(other)}

    def __ior__(self, other):
        self.update(other)
        return self


def _patch_subprocess(module):
    """Children started without env= get this interpreter's os.environ (see RobotEnviron)."""
    popen = module.Popen
    if getattr(popen._execute_child, "_robotni", False):
        return
    original = popen._execute_child

    def _execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env, *rest):
        if env is None:
            env = dict(os.environ)
        return original(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env, *rest)

    _execute_child._robotni = True
    popen._execute_child = _execute_child


class _PatchingLoader:
    """Runs a module's own loader, then a patch on the new module."""

    def __init__(self, loader, patch):
        self._loader = loader
        self._patch = patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):  # get_source, get_code, ... as the real loader has them
        return getattr(self._loader, name)


class _PatchOnImport:
    """sys.meta_path finder that patches subprocess when a task first imports it.

    Importing subprocess up front (with selectors, signal and locale) cost every run
    ~6 ms, and most tasks never start a child process.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "subprocess":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, _patch_subprocess)
                return spec
        return None


def setup(is_subinterpreter, first_path, site_dirs, last_path):
    """Called once when the interpreter is created. sys.path gets, after the stdlib:
    first_path (robotni's shims), site_dirs (the venv's or conda environment's
    site-packages, with their .pth files, as site.addsitedir adds them), last_path
    (Debian's dist-packages)."""
    sys.stdout = _robotni.Writer(1)
    sys.stderr = _robotni.Writer(2)
    sys.stdin = open(os.devnull, "r")  # like rcc without --interactive
    for p in first_path:
        if p not in sys.path:
            sys.path.append(p)
    if site_dirs:
        import site  # sys.flags.no_site is set: importing it adds nothing by itself

        for d in site_dirs:
            site.addsitedir(d)
    for p in last_path:
        if p not in sys.path:
            sys.path.append(p)
    if is_subinterpreter:
        sys.meta_path.insert(0, _SubinterpreterGuard())
    if "subprocess" in sys.modules:
        _patch_subprocess(sys.modules["subprocess"])
    else:
        sys.meta_path.insert(0, _PatchOnImport())
    sys.dont_write_bytecode = True


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _refusal(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SubinterpreterUnsupported):
            return exc.name
        if isinstance(exc, ImportError) and any(m in str(exc) for m in _REFUSAL_MARKERS):
            return exc.name or "?"
        exc = exc.__cause__ or exc.__context__
    return None


# `-c` sources compiled before: the service runs the same few lines for every job, and
# compiling them cost more than running them. Code objects are immutable; the cache is
# cleared when full rather than ordered, as a handful of sources is the normal case.
_code_cache = {}
_CODE_CACHE_MAX = 64


def _compiled(source):
    code = _code_cache.get(source)
    if code is None:
        code = compile(source, "<string>", "exec")
        if len(_code_cache) >= _CODE_CACHE_MAX:
            _code_cache.clear()
        _code_cache[source] = code
    return code


def run_task(mode, target, argv, path_prepend, env):
    """Runs `python -m target`, `python target` or `python -c target`.

    Returns (exit_code, outcome, detail): outcome is "exit" (normal or SystemExit),
    "exception" (uncaught, traceback printed), "timeout" or "unsupported" (detail =
    module name).
    """
    saved_argv, saved_path, saved_environ = sys.argv, list(sys.path), os.environ
    refused.clear()
    sys.argv = list(argv)
    for p in reversed(path_prepend):
        sys.path.insert(0, p)
    os.environ = RobotEnviron._taking(env)
    try:
        if mode == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        elif mode == "script":
            runpy.run_path(target, run_name="__main__")
        else:
            exec(_compiled(target), {"__name__": "__main__"})
        result = (0, "exit", "")
    except SystemExit as e:
        result = (_exit_code(e), "exit", "")
    except _robotni.TaskTimeout:
        result = (1, "timeout", "")
    except BaseException as e:  # noqa: B902 - a task's failure is data
        import traceback

        traceback.print_exc()
        name = _refusal(e)
        result = (1, "unsupported", name) if name else (1, "exception", type(e).__name__)
    finally:
        sys.setprofile(None)  # a profiler or debugger a task left on stays with it
        sys.settrace(None)
        sys.argv, os.environ = saved_argv, saved_environ
        sys.path[:] = saved_path
    if result[1] == "exit" and refused:
        return (result[0], "unsupported", refused[0])
    return result
