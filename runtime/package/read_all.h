#ifndef ROBOTNI_RUNTIME_PACKAGE_READ_ALL_H_
#define ROBOTNI_RUNTIME_PACKAGE_READ_ALL_H_

#include <filesystem>
#include <string>

#include "robotni/status.h"

namespace robotni::package {

// The whole file's bytes; IOError "cannot read PATH: reason" otherwise. Shared by
// `robotni package` (the robot's files) and `robotni env create` (archives, records).
StatusOr<std::string> ReadAll(const std::filesystem::path& p);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_READ_ALL_H_
