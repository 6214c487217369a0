#ifndef ROBOTNI_EXPORT_H_
#define ROBOTNI_EXPORT_H_

#if defined(ROBOTNI_SHARED_LIBRARY)
#define ROBOTNI_EXPORT __attribute__((visibility("default")))
#else
#define ROBOTNI_EXPORT
#endif

#endif  // ROBOTNI_EXPORT_H_
