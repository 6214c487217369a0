#!/usr/bin/env python3.11
"""A Python program hosting robotni (docs/python-host.md).

    PYTHONPATH=<prefix>/lib/python3/dist-packages python3.11 examples/python/host.py [ROBOT_DIR]

Opens a runtime on a temporary store with ROBOT_DIR/robot.yaml (or a tiny robot written
to a temporary directory), runs a task, enqueues 10 jobs and waits for them, serves the
HTTP API for a moment and probes /healthz, and closes. Exits 0 when all of that worked.
"""

import argparse
import json
import pathlib
import sys
import tempfile
import urllib.request

import robotni

TINY_ROBOT = {
    "robot.yaml": (
        "tasks:\n"
        "  Hello:\n"
        "    shell: python -m robocorp.tasks run tasks.py -t hello\n"
        "artifactsDir: output\n"
        "PYTHONPATH:\n"
        "  - .\n"
    ),
    "tasks.py": (
        "from robocorp.tasks import task\n\n\n"
        "@task\n"
        "def hello():\n"
        "    print('hello from a robotni task')\n"
    ),
    "jobs.py": (
        "from robotni import job\n\n\n"
        "@job('add')\n"
        "def add(x, y):\n"
        "    return x + y\n"
    ),
}

# Payloads for the job types of the built-in robot and of examples/robot.
KNOWN_JOBS = {"add": '{{"x": {i}, "y": 1}}', "py.square": '{{"n": {i}}}'}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("robot_dir", nargs="?", help="a robot directory (robot.yaml, jobs.py)")
    parser.add_argument("--task", help="the robot.yaml task to run (default: its sole task)")
    parser.add_argument("--job", help="the job type to enqueue (default: add or py.square)")
    parser.add_argument("--payload", help='a payload template, e.g. \'{{"n": {i}}}\'')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="robotni-host-") as tmp:
        if args.robot_dir:
            robot = pathlib.Path(args.robot_dir).resolve()
        else:
            robot = pathlib.Path(tmp) / "robot"
            robot.mkdir()
            for name, text in TINY_ROBOT.items():
                (robot / name).write_text(text)
        job_modules = ["jobs.py"] if (robot / "jobs.py").exists() else []
        store = pathlib.Path(tmp) / "workitems.db"
        print(robotni.Runtime.version())

        with robotni.Runtime(store=store, robot=robot / "robot.yaml",
                             job_modules=job_modules) as rt:
            # A robot task, like `rcc run -t`: a failing task is an exit code, not an exception.
            outcome = rt.run_task(args.task)
            sys.stdout.write(outcome["stdout"])
            print(f"task: exit code {outcome['exit_code']} in {outcome['seconds']:.3f} s")
            if not outcome["ok"]:
                print(f"task failed: {outcome['message']}\n{outcome['stderr']}", file=sys.stderr)
                return 1

            # Jobs: enqueue 10, wait for each.
            job = args.job or next((t for t in KNOWN_JOBS if t in rt.job_types), None)
            if job is None:
                print(f"no job type to run (served: {rt.job_types}); pass --job and --payload")
            else:
                template = args.payload or KNOWN_JOBS.get(job, "{{}}")
                ids = [rt.enqueue(job, json.loads(template.format(i=i))) for i in range(10)]
                results = []
                for id_ in ids:
                    item = rt.wait(id_, timeout=30)
                    if item["state"] != "DONE":
                        print(f"job {id_}: {item['state']} {item['error']}", file=sys.stderr)
                        return 1
                    results.append(item["result"])
                print(f"jobs: 10 x {job} -> {results}")

            # The HTTP API on a background thread, on any free loopback port.
            address = rt.serve("127.0.0.1:0", tokens=["read,write:example-secret"], grace=5)
            with urllib.request.urlopen(f"http://{address}/healthz", timeout=10) as r:
                print(f"serve: http://{address}/healthz -> {r.status} {r.read().decode()}")
            rt.stop_serving()
        print("closed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except robotni.RobotniError as e:
        print(f"robotni: {e.code}: {e}", file=sys.stderr)
        sys.exit(2)
