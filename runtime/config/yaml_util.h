#ifndef ROBOTNI_RUNTIME_CONFIG_YAML_UTIL_H_
#define ROBOTNI_RUNTIME_CONFIG_YAML_UTIL_H_

// Internal helpers shared by robot_yaml.cc, conda_yaml.cc and env_json.cc: reading a
// file into memory, parsing YAML without letting a yaml-cpp exception escape, and
// building "file:line: field: message" errors.
// Thread-safety: free functions over values; no global state.

// GCC 12 reports -Wdangling-pointer false positives inside yaml-cpp 0.7's node/impl.h.
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <yaml-cpp/yaml.h>
#pragma GCC diagnostic pop

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "robotni/status.h"

namespace robotni::config::internal {

// Reads the whole file. IOError (naming the path and the reason) when it is missing,
// a directory or unreadable.
StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path);

// The absolute, lexically normalised form of `path` (no exception; falls back to
// `path` itself when the current directory cannot be read).
std::filesystem::path AbsoluteNormal(const std::filesystem::path& path);

// Parses one YAML document. `what` names the format in syntax errors ("YAML",
// "JSON"). Only the first document is read (as rcc does). Syntax errors and too-deep
// nesting are InvalidArgument
// "file:line:col: <what> syntax error[ near 'a.b']: msg". Never throws.
StatusOr<YAML::Node> ParseYamlDocument(const std::string& text, const std::string& file,
                                       std::string_view what);

// 1-based line of `node`, or `fallback` when yaml-cpp has no mark for it (null nodes).
int LineOf(const YAML::Node& node, int fallback);

// InvalidArgument "file:line: field: msg".
Status ErrorAt(const std::string& file, int line, std::string_view field, std::string_view msg);

// "a map", "a list", "a string", "null": for "expected X, found Y" messages.
const char* KindName(const YAML::Node& node);

// The entries of a map with YAML merge keys (`<<: *alias` or `<<: [*a, *b]`) expanded,
// which yaml.v2 (rcc) supports and yaml-cpp 0.7 does not: explicit keys first, in file
// order, then merged keys not already present. Non-map input gives no entries.
std::vector<std::pair<YAML::Node, YAML::Node>> MapEntries(const YAML::Node& map);

// A scalar's text as written (yaml.v2 turns any scalar into a string field this way);
// null is "". Callers check IsScalar()/IsNull() first.
std::string ScalarText(const YAML::Node& node);

// Reads a list of strings (rcc []string): null -> empty; scalar items -> their text;
// null items -> ""; anything else is InvalidArgument naming `field` or `field[i]`.
Status ReadStringList(const YAML::Node& node, const std::string& file, int key_line,
                      const std::string& field, std::vector<std::string>* out);

// Reads a single string (rcc string): scalar -> text, null -> "", else InvalidArgument.
Status ReadString(const YAML::Node& node, const std::string& file, int key_line,
                  const std::string& field, std::string* out);

}  // namespace robotni::config::internal

#endif  // ROBOTNI_RUNTIME_CONFIG_YAML_UTIL_H_
