include(tests/integration/cli/items.cmake)
include(tests/integration/cli/run.cmake)
include(tests/integration/cli/serve.cmake)
# `robotni version`, and finding robotni's Python packages from a moved binary.
robotni_test(version_cli_test tests/integration/cli/version_test.cc)
include(tests/integration/cli/package.cmake)
