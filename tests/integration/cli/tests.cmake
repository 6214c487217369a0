include(tests/integration/cli/items.cmake)
