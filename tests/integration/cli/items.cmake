robotni_test(items_cli_test tests/integration/cli/items_test.cc)
