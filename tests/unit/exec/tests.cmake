robotni_test(exec_test
  tests/unit/exec/dispatcher_test.cc
  tests/unit/exec/queue_binding_test.cc
  tests/unit/exec/store_job_test.cc
  tests/unit/exec/task_env_test.cc)
