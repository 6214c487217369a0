from ._callback import Callback

# on_task_func_found(func, options)
on_task_func_found = Callback(raise_exceptions=True)
# before_collect_tasks(path, task_names)
before_collect_tasks = Callback()
# before_all_tasks_run(tasks) -- a failing session setup stops the run (as upstream)
before_all_tasks_run = Callback(raise_exceptions=True)
# before_task_run(task) -- a failing task setup stops the run (as upstream)
before_task_run = Callback(raise_exceptions=True)
# after_task_run(task) -- reversed registry order (teardown)
after_task_run = Callback(reversed=True)
# after_all_tasks_run(tasks) -- reversed registry order (teardown)
after_all_tasks_run = Callback(reversed=True)

ALL = (
    before_collect_tasks,
    before_all_tasks_run,
    before_task_run,
    after_task_run,
    after_all_tasks_run,
)

# Bookkeeping for warm re-runs in one interpreter (robotni): which module
# registered a fixture, and which modules declared tasks.
_fixture_modules: dict = {}  # id(func) -> (func, module name)
task_modules: set = set()
# Teardowns of generator setups that ran and whose teardown has not run yet:
# id -> (hook, teardown). A run drops the ones left (e.g. a later setup failed).
pending_teardowns: dict = {}


def drop_pending_teardowns() -> None:
    for hook, func in list(pending_teardowns.values()):
        hook.unregister(func)
        _fixture_modules.pop(id(func), None)
    pending_teardowns.clear()


def record_fixture(func):
    _fixture_modules[id(func)] = (func, getattr(func, "__module__", None))


def unregister_fixtures_of(module_names) -> None:
    """Drop setup/teardown fixtures registered by the given modules (they are
    about to be imported again and will register themselves again)."""
    module_names = set(module_names)
    for key, (func, mod) in list(_fixture_modules.items()):
        if mod in module_names:
            for hook in ALL:
                hook.unregister(func)
            del _fixture_modules[key]
