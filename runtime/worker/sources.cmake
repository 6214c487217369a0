target_sources(robotni_runtime PRIVATE
  runtime/worker/frame.cc
  runtime/worker/start_backoff.cc
  runtime/worker/worker_main.cc
  runtime/worker/worker_process.cc)
