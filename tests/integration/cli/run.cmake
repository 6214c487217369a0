# End-to-end tests of `robotni run` / `robotni tasks` on fixture robots.
robotni_backend_test(run_cli_test
  tests/integration/cli/run_test.cc
  tests/integration/cli/crash_test.cc
  tests/integration/cli/bad_input_test.cc
  tests/integration/cli/run_interrupt_test.cc
  tests/integration/cli/run_process_test.cc)
