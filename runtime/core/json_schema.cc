#include "core/json_schema.h"

#include <regex>
#include <stdexcept>  // before valijson: its exceptions.hpp includes it inside its namespace
#include <string_view>
#include <vector>

// Without this valijson calls abort() on a schema it cannot read.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/iso_time.h"

namespace robotni {

struct JsonSchema::Impl {
  nlohmann::json source;   // as given: for naming what a failing field expected
  nlohmann::json checked;  // what valijson read: source without its date formats
  valijson::Schema schema;
  // "date", "time" and "date-time" are checked here (CheckDates, with core/iso_time), not by
  // valijson: it builds a std::regex for each such string it checks (0.7 ms a submission)
  // and takes 2023-02-29. Set when the schema names one of them.
  bool has_format = false;
};

namespace {

using nlohmann::json;

StatusOr<valijson::SchemaParser::Version> DraftOf(const json& schema) {
  auto it = schema.find("$schema");
  if (it == schema.end()) return valijson::SchemaParser::kDraft7;
  std::string uri = it->is_string() ? it->get<std::string>() : it->dump();
  if (uri.find("draft-07") != std::string::npos) return valijson::SchemaParser::kDraft7;
  if (uri.find("draft-04") != std::string::npos) return valijson::SchemaParser::kDraft4;
  return Status::InvalidArgument("schema: $schema " + uri +
                                 " is not supported (draft-07, or draft-04)");
}

// A local "$ref": "#/definitions/x" followed to what it names (valijson resolved it already;
// this is for naming what was expected).
const json* Resolve(const json* s, const json& root) {
  for (int hops = 0; s && s->is_object() && hops < 8; ++hops) {
    auto ref = s->find("$ref");
    if (ref == s->end() || !ref->is_string()) break;
    std::string to = *ref;
    if (to.empty() || to[0] != '#') return nullptr;
    json::json_pointer pointer;
    try {
      pointer = json::json_pointer(to.substr(1));
    } catch (const json::exception&) {
      return nullptr;
    }
    if (!root.contains(pointer)) return nullptr;
    s = &root.at(pointer);
  }
  return s;
}

// The schema `s` gives the member `key` of an object, or nullptr.
const json* MemberSchema(const json* s, const std::string& key) {
  if (!s || !s->is_object()) return nullptr;
  if (auto p = s->find("properties"); p != s->end() && p->is_object())
    if (auto m = p->find(key); m != p->end()) return &*m;
  if (auto a = s->find("additionalProperties"); a != s->end() && a->is_object()) return &*a;
  return nullptr;
}

// The schema `s` gives the item `index` of an array, or nullptr.
const json* ItemSchema(const json* s, size_t index) {
  if (!s || !s->is_object()) return nullptr;
  auto items = s->find("items");
  if (items != s->end() && items->is_object()) return &*items;
  if (items != s->end() && items->is_array() && index < items->size()) return &(*items)[index];
  if (auto a = s->find("additionalItems"); a != s->end() && a->is_object()) return &*a;
  return nullptr;
}

std::string Join(const json& values, std::string_view sep) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : std::string(sep)) + v.dump();
  return out;
}

// The last quoted name in valijson's description: "... constraints: 'name'." -> name.
std::string Quoted(std::string_view description) {
  size_t b = description.rfind('\'');
  size_t a = b == std::string_view::npos || b == 0 ? b : description.rfind('\'', b - 1);
  return a == std::string_view::npos ? "" : std::string(description.substr(a + 1, b - a - 1));
}

// valijson compiles a "pattern" when it first checks one; a bad one is refused here instead.
Status CheckPatterns(const json& schema) {
  if (schema.is_array())
    for (const auto& sub : schema) ROBOTNI_RETURN_IF_ERROR(CheckPatterns(sub));
  if (!schema.is_object()) return Status::OK();
  for (const auto& [key, sub] : schema.items()) {
    std::vector<std::string> patterns;
    if (key == "pattern" && sub.is_string()) patterns.push_back(sub);
    if (key == "patternProperties" && sub.is_object())
      for (const auto& [pattern, unused] : sub.items()) patterns.push_back(pattern);
    for (const auto& p : patterns) {
      try {
        std::regex check(p);
      } catch (const std::regex_error& e) {
        return Status::InvalidArgument("schema: pattern " + json(p).dump() + ": " + e.what());
      }
    }
    ROBOTNI_RETURN_IF_ERROR(CheckPatterns(sub));
  }
  return Status::OK();
}

