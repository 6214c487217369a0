"""Fixtures for the Python-host suite: a robot written into tmp_path and a runtime on it.

The suite imports `robotni` from PYTHONPATH only (the build tree's <build>/python, or an
installed <prefix>/lib/python3/dist-packages), so the same tests check both.
"""

import faulthandler
import pathlib
import sys

import pytest

import robotni

# A deadlock (the GIL held while calling into the runtime, a pybind11 import in a
# sub-interpreter) must fail the run with tracebacks, not hang it.
TEST_DEADLINE_SECONDS = 120

ROBOT_YAML = """\
tasks:
  Ok:
    shell: python -m robocorp.tasks run tasks.py -t ok
  Env:
    shell: python -m robocorp.tasks run tasks.py -t env
  Fails:
    shell: python -m robocorp.tasks run tasks.py -t fails
artifactsDir: output
PYTHONPATH:
  - .
"""

TASKS_PY = """\
import os
import sys

from robocorp.tasks import task


@task
def ok():
    print("hello from the ok task")
    print("a line on stderr", file=sys.stderr)


@task
def env():
    print("GREETING=" + os.environ.get("GREETING", "<unset>"))


@task
def fails():
    print("about to fail")
    raise ValueError("boom from the fails task")
"""

JOBS_PY = """\
import robotni
from robotni import BusinessError, run


@robotni.job("add", schema={"type": "object",
                            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                            "required": ["x", "y"]})
def add(x, y):
    return x + y


@robotni.job("reject")
def reject(**params):
    raise BusinessError("bad order", code="BAD_ORDER")


@robotni.job("echo")
def echo(**params):
    return {"params": params, "attempt": run.attempt}


@robotni.job("host_api_guard")
def host_api_guard(**params):
    # robotni.Runtime must refuse to load the pybind11 module in a sub-interpreter.
    try:
        robotni.Runtime
    except ImportError as e:
        return {"refused": str(e)}
    return {"refused": None}
"""


def write_robot(root: pathlib.Path) -> pathlib.Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "robot.yaml").write_text(ROBOT_YAML)
    (root / "tasks.py").write_text(TASKS_PY)
    (root / "jobs.py").write_text(JOBS_PY)
    return root


@pytest.fixture(autouse=True)
def deadline():
    faulthandler.dump_traceback_later(TEST_DEADLINE_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def robot_dir(tmp_path):
    return write_robot(tmp_path / "robot")


@pytest.fixture
def store(tmp_path):
    return str(tmp_path / "store" / "workitems.db")


@pytest.fixture
def runtime(robot_dir, store):
    rt = robotni.Runtime(store=store, robot=robot_dir / "robot.yaml", job_modules=["jobs.py"])
    yield rt
    rt.close()


def pytest_report_header(config):
    return [f"robotni: {robotni.__file__}", f"python: {sys.executable} {sys.version.split()[0]}"]
