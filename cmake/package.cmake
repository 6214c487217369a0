# Debian package of the runtime: `cpack -G DEB` (from the build directory) builds
# robotni_<version>_<arch>.deb holding everything `cmake --install` installs, under /usr.
# Its dependencies are Debian bookworm package names (what the binaries link, and
# Debian's python3.11, which byte-compiles and runs robotni's Python packages).
set(CPACK_PACKAGE_NAME "robotni")
set(CPACK_PACKAGE_VENDOR "robotni")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "robotni maintainers <robotni@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "runs Robocorp-style Python robots in embedded CPython sub-interpreters")
# The extended description (CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY above it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "robotni runs robot.yaml tasks (robocorp.tasks, robocorp.workitems,
actions.work_items) in warm CPython 3.11 sub-interpreters inside one native
process, with a durable work-item queue in SQLite (leases, retries, fencing)
and an HTTP job API (robotni serve). librobotni is the same runtime as a C and
C++ library, and the robotni Python package hosts it from Python programs.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# Stripped binaries (a RelWithDebInfo build carries ~100 MB of DWARF per binary).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME "robotni")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1, libpython3.11 (>= 3.11.2), python3.11, libuv1 (>= 1.44), libsqlite3-0 (>= 3.40), libyaml-cpp0.7, libdate-tz3, libbz2-1.0, libzstd1, libssl3, libcurl4, libspdlog1.10, libfmt9, libpq5")
# No homepage (CPack would otherwise take CMAKE_PROJECT_HOMEPAGE_URL).
unset(CPACK_DEBIAN_PACKAGE_HOMEPAGE)
# Only what the install rules put in; the build tree's marker files are never installed.
set(CPACK_SOURCE_IGNORE_FILES "/build[^/]*/;/\\.git/;__pycache__")
include(CPack)
