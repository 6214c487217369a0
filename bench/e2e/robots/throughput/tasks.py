"""bench/e2e/consumer_throughput.sh fixture.

seed:    one input item {"count": N} (from --input) -> N outputs {"n": i}.
consume: every input {"n": x} -> one output {"n": 2x}; prints how many and the time
         spent inside the task (robotni prints the whole step's time itself).
consume_raw: the same work straight on robotni's native _robotni module (no
         robocorp.workitems shim): what the binding + store cost on their own
         (run with RC_WORKITEM_QUEUE_NAME=consume so it reads Seed's outputs).
"""

import time

from robocorp import workitems
from robocorp.tasks import task


@task
def seed():
    item = workitems.inputs.current or workitems.inputs.reserve()
    count = int(item.payload["count"])
    for i in range(count):
        workitems.outputs.create({"n": i})
    item.done()
    print(f"seeded {count}")


def _consume():
    count = 0
    for item in workitems.inputs:
        workitems.outputs.create({"n": item.payload["n"] * 2})
        count += 1
    return count


@task
def consume():
    t0 = time.perf_counter()
    count = _consume()
    dt = time.perf_counter() - t0
    print(f"consumed {count} in-task {dt:.3f} s")


@task
def consume_raw():
    import json

    import _robotni  # only exists inside robotni

    t0 = time.perf_counter()
    count = 0
    while True:
        item_id = _robotni.reserve_input()
        if item_id is None:
            break
        payload = json.loads(_robotni.load_payload(item_id))
        _robotni.create_output(item_id, json.dumps({"n": payload["n"] * 2}))
        _robotni.release_input(item_id, "DONE", None)
        count += 1
    _robotni.flush()
    dt = time.perf_counter() - t0
    print(f"consumed {count} in-task {dt:.3f} s")
