robotni_test(store_test tests/unit/store/sqlite_store_test.cc)