std::string TypeText(const json& s) {
  auto t = s.find("type");
  if (t == s.end()) return "a value";
  if (t->is_string()) return t->get<std::string>();
  std::string out;
  for (const auto& one : *t) out += (out.empty() ? "" : " or ") + one.get<std::string>();
  return out;
}

// ">= 1 and <= 10" from minimum / maximum / exclusive* (draft 7 numbers, draft 4 flags).
std::string NumberRange(const json& s) {
  std::string out;
  auto add = [&](const char* bound, const char* exclusive, const char* incl, const char* excl) {
    const json* limit = nullptr;
    bool strict = false;
    if (auto b = s.find(bound); b != s.end() && b->is_number()) limit = &*b;
    if (auto e = s.find(exclusive); e != s.end()) {
      if (e->is_number()) limit = &*e, strict = true;
      if (e->is_boolean()) strict = e->get<bool>();
    }
    if (!limit) return;
    out += (out.empty() ? "" : " and ") + std::string(strict ? excl : incl) + " " + limit->dump();
  };
  add("minimum", "exclusiveMinimum", ">=", ">");
  add("maximum", "exclusiveMaximum", "<=", "<");
  return out;
}

// "of 1 to 20 characters", "of at least 1 item".
std::string CountRange(const json& s, const char* min_key, const char* max_key, const char* unit) {
  auto min = s.find(min_key), max = s.find(max_key);
  bool has_min = min != s.end() && min->is_number(), has_max = max != s.end() && max->is_number();
  if (has_min && has_max) return "of " + min->dump() + " to " + max->dump() + " " + unit;
  if (has_min) return "of at least " + min->dump() + " " + unit;
  if (has_max) return "of at most " + max->dump() + " " + unit;
  return "";
}

std::string FormatExample(const std::string& format) {
  if (format == "date") return "a date like 2030-01-31";
  if (format == "date-time") return "a date-time like 2030-01-31T13:45:00Z";
  if (format == "time") return "a time like 13:45:00Z";
  return "format " + format;
}

// What the schema `s` at the failing field wanted, from valijson's description of the failure.
std::string Expected(const std::string& description, const json* s) {
  auto starts = [&](std::string_view prefix) { return description.rfind(prefix, 0) == 0; };
  if (!s || !s->is_object()) return description;
  const json& at = *s;
  if (starts("Value type not permitted")) return "expected " + TypeText(at);
  if (starts("Failed to match against any enum") && at.contains("enum"))
    return "expected one of " + Join(at["enum"], ", ");
  if (starts("Failed to match expected value set by 'const'") && at.contains("const"))
    return "expected " + at["const"].dump();
  if (starts("Expected number")) {
    bool integer = at.value("type", json()) == "integer";
    return std::string("expected ") + (integer ? "an integer " : "a number ") + NumberRange(at);
  }
  if (starts("Value should be a multiple of") && at.contains("multipleOf"))
    return "expected a multiple of " + at["multipleOf"].dump();
  if (starts("String should be no"))
    return "expected a string " + CountRange(at, "minLength", "maxLength", "characters");
  if (starts("Array should contain no"))
    return "expected an array " + CountRange(at, "minItems", "maxItems", "items");
  if (starts("Object should have no"))
    return "expected an object " + CountRange(at, "minProperties", "maxProperties", "fields");
  if (starts("Failed to match regex") && at.contains("pattern"))
    return "expected a string matching " + at["pattern"].dump();
  return description;
}

// valijson's context ("<root>", "[address]", "[0]") as a path below `root` and the value and
// schema found there.
struct Where {
  std::string path;
  const json* schema;
};

Where Locate(const std::vector<std::string>& context, const json& value, const json& schema,
             std::string path) {
  const json* v = &value;
  const json* s = Resolve(&schema, schema);
  for (size_t i = 1; i < context.size(); ++i) {
    std::string key = context[i].size() >= 2 ? context[i].substr(1, context[i].size() - 2) : "";
    if (v && v->is_array()) {
      size_t index = std::strtoul(key.c_str(), nullptr, 10);
      path += "[" + key + "]";
      v = index < v->size() ? &(*v)[index] : nullptr;
      s = Resolve(ItemSchema(s, index), schema);
    } else {
      path += "." + key;
      auto m = v && v->is_object() ? v->find(key) : json::const_iterator();
      v = v && v->is_object() && m != v->end() ? &*m : nullptr;
      s = Resolve(MemberSchema(s, key), schema);
    }
  }
  return {path, s};
}

