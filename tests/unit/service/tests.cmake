# The public C++ API through librobotni.so, as a host links it (no internal header).
add_executable(runtime_api_test tests/unit/service/runtime_test.cc tests/support/sanitizer_defaults.cc)
target_link_libraries(runtime_api_test PRIVATE robotni_lib GTest::gtest GTest::gtest_main)
add_dependencies(runtime_api_test robotni_pyc)
add_dependencies(unit_tests runtime_api_test)
gtest_discover_tests(runtime_api_test DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS unit)
