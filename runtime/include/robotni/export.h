#ifndef ROBOTNI_EXPORT_H_
#define ROBOTNI_EXPORT_H_

// librobotni is built with -fvisibility=hidden: only what is marked ROBOTNI_EXPORT (the
// public API in this directory) is exported from the shared library.
#if defined(__GNUC__) || defined(__clang__)
#define ROBOTNI_EXPORT __attribute__((visibility("default")))
#else
#define ROBOTNI_EXPORT
#endif

#endif  // ROBOTNI_EXPORT_H_
