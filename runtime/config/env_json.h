#ifndef ROBOTNI_RUNTIME_CONFIG_ENV_JSON_H_
#define ROBOTNI_RUNTIME_CONFIG_ENV_JSON_H_

// `-e env.json`: a flat object of variables. rcc reads it as a YAML map of string to
// string (robot/setup.go), so scalars (numbers, booleans) become their text; nested
// values are an error.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "robotni/status.h"

namespace robotni::config {

using EnvVars = std::vector<std::pair<std::string, std::string>>;  // in file order

// IOError when unreadable, InvalidArgument (file, line, key) when malformed. rcc exit 5.
StatusOr<EnvVars> LoadEnvJson(const std::filesystem::path& path);
StatusOr<EnvVars> ParseEnvJson(const std::string& text, const std::filesystem::path& path);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_ENV_JSON_H_
