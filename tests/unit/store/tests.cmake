robotni_test(store_test tests/unit/store/sqlite_store_test.cc tests/unit/store/sha256_test.cc)
# The whole suite as one ctest entry too, so `ctest -R store` (lowercase) selects it;
# the discovered entries are named after the gtest suites (SqliteStoreTest.*).
add_test(NAME store_test_all COMMAND store_test)
set_tests_properties(store_test_all PROPERTIES ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tests/lsan.supp;ASAN_OPTIONS=detect_leaks=1")