std::string Explain(const valijson::ValidationResults::Error& e, const json& value,
                    const json& schema, const std::string& root) {
  Where at = Locate(e.context, value, schema, root);
  const std::string& d = e.description;
  if (d.rfind("Missing required property", 0) == 0) return at.path + "." + Quoted(d) + ": required";
  if (d.rfind("Object contains a property that could not be validated", 0) == 0) {
    std::string known;
    if (at.schema && at.schema->contains("properties") && (*at.schema)["properties"].is_object())
      for (const auto& [name, sub] : (*at.schema)["properties"].items())
        known += (known.empty() ? "" : ", ") + name;
    return at.path + "." + Quoted(d) + ": unknown field (" +
           (known.empty() ? "none are taken" : "known: " + known) + ")";
  }
  return at.path + ": " + Expected(d, at.schema);
}

// The "date", "time" and "date-time" strings a field's schema (through properties,
// additionalProperties, items, $ref) names (see Impl::has_format).
std::string CheckDates(const json& value, const json* s, const json& root,
                       const std::string& path) {
  s = Resolve(s, root);
  if (!s || !s->is_object()) return "";
  if (value.is_string()) {
    std::string format = s->value("format", "");
    const std::string& text = value.get_ref<const std::string&>();
    bool bad = (format == "date" && !IsIsoDate(text)) ||
               (format == "date-time" && !ParseIsoTime(text)) ||
               (format == "time" && !ParseIsoTime("2000-01-01T" + text));
    return bad ? path + ": expected " + FormatExample(format) : "";
  }
  if (value.is_object()) {
    for (const auto& [key, member] : value.items())
      if (std::string why = CheckDates(member, MemberSchema(s, key), root, path + "." + key);
          !why.empty())
        return why;
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i)
      if (std::string why =
              CheckDates(value[i], ItemSchema(s, i), root, path + "[" + std::to_string(i) + "]");
          !why.empty())
        return why;
  }
  return "";
}

bool IsDateFormat(const json& format) {
  return format.is_string() && (format == "date" || format == "time" || format == "date-time");
}

// `schema` without its date formats (see Impl::has_format); *found says whether it had any.
// Values of data keywords (enum, const, default, examples) are left as they are.
json WithoutDateFormats(const json& schema, bool* found) {
  if (schema.is_array()) {
    json out = json::array();
    for (const auto& sub : schema) out.push_back(WithoutDateFormats(sub, found));
    return out;
  }
  if (!schema.is_object()) return schema;
  json out = json::object();
  for (const auto& [key, sub] : schema.items()) {
    if (key == "format" && IsDateFormat(sub)) {
      *found = true;
      continue;
    }
    bool data = key == "enum" || key == "const" || key == "default" || key == "examples";
    out[key] = data ? sub : WithoutDateFormats(sub, found);
  }
  return out;
}

}  // namespace

JsonSchema::JsonSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSchema::~JsonSchema() = default;

StatusOr<std::shared_ptr<const JsonSchema>> JsonSchema::Compile(const json& schema) {
  if (!schema.is_object()) return Status::InvalidArgument("schema: expected a JSON object");
  auto draft = DraftOf(schema);
  if (!draft.ok()) return draft.status();
  ROBOTNI_RETURN_IF_ERROR(CheckPatterns(schema));
  auto impl = std::make_unique<Impl>();
  impl->source = schema;
  impl->checked = WithoutDateFormats(schema, &impl->has_format);
  try {
    valijson::SchemaParser parser(*draft);
    valijson::adapters::NlohmannJsonAdapter adapter(impl->checked);
    parser.populateSchema(adapter, impl->schema);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("schema: ") + e.what());
  }
  return std::shared_ptr<const JsonSchema>(new JsonSchema(std::move(impl)));
}

std::string JsonSchema::Check(const json& value, const std::string& root) const {
  // Its regex cache (for "pattern") is per validator: one a thread, kept.
  thread_local valijson::Validator validator;
  valijson::adapters::NlohmannJsonAdapter target(value);
  try {
    // The quick pass stops at the first failure; only a failure is checked again for its why.
    if (validator.validate(impl_->schema, target, nullptr)) {
      return impl_->has_format ? CheckDates(value, &impl_->source, impl_->source, root) : "";
    }
    valijson::ValidationResults results;
    validator.validate(impl_->schema, target, &results);
    valijson::ValidationResults::Error first;
    if (!results.popError(first)) return root + ": does not match its schema";
    return Explain(first, value, impl_->source, root);
  } catch (const std::exception& e) {
    return root + ": " + e.what();
  }
}

}  // namespace robotni
