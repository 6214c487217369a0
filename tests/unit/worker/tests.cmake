robotni_test(worker_test tests/unit/worker/frame_test.cc)
