robotni_test(items_cli_test tests/integration/cli/items_test.cc)
# `robotni store migrate` between two SQLite stores (the real binary and the example robot).
robotni_test(store_migrate_cli_test tests/integration/cli/store_migrate_test.cc)
