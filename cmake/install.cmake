# Install: `cmake --install <build> --prefix P` gives a relocatable tree. Nothing in it
# names the build or source tree; the runtime finds P/share/robotni/python relative to the
# file that holds it (runtime/python/python_dir.h), so the whole prefix can be moved.
#
#   P/bin/robotni                                   the CLI
#   P/lib/librobotni.so.0 (+ .so, .so.X.Y.Z)        the runtime library (if built)
#   P/include/robotni/*.h                           its public headers only
#   P/lib/cmake/robotni/robotniConfig*.cmake        find_package(robotni CONFIG) -> robotni::robotni
#   P/lib/pkgconfig/robotni.pc                      pkg-config robotni
#   P/share/robotni/python/{host,shims}             robotni's Python packages, byte-compiled
#   P/lib/python3/dist-packages/robotni/            the `robotni` package + robotni._native
#                                                   (where Debian's python3.11 looks under /usr;
#                                                   PYTHONPATH=P/lib/python3/dist-packages otherwise)
#   P/share/man/man1/robotni.1                      the man page
#   P/share/bash-completion/completions/robotni     bash completion
#   P/share/doc/robotni/examples/                   an example systemd unit and serve.yaml
#
# (lib/ is CMAKE_INSTALL_LIBDIR: lib/<multiarch> when configured with prefix /usr.)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ROBOTNI_INSTALL_PYTHONDIR "${CMAKE_INSTALL_DATADIR}/robotni/python")
set(ROBOTNI_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/robotni")
# Debian's python3.11 imports from <prefix>/lib/python3/dist-packages (not multiarch).
set(ROBOTNI_INSTALL_PYTHON_SITEDIR "lib/python3/dist-packages" CACHE STRING
    "Where the robotni Python package and robotni._native are installed, relative to the prefix")
# The CPython of the build (ROBOTNI_PYTHON): byte-compiles the installed Python packages.
set(ROBOTNI_INSTALL_PYTHON_EXECUTABLE "${Python3_EXECUTABLE}")

# --- the CLI ------------------------------------------------------------------------------
# If the CLI links librobotni.so, it finds it at P/lib from P/bin wherever P is.
file(RELATIVE_PATH _robotni_bin_to_lib
     "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
set_target_properties(robotni PROPERTIES INSTALL_RPATH "$ORIGIN/${_robotni_bin_to_lib}")
install(TARGETS robotni RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# --- robotni's Python packages (host + shims), precompiled --------------------------------
install(DIRECTORY
    ${PROJECT_SOURCE_DIR}/runtime/python/host
    ${PROJECT_SOURCE_DIR}/runtime/python/shims
  DESTINATION ${ROBOTNI_INSTALL_PYTHONDIR}
  FILES_MATCHING PATTERN "*.py"
  PATTERN "__pycache__" EXCLUDE
  PATTERN "tests" EXCLUDE
  PATTERN "test_*.py" EXCLUDE)

# compileall at install time, into the installed tree (DESTDIR for staged installs and
# CPack). checked-hash: a .pyc is used when its source's hash matches, whatever the files'
# times, so a copied or moved tree (cp without -p, a .deb) keeps its bytecode valid; the
# runtime never writes bytecode itself. -s strips the staging directory from the paths
# recorded in the bytecode.
function(robotni_install_compileall rel_dir)
  install(CODE "
    set(_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${rel_dir}\")
    message(STATUS \"Byte-compiling: \${_dir}\")
    execute_process(
      COMMAND \"${ROBOTNI_INSTALL_PYTHON_EXECUTABLE}\" -m compileall -q
              --invalidation-mode checked-hash -s \"\$ENV{DESTDIR}\" \"\${_dir}\"
      RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR \"compileall failed (\${_rc}) in \${_dir}\")
    endif()")
endfunction()
robotni_install_compileall(${ROBOTNI_INSTALL_PYTHONDIR})

# --- librobotni.so, its public headers, CMake package and pkg-config file ------------------
if(TARGET robotni_lib)
  install(TARGETS robotni_lib EXPORT robotniTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  # Only runtime/include/robotni/*.h: internal headers are never installed.
  file(GLOB ROBOTNI_PUBLIC_HEADERS CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/runtime/include/robotni/*.h)
  install(FILES ${ROBOTNI_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/robotni)

  install(EXPORT robotniTargets
    NAMESPACE robotni::
    FILE robotniTargets.cmake
    DESTINATION ${ROBOTNI_INSTALL_CMAKEDIR})
  configure_package_config_file(
    ${CMAKE_CURRENT_LIST_DIR}/robotniConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/robotniConfig.cmake
    INSTALL_DESTINATION ${ROBOTNI_INSTALL_CMAKEDIR}
    PATH_VARS ROBOTNI_INSTALL_PYTHONDIR)
  write_basic_package_version_file(
    ${CMAKE_CURRENT_BINARY_DIR}/robotniConfigVersion.cmake
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY SameMajorVersion)
  install(FILES
      ${CMAKE_CURRENT_BINARY_DIR}/robotniConfig.cmake
      ${CMAKE_CURRENT_BINARY_DIR}/robotniConfigVersion.cmake
    DESTINATION ${ROBOTNI_INSTALL_CMAKEDIR})

  # pkg-config: prefix relative to the .pc file (${pcfiledir}), so the tree stays movable.
  file(RELATIVE_PATH ROBOTNI_PC_PREFIX_FROM_PCFILEDIR
       "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" ROBOTNI_PC_PREFIX_FROM_PCFILEDIR "${ROBOTNI_PC_PREFIX_FROM_PCFILEDIR}")
  configure_file(${CMAKE_CURRENT_LIST_DIR}/robotni.pc.in ${CMAKE_CURRENT_BINARY_DIR}/robotni.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/robotni.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

# --- the `robotni` Python package for Python host programs ---------------------------------
if(TARGET robotni_python)
  install(TARGETS robotni_python
    LIBRARY DESTINATION ${ROBOTNI_INSTALL_PYTHON_SITEDIR}/robotni)
  file(GLOB ROBOTNI_PYTHON_PACKAGE_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/runtime/python/shims/robotni/*.py)
  install(FILES ${ROBOTNI_PYTHON_PACKAGE_SOURCES}
    DESTINATION ${ROBOTNI_INSTALL_PYTHON_SITEDIR}/robotni)
  robotni_install_compileall(${ROBOTNI_INSTALL_PYTHON_SITEDIR}/robotni)
endif()

# --- man page, bash completion, example systemd unit ---------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/robotni.1
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/robotni
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# An example, not enabled: copy it to /etc/systemd/system and adapt it.
install(FILES
    ${PROJECT_SOURCE_DIR}/packaging/systemd/robotni.service
    ${PROJECT_SOURCE_DIR}/packaging/systemd/serve.yaml
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
