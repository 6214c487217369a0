# `robotni package` (extracted with Debian's cph) and `robotni env check`.
robotni_test(package_cli_test
  tests/integration/cli/package_test.cc
  tests/integration/cli/env_check_test.cc)
