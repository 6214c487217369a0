# Unit tests of the pure-Python shims (robocorp.tasks, robocorp.workitems,
# actions.work_items, robotni) and of the example orders robot.
add_test(NAME python_shims
         COMMAND /usr/bin/python3.11 -I ${CMAKE_CURRENT_SOURCE_DIR}/tests/unit/python/shims/run_tests.py)
