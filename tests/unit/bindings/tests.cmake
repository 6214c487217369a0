# The C API (robotni/robotni.h) through librobotni.so.
add_executable(c_api_test tests/unit/bindings/c_api_test.cc tests/support/sanitizer_defaults.cc)
target_link_libraries(c_api_test PRIVATE robotni_lib GTest::gtest GTest::gtest_main)
add_dependencies(c_api_test robotni_pyc)
add_dependencies(unit_tests c_api_test)
gtest_discover_tests(c_api_test DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS unit)
target_compile_definitions(c_api_test PRIVATE ROBOTNI_TEST_VERSION="${PROJECT_VERSION}")
