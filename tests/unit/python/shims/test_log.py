"""robocorp.log shim: messages and levels, console output, suppression, redaction,
the records robocorp.tasks adds and the log.html it writes (tasks, status, messages,
tracebacks, one row per work item, secrets redacted)."""

import html as html_mod
import io
import json
import os
import re
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from robocorp import log
from robocorp.log import _state
from robocorp.tasks.cli import main


def cli(args, cwd):
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(list(args), exit=False)
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


def page_text(path) -> str:
    """What a person reads: the page without its script/style, tags removed."""
    s = Path(path).read_text(encoding="utf-8")
    s = re.sub(r"<(script|style)\b.*?</\1>", "", s, flags=re.S)
    return html_mod.unescape(re.sub(r"<[^>]+>", " ", s))


def page_data(path) -> dict:
    s = Path(path).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="log-data">(.*?)</script>', s, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


class LogCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self._env = dict(os.environ)
        for k in ("ROBOT_ARTIFACTS", "ROBOTNI_LOG_HTML", "RC_WORKITEM_ADAPTER",
                  "RC_WORKITEM_INPUT_PATH", "RC_WORKITEM_OUTPUT_PATH"):
            os.environ.pop(k, None)
        self._hide = set(_state.redacter.config.hide_strings)
        self._patterns = list(_state.sensitive_names._patterns)

    def tearDown(self):
        log.close_log_outputs()
        _state.recorder.run = None
        cfg = _state.redacter.config
        cfg.hide_strings.clear()
        cfg.hide_strings.update(self._hide)
        _state.sensitive_names._patterns[:] = self._patterns
        _state.sensitive_names._cache.clear()
        os.environ.clear()
        os.environ.update(self._env)
        self.tmp.cleanup()

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def record(self):
        """An in-memory output; returns the list of JSON records written."""
        lines = []
        ctx = log.add_in_memory_log_output(lines.append)
        self.addCleanup(ctx.__exit__, None, None, None)
        log.start_run("unit")
        log.start_task("t", "mod", "f.py", 1)
        return lines


