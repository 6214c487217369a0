# librobotni.so: the public API (robotni/runtime.h, robotni/robotni.h) as a shared library
# for host programs. It is the whole runtime (robotni_runtime, built with hidden
# visibility) with only the public API exported; its third-party dependencies stay private.
add_library(robotni_lib SHARED bindings/c/robotni_c.cc)
set_target_properties(robotni_lib PROPERTIES
  OUTPUT_NAME robotni
  EXPORT_NAME robotni
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
target_compile_definitions(robotni_lib PRIVATE ROBOTNI_VERSION="${PROJECT_VERSION}")
target_include_directories(robotni_lib PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/runtime/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(robotni_lib PRIVATE
  "$<LINK_LIBRARY:WHOLE_ARCHIVE,robotni_runtime>" nlohmann_json::nlohmann_json)
# core/ (robotni_core, which the runtime links) is whole too: Status's out-of-line members are
# public API whether or not the runtime calls them.
set_property(TARGET robotni_lib PROPERTY LINK_LIBRARY_OVERRIDE_robotni_core WHOLE_ARCHIVE)
# The runtime's own static parts are hidden too (llhttp's C symbols have no visibility
# attribute); every dependency is resolved at link time.
foreach(_part robotni_runtime robotni_core robotni_loop robotni_http llhttp)
  if(TARGET ${_part})
    set_target_properties(${_part} PROPERTIES
      C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  endif()
endforeach()
target_link_options(robotni_lib PRIVATE -Wl,--exclude-libs,libllhttp.a -Wl,--no-undefined
  -Wl,--version-script=${CMAKE_CURRENT_SOURCE_DIR}/bindings/c/librobotni.map)
set_property(TARGET robotni_lib APPEND PROPERTY LINK_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/bindings/c/librobotni.map)
add_library(robotni::robotni ALIAS robotni_lib)
