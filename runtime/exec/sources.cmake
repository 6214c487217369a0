target_sources(robotni_runtime PRIVATE
  runtime/exec/child_process.cc
  runtime/exec/dispatcher.cc
  runtime/exec/input_seed.cc
  runtime/exec/python_jobs.cc
  runtime/exec/queue_binding.cc
  runtime/exec/run_capture.cc
  runtime/exec/store_job.cc
  runtime/exec/task_consumer.cc
  runtime/exec/task_env.cc
  runtime/exec/task_runner.cc
  runtime/exec/work_item_queues.cc)
