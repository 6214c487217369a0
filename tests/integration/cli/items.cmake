robotni_backend_test(items_cli_test tests/integration/cli/items_test.cc)
# `robotni store migrate` between two SQLite stores (the real binary and the example robot).
robotni_test(store_migrate_cli_test tests/integration/cli/store_migrate_test.cc)
# The real binary on the PostgreSQL fixture's server (tests/unit/store/tests.cmake): run, items,
# store migrate, two serve nodes on one schema.
set(ROBOTNI_TEST_PROPERTIES FIXTURES_REQUIRED pg_server
    ENVIRONMENT ROBOTNI_TEST_PG_STATE=${ROBOTNI_TEST_PG_STATE})
robotni_test(store_postgres_cli_test tests/integration/cli/store_postgres_test.cc
             tests/support/pg_server.cc)
unset(ROBOTNI_TEST_PROPERTIES)
