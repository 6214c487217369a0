robotni_test(config_test
  tests/unit/config/robot_yaml_test.cc
  tests/unit/config/shell_split_test.cc
  tests/unit/config/env_json_test.cc
  tests/unit/config/conda_yaml_test.cc
  tests/unit/config/corpus_test.cc
  tests/unit/config/robustness_test.cc)
# The whole suite as one ctest entry too, so `ctest -R config` selects it (the
# discovered gtest names do not contain "config").
add_test(NAME config_test_all COMMAND config_test)
set_tests_properties(config_test_all PROPERTIES ENVIRONMENT
  "PYTHONMALLOC=malloc;LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tests/lsan.supp;ASAN_OPTIONS=detect_leaks=1")
