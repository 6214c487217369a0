include(tests/integration/cli/items.cmake)
include(tests/integration/cli/run.cmake)
include(tests/integration/cli/serve.cmake)
