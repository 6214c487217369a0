robotni_test(worker_test tests/unit/worker/frame_test.cc tests/unit/worker/start_backoff_test.cc
  tests/unit/worker/worker_batch_test.cc)
