robotni_test(serve_cli_test tests/integration/cli/serve_test.cc
  tests/integration/cli/serve_auth_test.cc)
robotni_test(serve_items_cli_test tests/integration/cli/serve_items_test.cc)
robotni_test(serve_tasks_cli_test tests/integration/cli/serve_tasks_test.cc)
robotni_test(serve_load_cli_test tests/integration/cli/serve_load_test.cc)
robotni_test(serve_ops_cli_test tests/integration/cli/serve_ops_test.cc)
robotni_test(serve_webhooks_cli_test tests/integration/cli/serve_webhooks_test.cc)
robotni_test(serve_workers_cli_test tests/integration/cli/serve_workers_test.cc)
robotni_test(serve_chaos_cli_test tests/integration/cli/serve_chaos_test.cc)
# The API token file: refused when unsafe, never written through a link.
robotni_test(serve_token_cli_test tests/integration/cli/serve_token_file_test.cc)
