add_executable(robotni runtime/cli/main.cc)
target_link_libraries(robotni PRIVATE robotni_runtime CLI11::CLI11)
target_compile_definitions(robotni PRIVATE ROBOTNI_VERSION="${PROJECT_VERSION}")
