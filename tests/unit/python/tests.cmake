robotni_test(python_test
  tests/unit/python/interpreter_test.cc
  tests/unit/python/interpreter_pool_test.cc
  tests/unit/python/isolation_test.cc)
include(tests/unit/python/shims/tests.cmake OPTIONAL)
if(TEST python_shims)
  set_tests_properties(python_shims PROPERTIES LABELS unit)
endif()
