#include "config/env_json.h"

#include <map>

#include "config/yaml_util.h"

namespace robotni::config {

using internal::ErrorAt;
using internal::KindName;
using internal::LineOf;

StatusOr<EnvVars> LoadEnvJson(const std::filesystem::path& path) {
  std::filesystem::path abs = internal::AbsoluteNormal(path);
  StatusOr<std::string> text = internal::ReadWholeFile(abs);
  if (!text.ok()) return text.status();
  return ParseEnvJson(*text, abs);
}

// rcc reads env.json with yaml.v2 into map[string]string: any scalar becomes its
// text, null becomes "", an empty file is an empty map, nested values are errors.
// A repeated key keeps its first position and takes the last value.
StatusOr<EnvVars> ParseEnvJson(const std::string& text, const std::filesystem::path& path) {
  const std::string file = internal::AbsoluteNormal(path).string();
  EnvVars vars;
  try {
    StatusOr<YAML::Node> doc = internal::ParseYamlDocument(text, file, "JSON");
    if (!doc.ok()) return doc.status();
    if (!doc->IsDefined() || doc->IsNull()) return vars;
    if (!doc->IsMap()) {
      return ErrorAt(file, LineOf(*doc, 1), "env.json",
                     std::string("expected an object of variable names to values, found ") +
                         (doc->IsSequence() ? "a list" : "a scalar"));
    }
    std::map<std::string, size_t> index;
    for (const auto& [key, val] : internal::MapEntries(*doc)) {
      int line = LineOf(key, LineOf(*doc, 1));
      if (!key.IsScalar()) {
        return ErrorAt(file, line, "env.json",
                       std::string("a variable name must be a string, found ") + KindName(key));
      }
      const std::string& name = key.Scalar();
      if (name.empty()) return ErrorAt(file, line, "\"\"", "a variable name cannot be empty");
      if (name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
        return ErrorAt(file, line, name, "a variable name cannot contain '=' or NUL");
      }
      std::string value;
      if (val.IsScalar()) {
        value = val.Scalar();
      } else if (!val.IsNull()) {
        return ErrorAt(file, LineOf(val, line), name,
                       std::string("expected a string, number or boolean, found ") +
                           (val.IsMap() ? "an object" : "a list"));
      }
      auto [pos, inserted] = index.emplace(name, vars.size());
      if (inserted) {
        vars.emplace_back(name, std::move(value));
      } else {
        vars[pos->second].second = std::move(value);
      }
    }
  } catch (const YAML::Exception& e) {
    return ErrorAt(file, e.mark.is_null() ? 1 : e.mark.line + 1, "env.json", e.what());
  } catch (const std::exception& e) {
    return ErrorAt(file, 1, "env.json", e.what());
  }
  return vars;
}

}  // namespace robotni::config