class TestMessages(LogCase):
    def test_levels_in_log_and_not_printed_by_default(self):
        lines = self.record()
        out = io.StringIO()
        with redirect_stdout(out):
            log.debug("d", 1)
            log.info("i", 2)
            log.warn("w")
            log.critical("c")
        self.assertEqual(out.getvalue(), "")
        recs = [json.loads(x) for x in lines]
        self.assertEqual([(r["level"], r["text"]) for r in recs],
                         [("DEBUG", "d 1"), ("INFO", "i 2"), ("WARN", "w"), ("ERROR", "c")])
        task = _state.recorder.run.tasks[0]
        self.assertEqual(len(task.events), 4)

    def test_setup_log_filters_and_restores(self):
        lines = self.record()
        with log.setup_log(log_level=log.FilterLogLevel.WARN):
            self.assertEqual(log._general_log_config.log_level, "warn")
            log.info("no")
            log.warn("yes")
            log.critical("yes too")
        self.assertEqual(log._general_log_config.log_level, "debug")
        with log.setup_log(log_level="none"):
            log.critical("nothing")
        self.assertEqual([json.loads(x)["text"] for x in lines], ["yes", "yes too"])
        self.assertEqual([m.value for m in log.FilterLogLevel],
                         ["debug", "warn", "info", "critical", "none"])

    def test_output_log_level_prints_to_streams(self):
        out, err = io.StringIO(), io.StringIO()
        log.hide_from_output("s3cr3t-value")
        with redirect_stdout(out), redirect_stderr(err):
            with log.setup_log(output_log_level="info",
                               output_stream={"warn": "stdout", "critical": "stderr"}):
                log.debug("not shown")
                log.info("info line")
                log.warn("warn line has s3cr3t-value")
                log.critical("critical line")
            log.info("after: not shown")
            with log.setup_log(output_log_level=log.FilterLogLevel.DEBUG,
                               output_stream="stderr"):
                log.debug("debug to stderr")
        self.assertEqual(out.getvalue(), "info line\nwarn line has <redacted>\n")
        self.assertEqual(err.getvalue(), "critical line\ndebug to stderr\n")

    def test_max_value_repr_size(self):
        with log.setup_log(max_value_repr_size="1k"):
            self.assertEqual(log._general_log_config.max_value_repr_size, 1024)
            self.assertEqual(_state.clip("x" * 5000, 10_000)[:1024], "x" * 1024)
        self.assertEqual(log._general_log_config.max_value_repr_size, 200 * 1024)

    def test_console_message(self):
        lines = self.record()
        out, other = io.StringIO(), io.StringIO()
        with redirect_stdout(out):
            log.console_message("to stdout\n", log.ConsoleMessageKind.REGULAR)
            log.console_message("not written\n", "stdout", stream=None)
            log.console_message("to stream", "error", stream=other, flush=True)
        self.assertEqual(out.getvalue(), "to stdout\n")
        self.assertEqual(other.getvalue(), "to stream")
        recs = [json.loads(x) for x in lines]
        self.assertEqual([(r["kind"], r["stream"], r["text"]) for r in recs], [
            ("console", "regular", "to stdout\n"), ("console", "stdout", "not written\n"),
            ("console", "error", "to stream")])

    def test_exception_and_html(self):
        self.record()
        try:
            password = "p4ss-word-1"  # noqa: F841 (a local the log must hide)
            raise KeyError("missing")
        except KeyError:
            log.exception("while looking up")
        log.html("<b>bold</b>", level="WARN")
        log.exception()  # nothing being handled: no record
        ev = _state.recorder.run.tasks[0].events
        self.assertEqual([e["kind"] for e in ev], ["message", "exception", "message"])
        self.assertEqual(ev[0]["text"], "while looking up")
        self.assertEqual(ev[1]["title"], "KeyError: 'missing'")
        self.assertIn("raise KeyError", ev[1]["traceback"])
        frame_vars = dict(ev[1]["frames"][0]["vars"])
        self.assertEqual(frame_vars["password"], "<redacted>")
        self.assertIn("p4ss-word-1", _state.redacter.config.hide_strings)
        self.assertTrue(ev[2]["html"])

    def test_start_end_records_without_output_are_ignored(self):
        log.start_run("x")
        log.start_task("t", "m", "f", 1)
        log.info("nothing")
        self.assertIsNone(_state.recorder.run)


class TestOutputsAndStubs(LogCase):
    def test_add_log_output_writes_html_on_close(self):
        html_path = self.root / "custom" / "log.html"
        with log.add_log_output(self.root, max_files=2, log_html=html_path):
            log.start_run("api run")
            log.start_task("api_task", "mod", "f.py", 3, "Docs.")
            log.info("from the api")
            log.process_snapshot()
            log.end_task("api_task", "mod", log.Status.PASS, "")
            log.end_run("api run", log.Status.PASS)
            self.assertFalse(html_path.exists())
        data = page_data(html_path)
        self.assertEqual(data["name"], "api run")
        (task,) = data["tasks"]
        self.assertEqual((task["name"], task["status"]), ("api_task", "PASS"))
        self.assertEqual(task["events"][0]["text"], "from the api")
        self.assertEqual(task["events"][1]["stream"], "threads")
        self.assertIn("MainThread", task["events"][1]["text"])
        with self.assertRaises(RuntimeError):
            log.add_log_output("")
        # closing by close_log_outputs()
        log.add_log_output(self.root, log_html=self.root / "second.html")
        log.start_run("second")
        log.close_log_outputs()
        self.assertEqual(page_data(self.root / "second.html")["name"], "second")

    def test_accepted_stubs_and_types(self):
        config = log.DefaultAutoLogConfig(
            filters=[log.Filter("mylib", log.FilterKind.exclude)])
        self.assertIsInstance(config, log.AutoLogConfigBase)
        with log.setup_auto_logging(config):
            pass
        self.assertIsInstance(log.hide_strings_config(), log.IRedactConfiguration)
        self.assertEqual((log.Status.PASS, log.Status.ERROR), ("PASS", "ERROR"))
        from robocorp.log.protocols import IReadLines, LogHTMLStyle

        self.assertIs(log.IReadLines, IReadLines)
        self.assertIs(log.LogHTMLStyle, LogHTMLStyle)


