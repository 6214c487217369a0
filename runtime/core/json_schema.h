#ifndef ROBOTNI_RUNTIME_CORE_JSON_SCHEMA_H_
#define ROBOTNI_RUNTIME_CORE_JSON_SCHEMA_H_

// A JSON Schema compiled once and checked against values by valijson (draft 7; draft 4 when the
// schema's "$schema" names it). An error names the field and what was expected:
// "params.address.zip: expected string". See docs/serve.md, "Params and their schema".

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "robotni/status.h"

namespace robotni {

class JsonSchema {
 public:
  // InvalidArgument when `schema` is no schema valijson can read (not an object, a "$schema"
  // of another draft, a $ref to another document, a bad regex, ...).
  static StatusOr<std::shared_ptr<const JsonSchema>> Compile(const nlohmann::json& schema);
  ~JsonSchema();

  // "" when `value` conforms; else "<root>.a.b[2]: expected ..." for the first field that
  // does not. Safe to call from several threads at once.
  std::string Check(const nlohmann::json& value, const std::string& root) const;

  struct Impl;

 private:
  explicit JsonSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_CORE_JSON_SCHEMA_H_
