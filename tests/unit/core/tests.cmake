robotni_test(core_test tests/unit/core/status_test.cc)
robotni_test(log_test tests/unit/core/log_test.cc)
