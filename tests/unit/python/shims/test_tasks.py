"""robocorp.tasks shim: CLI, console lines, exit codes, lifecycle, fixtures,
arguments, listing, and warm re-runs in one interpreter (spec §5, §6.22)."""

import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stdout, redirect_stderr
from pathlib import Path

from robocorp.tasks import Status, get_current_task, get_output_dir
from robocorp.tasks.cli import main

SHIMS = os.environ.get("ROBOTNI_SHIMS_DIR") or str(
    Path(__file__).resolve().parents[4] / "runtime" / "python" / "shims")


def cli(args, cwd=None):
    """Run the CLI in-process; returns (rc from SystemExit, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as e:
                rc = e.code
            else:  # pragma: no cover
                raise AssertionError("cli.main did not raise SystemExit")
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


class TasksCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self._env = dict(os.environ)
        os.environ.pop("ROBOT_ARTIFACTS", None)
        sys.__dict__.setdefault("_shim_test_events", [])
        sys._shim_test_events.clear()

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self._env)
        self.tmp.cleanup()

    @property
    def events(self):
        return sys._shim_test_events

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path


class TestConsoleAndExitCodes(TasksCase):
    TASKS = """
        from robocorp.tasks import task

        @task
        def task_ok():
            print("hello from ok")

        @task
        def task_fail():
            raise ValueError("it broke")
    """

    def test_console_lines_and_rc(self):
        self.write("tasks.py", self.TASKS)
        rc, out, _ = cli(["run", "tasks.py", "-t", "task_ok", "-t", "task_fail",
                          "--console-colors=plain"], cwd=self.root)
        self.assertEqual(rc, 1)
        lines = out.splitlines()
        self.assertEqual(lines[0], "")
        self.assertEqual(lines[1], "Collecting tasks task_ok, task_fail from: tasks.py")
        self.assertEqual(lines[2], "=" * 31 + " Running: task_ok " + "=" * 31)
        self.assertEqual(len(lines[2]), 80)
        self.assertEqual(lines[3], "hello from ok")
        self.assertEqual(lines[4], "task_ok status: PASS")
        self.assertEqual(lines[5], "=" * 80)
        self.assertEqual(lines[6], "=" * 30 + " Running: task_fail " + "=" * 30)
        self.assertEqual(lines[7], "task_fail status: FAIL")
        self.assertEqual(lines[8], "")
        self.assertEqual(lines[9], "it broke")
        self.assertEqual(lines[10], "=" * 22 + " Full Traceback (running task_fail) " + "=" * 22)
        self.assertEqual(lines[11], "Traceback (most recent call last):")
        self.assertIn('tasks.py", line 10, in task_fail', lines[12])
        self.assertIn("ValueError: it broke", out)
        self.assertEqual(lines[-2], "=" * 80)
        # Last, as robocorp-log prints it when it writes the page.
        self.assertEqual(lines[-1], "Log (html): " + str((self.root / "output" / "log.html")))

    def test_single_task_and_all_tasks_headers(self):
        self.write("tasks.py", self.TASKS)
        rc, out, _ = cli(["run", "tasks.py", "-t", "task_ok"], cwd=self.root)
        self.assertEqual(rc, 0)
        self.assertIn("\nCollecting task task_ok from: tasks.py\n", out)
        self.assertNotIn("task_fail", out)
        rc, out, _ = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 1)
        self.assertIn("\nCollecting tasks from: tasks.py\n", out)

    def test_no_status_rc(self):
        self.write("tasks.py", self.TASKS)
        rc, out, _ = cli(["run", "tasks.py", "-t", "task_fail", "--no-status-rc"],
                         cwd=self.root)
        self.assertEqual(rc, 0)
        self.assertIn("task_fail status: FAIL", out)

    def test_path_not_there(self):  # §6.22
        rc, out, _ = cli(["run", "dir_not_there"], cwd=self.root)
        self.assertEqual(rc, 1)
        self.assertIn("Path: dir_not_there does not exist", out)

    def test_no_tasks_found(self):
        self.write("tasks.py", "X = 1\n")
        rc, out, _ = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 1)
        self.assertIn("Did not find any tasks in: tasks.py", out)
        self.write("tasks.py", self.TASKS)
        rc, out, _ = cli(["run", "tasks.py", "-t", "nope"], cwd=self.root)
        self.assertEqual(rc, 1)

    def test_run_main_output_dir(self):  # §6.22 (-t main -> rc 0, output dir)
        self.write("tasks.py", """
            from robocorp.tasks import task, get_output_dir
            import sys

            @task
            def main():
                sys._shim_test_events.append(str(get_output_dir()))
        """)
        rc, _, _ = cli(["run", "-t", "main"], cwd=self.root)
        self.assertEqual(rc, 0)
        self.assertTrue((self.root / "output").is_dir())
        self.assertEqual(self.events, [str((self.root / "output").absolute())])
        self.assertIsNone(get_output_dir())
        os.environ["ROBOT_ARTIFACTS"] = str(self.root / "artifacts")
        self.assertEqual(cli(["run", "-t", "main"], cwd=self.root)[0], 0)
        self.assertEqual(self.events[-1], str(self.root / "artifacts"))
        self.assertEqual(cli(["run", "-t", "main", "-o", "o2"], cwd=self.root)[0], 0)
        self.assertEqual(self.events[-1], str((self.root / "o2").absolute()))

    def test_import_error(self):
        self.write("tasks.py", "import does_not_exist_mod\n")
        rc, out, err = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 1)
        self.assertIn("ModuleNotFoundError", err)

    def test_duplicate_task_name(self):
        self.write("tasks.py", """
            from robocorp.tasks import task

            @task
            def dup():
                pass

            @task
            def dup():
                pass
        """)
        rc, _, err = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 1)
        self.assertIn("a task with the name 'dup' was already found", err)

    def test_base_exception_propagates_after_teardown(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import task, teardown

            @teardown(scope="task")
            def td(task):
                sys._shim_test_events.append((task.name, task.status.value, task.message))

            @task
            def interrupted():
                raise KeyboardInterrupt()
        """)
        with self.assertRaises(KeyboardInterrupt):
            with redirect_stdout(io.StringIO()):
                main(["run", str(self.root / "tasks.py")])
        self.assertEqual(self.events, [("interrupted", "FAIL", "KeyboardInterrupt")])
        self.assertIsNone(get_current_task())

    def test_python_dash_m_subprocess(self):
        self.write("tasks.py", self.TASKS)
        code = ("import sys, runpy; sys.path.insert(0, %r); "
                "sys.argv = ['robocorp.tasks'] + sys.argv[1:]; "
                "runpy.run_module('robocorp.tasks', run_name='__main__', alter_sys=True)" % SHIMS)
        proc = subprocess.run([sys.executable, "-I", "-c", code, "run", "tasks.py",
                               "-t", "task_fail"], cwd=self.root, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("task_fail status: FAIL", proc.stdout)
        proc = subprocess.run([sys.executable, "-I", "-c", code, "run", "tasks.py",
                               "-t=task_ok"], cwd=self.root, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class TestLifecycle(TasksCase):
    def test_task_cache_per_task(self):  # §6.22 test_lifecycle
        self.write("tasks.py", """
            from robocorp.tasks import task, task_cache
            import itertools

            _counter = itertools.count()

            @task_cache
            def new_obj():
                return next(_counter)

            @task
            def task1():
                assert new_obj() == 0
                assert new_obj() == 0

            @task
            def task2():
                assert new_obj() == 1
                assert new_obj() == 1
        """)
        rc, out, _ = cli(["run", "-t", "task1", "-t", "task2"], cwd=self.root)
        self.assertEqual(rc, 0, out)
        self.assertIn("task1 status: PASS", out)
        self.assertIn("task2 status: PASS", out)

    def test_generator_caches_fixtures_and_order(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import (task, task_cache, session_cache, setup, teardown,
                                        get_current_task)
            ev = sys._shim_test_events

            @task_cache
            def resource():
                ev.append("cache-open")
                yield "R"
                t = get_current_task()
                ev.append(("cache-close", t.name, t.exc_info is not None))

            @session_cache
            def session_res():
                ev.append("session-open")
                yield "S"
                ev.append("session-close")

            @setup(scope="session")
            def before_all(tasks):
                ev.append(("setup-session", [t.name for t in tasks]))

            @setup(scope="task")
            def before_each(task):
                ev.append(("setup", task.name))

            @teardown(scope="task")
            def after_each(task):
                ev.append(("teardown", task.name, task.status.value))

            @teardown(scope="session")
            def after_all(tasks):
                ev.append(("teardown-session", [t.status.value for t in tasks]))

            @task
            def first():
                assert resource() == "R" and resource() == "R"
                assert session_res() == "S"
                cur = get_current_task()
                ev.append(("in", cur.name, cur.module_name, cur.status.value,
                           cur.filename.endswith("tasks.py"), cur.method.__name__))
                return 42

            @task(owner="team-a", timeout=5)
            def second():
                resource()
                session_res()
                raise RuntimeError("fail second")
        """)
        rc, out, _ = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 1)
        self.assertEqual(self.events, [
            ("setup-session", ["first", "second"]),
            ("setup", "first"),
            "cache-open",
            "session-open",
            ("in", "first", "tasks", "NOT_RUN", True, "first"),
            # after_task_run runs in reverse registration order:
            ("cache-close", "first", False),
            ("teardown", "first", "PASS"),
            ("setup", "second"),
            "cache-open",
            ("cache-close", "second", True),
            ("teardown", "second", "FAIL"),
            "session-close",
            ("teardown-session", ["PASS", "FAIL"]),
        ])

    def test_status_and_task_object(self):
        from robocorp.tasks import _hooks

        seen = []

        def grab(task):
            seen.append(task)

        self.write("tasks.py", """
            from robocorp.tasks import task

            @task(owner="me")
            def t_ok():
                return {"x": 1}

            @task
            def t_bad():
                raise Exception()
        """)
        with _hooks.after_task_run.register(grab):
            rc, _, _ = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 1)
        ok, bad = seen
        self.assertEqual(ok.status, Status.PASS)
        self.assertEqual(ok.result, {"x": 1})
        self.assertEqual(ok.options, {"owner": "me"})
        self.assertFalse(ok.failed)
        self.assertIsNone(ok.exc_info)
        self.assertEqual(bad.status, Status.FAIL)
        self.assertTrue(bad.failed)
        self.assertEqual(bad.message, "Exception")
        self.assertIs(bad.exc_info[0], Exception)
        self.assertEqual(str(Status.NOT_RUN.value), "NOT_RUN")


class TestFixtures(TasksCase):
    """Current robocorp.tasks fixtures: @setup / @teardown run per task (task scope)
    by default with the task object; scope="session" gets the tasks; a generator
    setup's code after ``yield`` runs as a teardown."""

    def test_default_task_scope_and_order(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import task, setup, teardown
            ev = sys._shim_test_events

            @setup(scope="session")
            def session_gen(tasks):
                ev.append(("session-setup", [t.name for t in tasks]))
                yield
                ev.append(("session-after-yield", [t.status.value for t in tasks]))

            @setup
            def plain(task):
                ev.append(("setup", task.name))

            @setup
            def gen(task):
                ev.append(("gen-setup", task.name))
                yield
                ev.append(("gen-after-yield", task.name, task.failed, task.message))

            @teardown
            def td1(task):
                ev.append(("teardown1", task.name, task.status.value, task.failed))

            @teardown
            def td2(task):
                ev.append(("teardown2", task.name, task.message))

            @teardown(scope="session")
            def session_td(tasks):
                ev.append(("session-teardown", len(tasks)))

            @task
            def ok():
                ev.append("run ok")

            @task
            def bad():
                ev.append("run bad")
                raise ValueError("bad thing")
        """)
        rc, out, _ = cli(["run", "tasks.py", "--console-colors=plain"], cwd=self.root)
        self.assertEqual(rc, 1, out)
        self.assertEqual(self.events, [
            ("session-setup", ["ok", "bad"]),
            ("setup", "ok"), ("gen-setup", "ok"), "run ok",
            # teardowns in reverse registration order; the generator's registered last
            ("gen-after-yield", "ok", False, ""),
            ("teardown2", "ok", ""), ("teardown1", "ok", "PASS", False),
            ("setup", "bad"), ("gen-setup", "bad"), "run bad",
            ("gen-after-yield", "bad", True, "bad thing"),
            ("teardown2", "bad", "bad thing"), ("teardown1", "bad", "FAIL", True),
            # the session generator's teardown was registered when it ran: it runs first
            ("session-after-yield", ["PASS", "FAIL"]),
            ("session-teardown", 2),
        ])
        lines = out.splitlines()
        header = next(i for i, x in enumerate(lines) if " Running: ok " in x)
        self.assertLess(header, lines.index("ok status: PASS"))
        from robocorp.tasks import _hooks

        self.assertEqual(_hooks.pending_teardowns, {})

    def test_scopes_and_errors(self):
        from robocorp.tasks import _hooks, setup, teardown

        calls = []
        saved = {h: h.callbacks for h in _hooks.ALL}
        try:
            f = setup(lambda task: calls.append(("s", task)))
            self.assertIn(f, _hooks.before_task_run.callbacks)
            g = setup(scope="session")(lambda tasks: calls.append(("ss", tasks)))
            self.assertIn(g, _hooks.before_all_tasks_run.callbacks)
            h = teardown(lambda task: None)
            self.assertIn(h, _hooks.after_task_run.callbacks)
            i = teardown(scope="session")(lambda tasks: None)
            self.assertIn(i, _hooks.after_all_tasks_run.callbacks)
            j = setup(scope="task")(lambda task: None)
            self.assertIn(j, _hooks.before_task_run.callbacks)
            for deco in (setup, teardown):
                with self.assertRaisesRegex(ValueError, "Unknown scope 'module'"):
                    deco(scope="module")
        finally:
            for h, cbs in saved.items():
                h._callbacks = cbs

    def test_failing_setup_stops_the_run(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import task, setup, teardown
            ev = sys._shim_test_events

            @setup
            def gen(task):
                yield
                ev.append("gen teardown")  # never: the run stopped before the task

            @setup
            def broken(task):
                raise RuntimeError("setup broke")

            @teardown(scope="session")
            def session_td(tasks):
                ev.append("session teardown")

            @task
            def never():
                ev.append("ran")
        """)
        from robocorp.tasks import _hooks

        with self.assertRaisesRegex(RuntimeError, "setup broke"):
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                main(["run", str(self.root / "tasks.py")])
        self.assertEqual(self.events, ["session teardown"])
        # the generator's teardown is not left registered for the next run
        self.assertEqual(_hooks.pending_teardowns, {})
        self.assertFalse(any(getattr(c, "__name__", "") == "teardown"
                             for c in _hooks.after_task_run.callbacks))

    def test_generator_fixtures_do_not_pile_up_in_warm_runs(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import task, setup

            @setup
            def gen(task):
                sys._shim_test_events.append("in")
                yield
                sys._shim_test_events.append("out")

            @task
            def one():
                pass
        """)
        from robocorp.tasks import _hooks

        for _ in range(3):
            rc, out, _ = cli(["run", "tasks.py"], cwd=self.root)
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.events, ["in", "out"] * 3)
        self.assertEqual(_hooks.pending_teardowns, {})
        self.assertFalse(any(getattr(c, "__name__", "") == "teardown"
                             for c in _hooks.after_task_run.callbacks))


class TestArguments(TasksCase):
    TASKS = """
        from robocorp.tasks import task
        import sys

        @task
        def return_tuple(a: str, b: int, c: str = "") -> tuple:
            assert isinstance(a, str)
            assert isinstance(b, int)
            sys._shim_test_events.append((a, b, c))
            return a, b

        @task
        def something_else(f: list) -> None:
            pass

        @task
        def bool_true(b: bool) -> None:
            assert b is True

        @task
        def bool_false(b: bool) -> None:
            assert b is False

        @task
        def accept_str(s) -> None:
            assert isinstance(s, str)
    """

    def check(self, args, msg="", returncode=1):
        rc, out, _ = cli(["run", "--console-colors=plain"] + args, cwd=self.root)
        self.assertEqual(rc, returncode, out)
        self.assertIn(msg, out)

    def test_arguments(self):
        # Current robocorp.tasks (_normalize_arguments): a mismatch fails the task with
        # the usage; unknown options are errors; bool takes true/false/t/f/yes/no/1/0.
        self.write("tasks.py", self.TASKS)
        self.check(["-t=accept_str", "--", "--s=1"], returncode=0)
        sig = ("It's not possible to call: 'return_tuple' because the passed "
               "arguments don't match the expected signature.")
        usage = "usage: python -m robocorp.tasks return_tuple -- --a A --b B [--c C]."
        self.check(["-t=return_tuple"], sig)
        self.check(["-t=return_tuple"], usage)
        self.check(["-t=return_tuple"], "Error: the following arguments are required: --a, --b.")
        self.check(["-t=return_tuple", "--", "a=2"],
                   "Error: the following arguments are required: --a, --b.")
        self.check(["-t=return_tuple", "--", "--a", "a", "--b", "a"],
                   "Error: argument --b: invalid int value: 'a'.")
        self.check(["-t=return_tuple", "--", "--a", "2", "--b", "3", "--d", "4"],
                   "Unrecognized arguments: --d 4")
        self.check(["-t=return_tuple", "--", "--a", "2", "--b", "3"], returncode=0)
        self.assertEqual(self.events[-1], ("2", 3, ""))
        self.check(["-t=something_else", "--", "--f=a,b"],
                   "Error. The param type 'list' in 'something_else' is not supported. "
                   "Supported parameter types: str, int, float, bool and pydantic.Model.")
        for v in ("true", "1", "True", "t", "yes"):
            self.check(["-t=bool_true", "--", f"--b={v}"], returncode=0)
        for v in ("false", "0", "False", "f", "no"):
            self.check(["-t=bool_false", "--", f"--b={v}"], returncode=0)
        self.check(["-t=bool_false", "--", "--b=invalid"],
                   "Error: argument --b: Invalid value for boolean flag: invalid.")

    def test_single_dash_dash(self):
        # robotni run -t X -- --a=1 appends `--a=1` to the task's command: the
        # arguments start at the first token that is not part of the `run` line.
        from robocorp.tasks.cli import split_task_args

        self.write("tasks.py", self.TASKS)
        self.check(["tasks.py", "-t", "return_tuple", "--a=x", "--b", "5"], returncode=0)
        self.assertEqual(self.events[-1], ("x", 5, ""))
        self.check(["-t", "return_tuple", "--console-colors", "plain", "--a", "y", "--b=6",
                    "--c", "z"], returncode=0)
        self.assertEqual(self.events[-1], ("y", 6, "z"))
        for line, expected in [
            (["run", "t.py", "-t", "x", "--a=1"], (["run", "t.py", "-t", "x"], ["--a=1"])),
            (["run", "-t", "x", "--", "--a=1"], (["run", "-t", "x"], ["--a=1"])),
            (["run", "-t", "x", "--", "--", "--a=1"], (["run", "-t", "x"], ["--", "--a=1"])),
            (["run", "-tx", "--tas", "y", "p", "--a"], (["run", "-tx", "--tas", "y", "p"],
                                                         ["--a"])),
            (["run", "p", "q"], (["run", "p"], ["q"])),
            (["run", "--glob=*.py", "-o", "out", "--no-status-rc", "--x"],
             (["run", "--glob=*.py", "-o", "out", "--no-status-rc"], ["--x"])),
            (["list", "--a"], (["list", "--a"], [])),
        ]:
            self.assertEqual(split_task_args(line), expected, line)

    def test_pydantic_like_model(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import task

            class Model:
                def __init__(self, **kw):
                    self.kw = kw

                @classmethod
                def model_validate(cls, data):
                    return cls(**data)

            @task
            def with_model(m: Model):
                sys._shim_test_events.append(m.kw)
        """)
        self.check(["-t=with_model", "--", '--m={"x": 1}'], returncode=0)
        self.assertEqual(self.events[-1], {"x": 1})
        self.check(["-t=with_model", "--", "--m=not json"],
                   "error interpreting contents for m as a json")

    def test_json_input(self):  # §6.22 test_tasks_arguments json-input
        self.write("tasks.py", self.TASKS)
        self.write("bad.json", '{"s": 1}')
        self.check(["-t=accept_str", "--json-input", "bad.json"],
                   "Error. Expected the parameter: `s` to be of type: str. Found type: int.")
        self.write("missing.json", '{}')
        self.check(["-t=accept_str", "--json-input", "missing.json"],
                   "Error. The parameter `s` was not defined in the input.")
        self.write("good.json", '{"s": "1"}')
        self.check(["-t=accept_str", "--json-input", "good.json"], returncode=0)
        self.write("tuple.json", '{"a": "x", "b": 7}')
        self.check(["-t=return_tuple", "--json-input", "tuple.json"], returncode=0)
        self.assertEqual(self.events[-1], ("x", 7, ""))


class TestDiscoveryAndList(TasksCase):
    def test_directory_discovery_and_glob(self):
        self.write("proj/sub/my_task.py", """
            from robocorp.tasks import task

            @task
            def in_sub():
                pass
        """)
        self.write("proj/other.py", """
            from robocorp.tasks import task

            @task
            def in_other():
                pass
        """)
        rc, out, _ = cli(["list", "proj"], cwd=self.root)
        self.assertEqual(rc, 0)
        self.assertEqual([t["name"] for t in json.loads(out)], ["in_sub"])
        rc, out, _ = cli(["list", "proj", "--glob", "*other*.py|*task*.py"], cwd=self.root)
        self.assertEqual(sorted(t["name"] for t in json.loads(out)), ["in_other", "in_sub"])
        rc, out, _ = cli(["run", "proj"], cwd=self.root)
        self.assertEqual(rc, 0)
        self.assertIn("in_sub status: PASS", out)

    def test_list_json(self):
        self.write("tasks.py", '''
            from robocorp.tasks import task

            @task(owner="ops")
            def documented(count: int, name: str = "x") -> str:
                """Does things."""
                return name * count
        ''')
        rc, out, _ = cli(["list", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 0)
        (info,) = json.loads(out)
        self.assertEqual(info["name"], "documented")
        self.assertEqual(info["line"], 4)
        self.assertTrue(info["file"].endswith("tasks.py"))
        self.assertEqual(info["docs"], "Does things.")
        self.assertEqual(info["options"], {"owner": "ops"})
        self.assertEqual(info["input_schema"]["required"], ["count"])
        self.assertEqual(info["input_schema"]["properties"]["count"]["type"], "integer")
        self.assertEqual(info["input_schema"]["properties"]["name"]["default"], "x")
        self.assertEqual(info["output_schema"]["type"], "string")
        for key in ("managed_params_schema",):
            self.assertIn(key, info)
        rc, _, _ = cli(["list", "nothing_here"], cwd=self.root)
        self.assertEqual(rc, 1)


class TestWarmReRun(TasksCase):
    """robotni runs `run` many times in one interpreter: each run starts from a
    clean registry and re-imports the task module; helper modules stay cached."""

    def test_rerun_twice_in_one_process(self):
        self.write("helper_mod_for_rerun.py", """
            import sys
            sys._shim_test_events.append("helper-imported")
            from robocorp.tasks import setup

            @setup(scope="task")
            def helper_setup(task):
                sys._shim_test_events.append(("helper-setup", task.name))

            def value():
                return 10
        """)
        self.write("tasks.py", """
            import sys
            import helper_mod_for_rerun
            from robocorp.tasks import task, setup, session_cache
            sys._shim_test_events.append("tasks-imported")

            STATE = []

            @setup(scope="session")
            def once(tasks):
                sys._shim_test_events.append("session-setup")

            @session_cache
            def counter():
                return []

            @task
            def one():
                STATE.append(1)
                counter().append(1)
                sys._shim_test_events.append(("one", len(STATE), len(counter()),
                                              helper_mod_for_rerun.value()))
        """)
        sys.modules.pop("helper_mod_for_rerun", None)
        for _ in range(2):
            rc, out, _ = cli(["run", "tasks.py"], cwd=self.root)
            self.assertEqual(rc, 0, out)
            self.assertEqual(out.count("one status: PASS"), 1)
        self.assertEqual(self.events.count("helper-imported"), 1)
        self.assertEqual(self.events.count("tasks-imported"), 2)
        self.assertEqual(self.events.count("session-setup"), 2)
        self.assertEqual([e for e in self.events if e[0] == "one"],
                         [("one", 1, 1, 10), ("one", 1, 1, 10)])
        self.assertEqual(self.events.count(("helper-setup", "one")), 2)
        self.assertIn("helper_mod_for_rerun", sys.modules)
        sys.modules.pop("helper_mod_for_rerun", None)

    def test_rerun_edited_module(self):
        path = self.write("tasks.py", """
            from robocorp.tasks import task

            @task
            def v1():
                pass
        """)
        self.assertIn("v1 status: PASS", cli(["run", "tasks.py"], cwd=self.root)[1])
        path.write_text(textwrap.dedent("""
            from robocorp.tasks import task

            @task
            def v2():
                pass
        """))
        os.utime(path, (1, 1))  # defeat mtime-based pyc caching
        _, out, _ = cli(["run", "tasks.py"], cwd=self.root)
        self.assertIn("v2 status: PASS", out)
        self.assertNotIn("v1", out)


if __name__ == "__main__":
    unittest.main()


class RunLineFastPathTest(unittest.TestCase):
    """cli._parse_run_fast reads the usual `run` lines as argparse does, and hands
    everything else to argparse."""

    def test_fast_path_matches_argparse(self):
        from robocorp.tasks import cli as tasks_cli

        for args in (
            ["run"],
            ["run", "tasks.py", "-t", "a", "--task", "b"],
            ["run", "-o", "out", "--glob=*.py", "proj"],
            ["run", "--output-dir=o", "--json-input", "in.json", "--preload-module", "m1",
             "--preload-module=m2", "--no-status-rc", "--console-colors", "ansi"],
            ["run", "--console-colors=plain", "-t", "x", "tasks.py"],
        ):
            fast = tasks_cli._parse_run_fast(args)
            self.assertIsNotNone(fast, args)
            slow = tasks_cli._create_argparser().parse_args(args)
            for key, value in vars(fast).items():
                self.assertEqual(getattr(slow, key), value, (args, key))

    def test_anything_else_goes_to_argparse(self):
        from robocorp.tasks import cli as tasks_cli

        for args in (
            ["list"], ["run", "--tas", "x"], ["run", "-tx"], ["run", "a", "b"], ["run", "-t"],
            ["run", "-t", "-x"], ["run", "--console-colors", "red"], ["run", "-h"],
            ["run", "--max-log-files", "3"], ["run", "--no-status-rc=1"], ["run", "-t=x"],
        ):
            self.assertIsNone(tasks_cli._parse_run_fast(args), args)


class TestPublicNames(TasksCase):
    """The public names of upstream robocorp.tasks 4.1.1 (robocorp/robocorp@64cc9a3e
    tasks/__init__.py __all__), as docs/compatibility.md marks them."""

    # ITask's members upstream (tasks/_protocols.py).
    ITASK_MEMBERS = ("module_name", "filename", "method", "status", "message", "exc_info",
                     "result", "options", "input_schema", "output_schema",
                     "managed_params_schema", "name", "lineno", "run", "failed")

    def test_all_matches_upstream(self):
        import robocorp.tasks as tasks

        self.assertEqual(sorted(tasks.__all__), sorted([
            "task", "setup", "teardown", "session_cache", "task_cache", "get_output_dir",
            "get_current_task", "ITask", "Status"]))

    def test_current_task_has_every_ITask_member(self):
        from robocorp.tasks import ITask

        for name in self.ITASK_MEMBERS:
            self.assertTrue(name in getattr(ITask, "__annotations__", {}) or hasattr(ITask, name),
                            name)
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import get_current_task, task

            @task(owner="me")
            def probe(n: int = 1) -> str:
                t = get_current_task()
                sys._shim_test_events.append(
                    {name: getattr(t, name) for name in %r})
                return "ok"
        """ % (self.ITASK_MEMBERS,))
        rc, _, _ = cli(["run", "tasks.py"], cwd=self.root)
        self.assertEqual(rc, 0)
        (seen,) = self.events
        self.assertEqual(seen["name"], "probe")
        self.assertEqual(seen["options"], {"owner": "me"})
        self.assertEqual(seen["status"], "NOT_RUN")  # while it runs, as upstream
        self.assertEqual(seen["input_schema"]["properties"]["n"]["type"], "integer")
        self.assertEqual(seen["output_schema"]["type"], "string")
        self.assertEqual(seen["managed_params_schema"], {})
        self.assertTrue(callable(seen["run"]) and callable(seen["method"]))
        self.assertIsNone(get_current_task())  # outside a run

    def test_os_exit_is_accepted_and_the_teardown_still_runs(self):
        self.write("tasks.py", """
            import sys
            from robocorp.tasks import task, teardown

            @teardown
            def after(t):
                sys._shim_test_events.append("teardown " + t.name)

            @task
            def main():
                sys._shim_test_events.append("ran")
        """)
        for mode in ("no", "before-teardown", "after-teardown"):
            self.events.clear()
            rc, _, _ = cli(["run", "tasks.py", "--os-exit", mode], cwd=self.root)
            self.assertEqual(rc, 0, mode)
            self.assertEqual(self.events, ["ran", "teardown main"], mode)


class TestStatusSetByTeardown(TasksCase):
    """The exit code comes from the tasks' statuses after the teardowns, as robocorp.tasks
    computes it (upstream's test_tasks_mutable): a teardown may pass a failed task, or
    fail a passed one."""

    def test_teardown_decides_the_status_and_exit_code(self):
        self.write("tasks.py", """
            from robocorp.tasks import task, teardown

            @teardown
            def flip(task):
                task.status = "PASS" if task.failed else "FAIL"

            @task
            def raises_error():
                raise RuntimeError("Something went wrong")
        """)
        rc, out, _ = cli(["run", "tasks.py", "--console-colors=plain"], cwd=self.root)
        self.assertEqual(rc, 0, out)
        self.assertIn("raises_error status: PASS", out)
        self.assertIn("Something went wrong", out)
        self.write("tasks.py", """
            from robocorp.tasks import task, teardown

            @teardown
            def flip(task):
                task.status = "FAIL"

            @task
            def fine():
                pass
        """)
        rc, out, _ = cli(["run", "tasks.py", "--console-colors=plain"], cwd=self.root)
        self.assertEqual(rc, 1, out)
        rc, out, _ = cli(["run", "tasks.py", "--no-status-rc"], cwd=self.root)
        self.assertEqual(rc, 0, out)
