// Tests for JSON Schema checks (core/json_schema.h, valijson): what passes, and that a refusal
// names the field and what was expected.

#include "core/json_schema.h"

#include <gtest/gtest.h>

#include <string>

namespace robotni {
namespace {

using nlohmann::json;

std::shared_ptr<const JsonSchema> Compiled(const char* schema) {
  auto c = JsonSchema::Compile(json::parse(schema));
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : nullptr;
}

constexpr const char* kOrder = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "qty": {"type": "integer", "minimum": 1, "maximum": 100},
    "price": {"type": "number", "exclusiveMinimum": 0},
    "color": {"enum": ["red", "green"]},
    "name": {"type": "string", "minLength": 1, "maxLength": 5},
    "when": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"},
    "mail": {"type": "string", "format": "email"},
    "address": {"$ref": "#/definitions/address"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
  },
  "required": ["qty"],
  "additionalProperties": false,
  "definitions": {
    "address": {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["zip"], "additionalProperties": false}
  }
})";

std::string Check(const char* params) {
  static auto schema = Compiled(kOrder);
  return schema->Check(json::parse(params), "params");
}

TEST(JsonSchemaTest, ConformingParamsPass) {
  EXPECT_EQ(Check(R"({"qty": 1})"), "");
  EXPECT_EQ(Check(R"({"qty": 100, "price": 0.5, "color": "red", "name": "abcde",
                      "when": "2024-02-29T12:00:00+02:00", "day": "2024-02-29",
                      "mail": "not checked", "address": {"zip": "12345"}, "tags": ["a"]})"),
            "");
}

TEST(JsonSchemaTest, RefusalsNameTheFieldAndWhatWasExpected) {
  EXPECT_EQ(Check("{}"), "params.qty: required");
  EXPECT_EQ(Check("[1]"), "params: expected object");
  EXPECT_EQ(Check(R"({"qty": "1"})"), "params.qty: expected integer");
  EXPECT_EQ(Check(R"({"qty": 1.5})"), "params.qty: expected integer");
  EXPECT_EQ(Check(R"({"qty": 0})"), "params.qty: expected an integer >= 1 and <= 100");
  EXPECT_EQ(Check(R"({"qty": 101})"), "params.qty: expected an integer >= 1 and <= 100");
  EXPECT_EQ(Check(R"({"qty": 1, "price": 0})"), "params.price: expected a number > 0");
  EXPECT_EQ(Check(R"({"qty": 1, "color": "blue"})"),
            R"(params.color: expected one of "red", "green")");
  EXPECT_EQ(Check(R"({"qty": 1, "name": ""})"),
            "params.name: expected a string of 1 to 5 characters");
  EXPECT_EQ(Check(R"({"qty": 1, "extra": 2})"),
            "params.extra: unknown field (known: address, color, day, mail, name, price, qty, "
            "tags, when)");
  EXPECT_EQ(Check(R"({"qty": 1, "tags": ["a", "b", "c"]})"),
            "params.tags: expected an array of at most 2 items");
}

TEST(JsonSchemaTest, NestedFieldsArePaths) {
  EXPECT_EQ(Check(R"({"qty": 1, "address": {}})"), "params.address.zip: required");
  EXPECT_EQ(Check(R"({"qty": 1, "address": {"zip": 12345}})"),
            "params.address.zip: expected string");
  EXPECT_EQ(Check(R"({"qty": 1, "address": {"zip": "1234"}})"),
            R"(params.address.zip: expected a string matching "^[0-9]{5}$")");
  EXPECT_EQ(Check(R"({"qty": 1, "address": {"zip": "12345", "city": "x"}})"),
            "params.address.city: unknown field (known: zip)");
  EXPECT_EQ(Check(R"({"qty": 1, "tags": ["a", 2]})"), "params.tags[1]: expected string");
}

TEST(JsonSchemaTest, DateFormatsAreStrict) {
  const std::string date_time = "params.when: expected a date-time like 2030-01-31T13:45:00Z";
  EXPECT_EQ(Check(R"({"qty": 1, "when": "2030-02-31T00:00:00Z"})"), date_time);
  EXPECT_EQ(Check(R"({"qty": 1, "when": "2023-02-29T00:00:00Z"})"),
            date_time);  // valijson takes it
  EXPECT_EQ(Check(R"({"qty": 1, "when": "2030-01-01T24:00:00Z"})"), date_time);
  EXPECT_EQ(Check(R"({"qty": 1, "when": "2030-01-01"})"), date_time);
  EXPECT_EQ(Check(R"({"qty": 1, "day": "2023-02-29"})"),
            "params.day: expected a date like 2030-01-31");
}

TEST(JsonSchemaTest, TimesAndFormatsInItemsAndRefsAreChecked) {
  auto s = Compiled(R"({"definitions": {"slot": {"type": "string", "format": "time"}},
                        "type": "object",
                        "properties": {"slots": {"type": "array", "items": {"$ref": "#/definitions/slot"}},
                                       "mail": {"type": "string", "format": "email"},
                                       "enum_data": {"enum": [{"format": "date"}]}}})");
  EXPECT_EQ(s->Check(json::parse(R"({"slots": ["13:45:00Z", "08:00:00.5+02:00"]})"), "params"), "");
  EXPECT_EQ(s->Check(json::parse(R"({"slots": ["13:45:00Z", "24:00:00Z"]})"), "params"),
            "params.slots[1]: expected a time like 13:45:00Z");
  EXPECT_EQ(s->Check(json::parse(R"({"slots": ["13:45"]})"), "params"),
            "params.slots[0]: expected a time like 13:45:00Z");
  EXPECT_EQ(s->Check(json::parse(R"({"mail": "no check of email"})"), "params"), "");
  // An enum's values are data, not schemas: its "format" is a value to match.
  EXPECT_EQ(s->Check(json::parse(R"({"enum_data": {"format": "date"}})"), "params"), "");
  EXPECT_EQ(s->Check(json::parse(R"({"enum_data": {"format": "x"}})"), "params"),
            R"(params.enum_data: expected one of {"format":"date"})");
}

TEST(JsonSchemaTest, WithoutTheKeywordsAnythingGoes) {
  auto open = Compiled(R"({"type": "object"})");
  EXPECT_EQ(open->Check(json::parse(R"({"any": [1, {"thing": null}]})"), "params"), "");
  auto empty = Compiled("{}");
  EXPECT_EQ(empty->Check(json(5), "params"), "");
}

TEST(JsonSchemaTest, Draft4IsReadWhenNamed) {
  auto d4 = Compiled(R"({"$schema": "http://json-schema.org/draft-04/schema#",
                         "properties": {"n": {"type": "number", "maximum": 5,
                                              "exclusiveMaximum": true}}})");
  EXPECT_EQ(d4->Check(json::parse(R"({"n": 4})"), "params"), "");
  EXPECT_EQ(d4->Check(json::parse(R"({"n": 5})"), "params"), "params.n: expected a number < 5");
}

TEST(JsonSchemaTest, SchemasValijsonCannotReadAreRefused) {
  for (const char* bad : {R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})",
                          R"({"type": "nope"})", R"({"properties": {"a": {"pattern": "("}}})",
                          R"({"$ref": "http://example.com/s.json"})", "[]", "5"}) {
    auto c = JsonSchema::Compile(json::parse(bad));
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().message().rfind("schema", 0), 0u) << c.status().message();
    }
  }
}

}  // namespace
}  // namespace robotni
