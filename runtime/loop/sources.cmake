# runtime/loop: the libuv glue that http/, exec/ and service/ share (UvHandle, LoopPoster).
# A static library of its own below http/, so the HTTP transport (and its fuzzer) links it
# without the rest of the runtime; it logs through core/log (robotni_core).
add_library(robotni_loop STATIC runtime/loop/loop_poster.cc runtime/loop/signal_watcher.cc)
target_include_directories(robotni_loop PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/include
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime)
target_link_libraries(robotni_loop PUBLIC robotni_core PkgConfig::LIBUV Threads::Threads)
set_target_properties(robotni_loop PROPERTIES POSITION_INDEPENDENT_CODE ON)
