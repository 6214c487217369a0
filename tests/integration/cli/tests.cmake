include(tests/integration/cli/items.cmake)
include(tests/integration/cli/run.cmake)
