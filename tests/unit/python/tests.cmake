robotni_test(python_test
  tests/unit/python/interpreter_test.cc
  tests/unit/python/isolation_test.cc)
include(tests/unit/python/shims/tests.cmake OPTIONAL)
