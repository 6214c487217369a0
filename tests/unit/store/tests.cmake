# The store tests run every backend-agnostic test on SQLite and on PostgreSQL
# (Backends/StoreTest.X/sqlite, .../postgresql). PostgreSQL is a real server started once per
# ctest run by the fixture pg_server_start / pg_server_stop (tests/support/pg_server.h), its
# URL in the state file named by ROBOTNI_TEST_PG_STATE; each test uses a schema of its own.
# Without the PostgreSQL binaries pg_server_start fails and says so, and the tests that need
# it do not pass (ctest reports them Not Run, a failure): CI installs postgresql-15
# (scripts/setup.sh --test). The SQLite tests run without it.
add_executable(robotni_pg_server tests/support/pg_server_main.cc tests/support/pg_server.cc)
target_include_directories(robotni_pg_server PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(robotni_pg_server PRIVATE PkgConfig::LIBPQ)
set(ROBOTNI_TEST_PG_STATE ${CMAKE_BINARY_DIR}/pg_test_server/state)
add_test(NAME pg_server_start COMMAND robotni_pg_server start ${ROBOTNI_TEST_PG_STATE})
add_test(NAME pg_server_stop COMMAND robotni_pg_server stop ${ROBOTNI_TEST_PG_STATE})
set_tests_properties(pg_server_start PROPERTIES FIXTURES_SETUP pg_server LABELS unit TIMEOUT 120)
set_tests_properties(pg_server_stop PROPERTIES FIXTURES_CLEANUP pg_server LABELS unit TIMEOUT 60)
add_dependencies(unit_tests robotni_pg_server)

robotni_backend_test(store_test tests/unit/store/sqlite_store_test.cc tests/unit/store/pg_store_test.cc)
robotni_backend_test(store_schedules_test tests/unit/store/schedules_test.cc)
robotni_backend_test(store_complete_reserve_test tests/unit/store/complete_and_reserve_test.cc)
robotni_backend_test(store_migrate_test tests/unit/store/migrate_test.cc)
