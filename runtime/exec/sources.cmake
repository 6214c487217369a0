target_sources(robotni_runtime PRIVATE
  runtime/exec/child_process.cc
  runtime/exec/run_capture.cc
  runtime/exec/task_env.cc)
