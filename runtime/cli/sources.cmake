add_executable(robotni
  runtime/cli/main.cc
  runtime/cli/flag_checks.cc
  runtime/cli/store_flag.cc
  runtime/cli/items_command.cc
  runtime/cli/action_server_import.cc
  runtime/cli/items_format.cc
  runtime/cli/run_command.cc
  runtime/cli/serve_command.cc
  runtime/cli/tasks_command.cc
  runtime/cli/package_command.cc
  runtime/cli/env_command.cc
  runtime/cli/store_command.cc
  runtime/cli/python_prefix_flag.cc
  runtime/cli/robot_loader.cc)
target_include_directories(robotni PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/runtime)
target_link_libraries(robotni PRIVATE robotni_runtime robotni_package CLI11::CLI11)
target_compile_definitions(robotni PRIVATE ROBOTNI_VERSION="${PROJECT_VERSION}")
add_dependencies(robotni robotni_pyc)
# A sanitizer build's robotni gets the tests' sanitizer defaults (CPython's by-design
# leaks suppressed, PYTHONMALLOC=malloc), so integration tests can run it under ASan.
if(ROBOTNI_SANITIZE)
  target_sources(robotni PRIVATE tests/support/sanitizer_defaults.cc)
endif()
