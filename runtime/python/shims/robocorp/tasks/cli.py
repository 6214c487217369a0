"""Command line of robocorp.tasks: ``python -m robocorp.tasks run|list ...``."""

import sys
from types import SimpleNamespace
from typing import List, Optional

# `run` options the fast path below reads: flag -> (dest, takes a value, repeats).
_RUN_OPTIONS = {
    "-t": ("task_name", True, True),
    "--task": ("task_name", True, True),
    "-o": ("output_dir", True, False),
    "--output-dir": ("output_dir", True, False),
    "--glob": ("glob", True, False),
    "--json-input": ("json_input", True, False),
    "--preload-module": ("preload_module", True, True),
    "--no-status-rc": ("no_status_rc", False, False),
    "--console-colors": ("console_colors", True, False),
}


def _parse_run_fast(args: List[str]):
    """The usual ``run [path] -t NAME ...`` line without argparse, or None.

    Every run goes through here, and argparse (which pulls in gettext, shutil, bz2 and
    lzma) cost ~8 ms per run. Anything else (abbreviations, help, errors, the
    compatibility options) returns None and goes through argparse as before.
    """
    if not args or args[0] != "run":
        return None
    ns = SimpleNamespace(command="run", path=None, task_name=[], output_dir="", glob=None,
                         json_input=None, preload_module=[], no_status_rc=False,
                         console_colors="auto")
    i = 1
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            if ns.path is not None:
                return None
            ns.path = arg
            continue
        name, eq, inline = arg.partition("=")
        spec = _RUN_OPTIONS.get(name)
        if spec is None or (eq and not name.startswith("--")):
            return None
        dest, takes_value, repeats = spec
        if not takes_value:
            if eq:
                return None
            setattr(ns, dest, True)
            continue
        if eq:
            value = inline
        else:
            if i >= len(args) or args[i].startswith("-"):
                return None
            value = args[i]
            i += 1
        if repeats:
            getattr(ns, dest).append(value)
        else:
            setattr(ns, dest, value)
    if ns.console_colors not in ("auto", "plain", "ansi"):
        return None
    if ns.path is None:
        ns.path = "."
    return ns


def _create_argparser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="robocorp.tasks",
        description="Robocorp framework for RPA development using Python (robotni shim).",
    )
    subparsers = parser.add_subparsers(dest="command")

    run_parser = subparsers.add_parser("run", help="Collect @task functions and run them.")
    run_parser.add_argument("path", nargs="?", default=".",
                            help="The directory or file with the tasks to run.")
    run_parser.add_argument("-t", "--task", dest="task_name", action="append", default=[],
                            help="The name of a task to run (may be repeated).")
    run_parser.add_argument("-o", "--output-dir", dest="output_dir", default="",
                            help="Output directory (default: $ROBOT_ARTIFACTS or ./output).")
    run_parser.add_argument("--glob", dest="glob", default=None,
                            help="File glob(s) ('|'-separated) searched in a directory.")
    run_parser.add_argument("--json-input", dest="json_input", default=None,
                            help="JSON file with the task arguments.")
    run_parser.add_argument("--preload-module", dest="preload_module", action="append",
                            default=[], help="Module to import before collecting.")
    run_parser.add_argument("--no-status-rc", dest="no_status_rc", action="store_true",
                            help="Exit with 0 even if a task failed.")
    run_parser.add_argument("--console-colors", dest="console_colors", default="auto",
                            choices=["auto", "plain", "ansi"])
    # Accepted for compatibility; robotni writes no log files.
    run_parser.add_argument("--max-log-files", dest="max_log_files", type=int, default=5)
    run_parser.add_argument("--max-log-file-size", dest="max_log_file_size", default="1MB")
    run_parser.add_argument("--log-output-to-stdout", dest="log_output_to_stdout", default="")
    run_parser.add_argument("--teardown-dump-threads-timeout", dest="tdt", default=None)
    run_parser.add_argument("--teardown-interrupt-timeout", dest="tit", default=None)
    # Accepted, never acted on: the task runs inside robotni's process, which an early
    # os._exit would end without settling the run's work items.
    run_parser.add_argument("--os-exit", dest="os_exit", default=None,
                            choices=["no", "before-teardown", "after-teardown"])

    list_parser = subparsers.add_parser("list", help="Print the tasks found as JSON.")
    list_parser.add_argument("path", nargs="?", default=".")
    list_parser.add_argument("--glob", dest="glob", default=None)
    return parser


