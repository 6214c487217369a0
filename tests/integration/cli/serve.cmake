robotni_test(serve_cli_test tests/integration/cli/serve_test.cc)
