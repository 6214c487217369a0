#ifndef ROBOTNI_RUNTIME_CORE_JSON_LIMITS_H_
#define ROBOTNI_RUNTIME_CORE_JSON_LIMITS_H_

// How deep JSON from outside (HTTP bodies, work-item files, payloads and results from tasks,
// worker frames) may nest. nlohmann's parser and destructor are iterative, but copying,
// dumping and comparing a value recurse once per level: 70,000 nested arrays (~140 KB)
// overflowed serve's stack. Text is checked with JsonDepthProblem before it is parsed into a
// value that anything copies; the check is a SAX pass with no recursion, stopping at the
// first level past the limit. docs/serve.md ("Limits") lists the limits.
// Thread-safety: plain functions.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace robotni {

// Levels of arrays and objects: {"a": [1]} is 2 deep. Python's json module (recursion limit
// 1000) writes and reads this deep with room to spare.
inline constexpr int kMaxJsonDepth = 128;

// "" when `text` is valid JSON nested no deeper than `max_depth`; else why not, e.g.
// "is nested deeper than 128 levels (the limit)" or "is not valid JSON".
std::string JsonDepthProblem(std::string_view text, int max_depth = kMaxJsonDepth);

// True when `text` nests deeper than `max_depth` (whether or not the rest of it is valid
// JSON), for callers that report invalid JSON in words of their own.
bool JsonNestedTooDeep(std::string_view text, int max_depth = kMaxJsonDepth);

// Parses `text` into *out in one pass, refusing nesting past `max_depth` as it goes (the check
// and then the parse each read the text: hot paths parse a frame or a body per job). False,
// with *out discarded, when it is not valid JSON or (*too_deep, when given) nests too deep.
bool ParseJsonWithin(std::string_view text, nlohmann::json* out, bool* too_deep = nullptr,
                     int max_depth = kMaxJsonDepth);

// The message for text that nests too deep: "is nested deeper than 128 levels (the limit)".
std::string JsonTooDeepMessage(int max_depth = kMaxJsonDepth);

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_CORE_JSON_LIMITS_H_
