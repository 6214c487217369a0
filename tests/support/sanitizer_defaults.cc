// Linked into every test binary. Sanitizer options live here, not in ctest
// properties, so they hold however a test is started (ctest, by hand, gdb).
#include <cstdlib>

extern "C" {
// LeakSanitizer: CPython keeps interned strings and static types alive until exit by
// design, and so do extension modules a test imports (numpy, and OpenSSL under it);
// those are not leaks of ours.
const char* __lsan_default_suppressions() {
  return "leak:libpython3.11.so\nleak:_PyObject_Malloc\nleak:/numpy/\nleak:libcrypto.so\n"
         "leak:libopenblas\n";
}
const char* __asan_default_options() { return "detect_leaks=1"; }
// The table of suppressed leaks would end up in robotni's stderr, which tests parse.
const char* __lsan_default_options() { return "print_suppressions=0"; }
}

namespace {
// pymalloc hides allocations from ASan; make CPython use malloc in tests.
struct PythonMallocForSanitizers {
  PythonMallocForSanitizers() { setenv("PYTHONMALLOC", "malloc", 0); }
} python_malloc_for_sanitizers;
}  // namespace