class TestSuppressAndRedaction(LogCase):
    def failing_frame_vars(self, func):
        self.record()
        try:
            func()
        except ZeroDivisionError:
            log.exception()
        ev = _state.recorder.run.tasks[0].events[-1]
        return [dict(f["vars"]) for f in ev["frames"]]

    def test_suppress_forms(self):
        def body():
            visible_local = 123  # noqa: F841
            1 / 0

        self.assertEqual(self.failing_frame_vars(body)[-1], {"visible_local": "123"})

        @log.suppress
        def decorated():
            body()

        self.assertEqual(self.failing_frame_vars(decorated), [{}, {}, {}, {}])

        @log.suppress_variables
        def decorated_vars():
            body()

        self.assertEqual(self.failing_frame_vars(decorated_vars), [{}, {}, {}, {}])

        @log.suppress(methods=False)
        def decorated_args():
            body()

        self.assertEqual(self.failing_frame_vars(decorated_args), [{}, {}, {}, {}])

        def in_with():
            with log.suppress_variables():
                body()

        self.assertEqual(self.failing_frame_vars(in_with), [{}, {}, {}])
        with log.suppress_methods():
            self.assertEqual(_state.Suppress.methods, 1)
            self.assertEqual(_state.Suppress.variables, 0)
        with log.suppress():
            self.assertEqual((_state.Suppress.methods, _state.Suppress.variables), (1, 1))
        self.assertEqual((_state.Suppress.methods, _state.Suppress.variables), (0, 0))

    def test_sensitive_names(self):
        for name in ("password", "db_password", "passwd", "API_TOKEN", "client_secret"):
            self.assertTrue(log.is_sensitive_variable_name(name), name)
        self.assertFalse(log.is_sensitive_variable_name("username"))
        log.add_sensitive_variable_name("pin")
        self.assertTrue(log.is_sensitive_variable_name("card_pin_code"))
        log.add_sensitive_variable_name_pattern(r"^ssn$")
        self.assertTrue(log.is_sensitive_variable_name("ssn"))
        self.assertFalse(log.is_sensitive_variable_name("ssn_country"))
        with self.assertRaises(ValueError):
            log.add_sensitive_variable_name("")

    def test_hide_strings_config(self):
        r = _state.redacter.redact
        log.hide_from_output("abcdef")
        self.assertEqual(r("x abcdef y"), "x <redacted> y")
        cfg = log.hide_strings_config()
        cfg.hide_strings.add("ab")  # 2 chars: never hidden by default
        self.assertEqual(r("ab"), "ab")
        cfg.dont_hide_strings_smaller_or_equal_to = 1
        self.assertEqual(r("ab"), "<redacted>")
        cfg.dont_hide_strings_smaller_or_equal_to = 2
        cfg.hide_strings.add("True")
        self.assertEqual(r("True"), "True")  # in dont_hide_strings
        cfg.dont_hide_strings.discard("True")
        self.assertEqual(r("True"), "<redacted>")
        cfg.dont_hide_strings.add("True")
        self.assertEqual(_state.redacter.redact_obj({"k": ["abcdef", 1]}),
                         {"k": ["<redacted>", 1]})


