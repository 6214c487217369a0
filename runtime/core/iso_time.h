#ifndef ROBOTNI_RUNTIME_CORE_ISO_TIME_H_
#define ROBOTNI_RUNTIME_CORE_ISO_TIME_H_

#include <cstdint>
#include <string>

namespace robotni {

// Milliseconds since the epoch as ISO 8601 UTC: "2026-11-22T21:00:36.413Z"; "" when
// ms <= 0 (not set).
std::string FormatIsoTime(int64_t ms);

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_CORE_ISO_TIME_H_
