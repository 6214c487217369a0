robotni_test(cli_test tests/unit/cli/serve_config_test.cc)