class TestLogHtml(LogCase):
    ROBOT = """
        from robocorp import log, workitems
        from robocorp.tasks import task, setup

        @setup(scope="task")
        def before(task):
            log.info("setup for", task.name)

        @task
        def process_orders():
            log.info("starting orders")
            log.warn("a warning")
            for item in workitems.inputs:
                with item:
                    log.info("order", item.payload["order"])
                    if item.payload.get("bad"):
                        raise workitems.BusinessException("order is invalid", code="INVALID")
                    workitems.outputs.create({"ok": item.payload["order"]})

        @task
        def fails():
            api_token = "tok-9f8e7d6c"
            log.hide_from_output("hunter2-xyz")
            log.debug("login with hunter2-xyz")
            raise RuntimeError("it broke with " + api_token)

        @task
        def takes_args(user: str, password: str):
            log.info("user", user)
    """

    def run_robot(self, *args, env=None):
        self.write("tasks.py", self.ROBOT)
        self.write("in.json", json.dumps([
            {"payload": {"order": 1}},
            {"payload": {"order": 2, "bad": True, "secret": "sk-live-abc123"}},
            {"payload": {"order": 3}},
        ]))
        os.environ.update({"RC_WORKITEM_ADAPTER": "FileAdapter",
                           "RC_WORKITEM_INPUT_PATH": str(self.root / "in.json"),
                           "RC_WORKITEM_OUTPUT_PATH": str(self.root / "out.json")})
        os.environ.update(env or {})
        return cli(["run", "tasks.py", "--console-colors=plain"] + list(args), self.root)

    def test_log_html_of_a_run(self):
        rc, out, _ = self.run_robot("-t", "process_orders", "-t", "fails")
        self.assertEqual(rc, 1)
        path = self.root / "output" / "log.html"
        self.assertTrue(path.is_file())
        raw = path.read_text(encoding="utf-8")
        text = page_text(path)
        # self-contained: no external resources
        self.assertNotRegex(raw, r'(src|href)="(https?:)?//')
        self.assertIn("default-src 'none'", raw)
        self.assertIn("tasks.py - process_orders, fails", text)
        self.assertIn("process_orders", text)
        self.assertIn("fails", text)
        self.assertRegex(text, r"PASS\s+process_orders")
        self.assertRegex(text, r"FAIL\s+fails")
        self.assertIn("setup for process_orders", text)
        self.assertIn("starting orders", text)
        self.assertIn("a warning", text)
        self.assertIn("Traceback (most recent call last):", text)
        self.assertIn("RuntimeError: it broke with <redacted>", text)
        self.assertIn("login with <redacted>", text)
        self.assertIn("Work items: 3 reserved, 2 done, 1 failed", text)
        self.assertIn("BUSINESS INVALID: order is invalid", text)
        for secret in ("tok-9f8e7d6c", "hunter2-xyz", "sk-live-abc123"):
            self.assertNotIn(secret, raw)

        data = page_data(path)
        self.assertEqual(data["status"], "ERROR")
        t1, t2 = data["tasks"]
        self.assertEqual((t1["name"], t1["status"]), ("process_orders", "PASS"))
        self.assertEqual((t2["name"], t2["status"]), ("fails", "FAIL"))
        self.assertEqual(t2["message"], "it broke with <redacted>")
        self.assertEqual([(i["id"], i["state"]) for i in t1["items"]],
                         [("0", "COMPLETED"), ("1", "FAILED"), ("2", "COMPLETED")])
        failed = t1["items"][1]
        self.assertEqual(failed["exception"],
                         {"type": "BUSINESS", "code": "INVALID", "message": "order is invalid"})
        # the item's own messages and its traceback sit in its row
        self.assertEqual([e["kind"] for e in failed["events"]], ["message", "exception"])
        self.assertEqual(failed["events"][0]["text"], "order 2")
        self.assertIn("order is invalid", failed["events"][1]["traceback"])
        self.assertIn('"secret": "<redacted>"', failed["payload"])
        levels = [(e["level"], e["text"]) for e in t1["events"] if e["kind"] == "message"]
        self.assertEqual(levels, [("INFO", "setup for process_orders"),
                                  ("INFO", "starting orders"), ("WARN", "a warning")])
        self.assertGreaterEqual(t1["end"], t1["start"])
        # the console is what robocorp.tasks prints (no log lines by default)
        self.assertNotIn("starting orders", out)
        self.assertIn("fails status: FAIL", out)

    def test_task_arguments_are_recorded_redacted(self):
        rc, _, _ = self.run_robot("-t", "takes_args", "--", "--user", "bob",
                                  "--password", "pa55-w0rd")
        self.assertEqual(rc, 0)
        path = self.root / "output" / "log.html"
        data = page_data(path)
        self.assertEqual(data["tasks"][0]["arguments"],
                         [["user", "'bob'"], ["password", "<redacted>"]])
        self.assertNotIn("pa55-w0rd", path.read_text())

    def test_artifacts_dir_and_switch_off(self):
        art = self.root / "artifacts"
        rc, _, _ = self.run_robot("-t", "process_orders", env={"ROBOT_ARTIFACTS": str(art)})
        self.assertEqual(rc, 0)
        self.assertTrue((art / "log.html").is_file())
        self.assertFalse((self.root / "output" / "log.html").exists())
        (art / "log.html").unlink()
        rc, _, _ = self.run_robot("-t", "process_orders",
                                  env={"ROBOT_ARTIFACTS": str(art), "ROBOTNI_LOG_HTML": "0"})
        self.assertEqual(rc, 0)
        self.assertFalse((art / "log.html").exists())

    def test_collect_error_is_in_the_log(self):
        self.write("tasks.py", "import does_not_exist_xyz\n")
        rc, _, _ = cli(["run", "tasks.py"], self.root)
        self.assertEqual(rc, 1)
        data = page_data(self.root / "output" / "log.html")
        self.assertEqual(data["status"], "ERROR")
        self.assertEqual(data["tasks"], [])
        self.assertIn("does_not_exist_xyz", data["events"][0]["title"])

    def test_item_rows_are_capped(self):
        self.write("tasks.py", """
            from robocorp import workitems
            from robocorp.tasks import task

            @task
            def many():
                for item in workitems.inputs:
                    with item:
                        if item.payload["n"] % 10 == 9:
                            raise workitems.ApplicationException("nine")
        """)
        self.write("in.json", json.dumps([{"payload": {"n": n}} for n in range(40)]))
        os.environ.update({"RC_WORKITEM_ADAPTER": "FileAdapter",
                           "RC_WORKITEM_INPUT_PATH": str(self.root / "in.json"),
                           "RC_WORKITEM_OUTPUT_PATH": str(self.root / "out.json")})
        old = _state.MAX_ITEM_ROWS
        _state.MAX_ITEM_ROWS = 5
        try:
            rc, _, _ = cli(["run", "tasks.py"], self.root)
        finally:
            _state.MAX_ITEM_ROWS = old
        self.assertEqual(rc, 0)
        path = self.root / "output" / "log.html"
        (task,) = page_data(path)["tasks"]
        self.assertEqual(task["item_counts"],
                         {"reserved": 40, "done": 36, "failed": 4, "unreleased": 0})
        # the first 5 rows, then every failed item
        self.assertEqual([i["id"] for i in task["items"]], ["0", "1", "2", "3", "4", "9",
                                                            "19", "29", "39"])
        self.assertEqual(task["items_not_shown"], 31)
        self.assertIn("31 more work items not shown", page_text(path))

    def test_no_hooks_left_after_the_run(self):
        self.run_robot("-t", "process_orders")
        from robocorp.workitems import _workitem

        self.assertIsNone(_workitem.log_hooks)
        self.assertEqual(_state.recorder.outputs, [])
        self.assertIsNone(_state.recorder.run)


if __name__ == "__main__":
    unittest.main()
