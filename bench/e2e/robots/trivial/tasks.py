"""bench/e2e/run_oneshot.sh fixture: the smallest robocorp.tasks task.

Run as `robotni run -t Trivial`, `python3.11 -m robocorp.tasks run tasks.py`
(shims on PYTHONPATH) or plainly `python3.11 tasks.py` (calls the task itself).
"""

from robocorp.tasks import task


@task
def trivial():
    order = {"id": 42, "name": "order", "lines": [1, 2, 3]}
    print(order["name"], order["id"], len(order["lines"]))


if __name__ == "__main__":
    trivial()
