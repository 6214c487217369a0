"""Command line of robocorp.tasks: ``python -m robocorp.tasks run|list ...``."""

import argparse
import sys
from typing import List, Optional


def _create_argparser() -> argparse.ArgumentParser:
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

    list_parser = subparsers.add_parser("list", help="Print the tasks found as JSON.")
    list_parser.add_argument("path", nargs="?", default=".")
    list_parser.add_argument("--glob", dest="glob", default=None)
    return parser


def run_args(args: List[str]) -> int:
    """Process a command line and return the exit code (never exits)."""
    args = list(args)
    task_args: List[str] = []
    if "--" in args:
        idx = args.index("--")
        args, task_args = args[:idx], args[idx + 1:]

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
    parser.print_help()
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
