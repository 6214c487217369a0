robotni_test(store_test tests/unit/store/sqlite_store_test.cc)
robotni_test(store_schedules_test tests/unit/store/schedules_test.cc)
robotni_test(store_complete_reserve_test tests/unit/store/complete_and_reserve_test.cc)
robotni_test(store_migrate_test tests/unit/store/migrate_test.cc)
