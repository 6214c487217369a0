robotni_test(core_test tests/unit/core/status_test.cc)