# Every `run` option of the argparse parser: name -> takes a value.
_ALL_RUN_OPTIONS = {name: spec[1] for name, spec in _RUN_OPTIONS.items()}
_ALL_RUN_OPTIONS.update({
    "-h": False, "--help": False, "--max-log-files": True, "--max-log-file-size": True,
    "--log-output-to-stdout": True, "--teardown-dump-threads-timeout": True,
    "--teardown-interrupt-timeout": True, "--os-exit": True,
})


def _run_option(token: str):
    """Whether ``token`` is a `run` option as argparse reads it: (takes a value,
    value inline) or None. Long options may be abbreviated (a unique prefix);
    ``-tNAME`` / ``-oDIR`` carry their value."""
    name, eq, _ = token.partition("=")
    if name in _ALL_RUN_OPTIONS:
        return _ALL_RUN_OPTIONS[name], bool(eq)
    if token.startswith("--") and len(name) > 2:
        found = [o for o in _ALL_RUN_OPTIONS if o.startswith("--") and o.startswith(name)]
        if len(found) == 1:
            return _ALL_RUN_OPTIONS[found[0]], bool(eq)
        return None
    if not token.startswith("--") and len(token) > 2 and token[:2] in ("-t", "-o"):
        return True, True
    return None


def split_task_args(args: List[str]):
    """(run line, task arguments) of a command line.

    After a ``--``, everything is the task's (as robocorp.tasks). Without one, the
    task's arguments start at the first token that is not part of the `run` line: an
    option `run` does not have (``--name=value``), or a second positional. robotni
    appends what follows a single ``--`` (``robotni run -t X -- --name=value``) to
    the task's command, which then reaches here without its ``--``.
    """
    args = list(args)
    if "--" in args:
        idx = args.index("--")
        return args[:idx], args[idx + 1:]
    if not args or args[0] != "run":
        return args, []
    i, path_seen = 1, False
    while i < len(args):
        token = args[i]
        if token.startswith("-") and token != "-":
            opt = _run_option(token)
            if opt is None:
                return args[:i], args[i:]
            takes_value, inline = opt
            i += 2 if takes_value and not inline else 1
            continue
        if path_seen:
            return args[:i], args[i:]
        path_seen = True
        i += 1
    return args, []


def run_args(args: List[str]) -> int:
    """Process a command line and return the exit code (never exits)."""
    args, task_args = split_task_args(args)

    parsed = _parse_run_fast(args)
    parser = None
    if parsed is None:
        parser = _create_argparser()
        try:
            parsed = parser.parse_args(args)
        except SystemExit as e:
            code = e.code
            if code is None:
                return 0
            return code if isinstance(code, int) else 1

    from . import _commands

    if parsed.command == "run":
        return _commands.run(
            path=parsed.path,
            task_names=parsed.task_name,
            output_dir=parsed.output_dir,
            glob=parsed.glob,
            json_input=parsed.json_input,
            preload_modules=parsed.preload_module,
            no_status_rc=parsed.no_status_rc,
            console_colors=parsed.console_colors,
            task_args=task_args,
        )
    if parsed.command == "list":
        return _commands.list_tasks(parsed.path, parsed.glob)
    (parser or _create_argparser()).print_help()
    return 1


def main(args: Optional[List[str]] = None, exit: bool = True) -> int:
    """Entry point: runs the command and raises SystemExit(rc) when ``exit``."""
    if args is None:
        args = sys.argv[1:]
    rc = run_args(args)
    if exit:
        sys.exit(rc)
    return rc


if __name__ == "__main__":
    main()
