#include "config/yaml_util.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace robotni::config::internal {

namespace {

// The key a line of block YAML defines ("  - name: x" -> "name"), or "" when the line
// defines none. `indent` receives the column where the key starts.
std::string KeyOnLine(std::string_view line, int* indent) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  while (i + 1 < line.size() && line[i] == '-' && (line[i + 1] == ' ' || line[i + 1] == '\t')) {
    i += 2;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  }
  if (i >= line.size() || line[i] == '#' || line[i] == '{' || line[i] == '[') return "";
  *indent = static_cast<int>(i);
  if (line[i] == '"' || line[i] == '\'') {
    char q = line[i];
    size_t end = line.find(q, i + 1);
    if (end == std::string_view::npos || end + 1 >= line.size() || line[end + 1] != ':') return "";
    return std::string(line.substr(i + 1, end - i - 1));
  }
  for (size_t j = i; j < line.size(); ++j) {
    if (line[j] == '#' && j > i && line[j - 1] == ' ') return "";
    if (line[j] == ':' && (j + 1 == line.size() || line[j + 1] == ' ' || line[j + 1] == '\t' ||
                           line[j + 1] == '\r')) {
      std::string key(line.substr(i, j - i));
      while (!key.empty() && key.back() == ' ') key.pop_back();
      return key;
    }
  }
  return "";
}

// Best-effort dotted key path ("tasks.Producer") enclosing 0-based line `err_line`,
// from indentation alone. Used only to give syntax errors some context.
std::string NearestKeyPath(const std::string& text, int err_line) {
  std::vector<std::string_view> lines;
  std::string_view rest(text);
  while (static_cast<int>(lines.size()) <= err_line) {
    size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  std::vector<std::string> keys;
  int limit = 1 << 30;
  for (int l = static_cast<int>(lines.size()) - 1; l >= 0 && limit > 0; --l) {
    int indent = 0;
    std::string key = KeyOnLine(lines[l], &indent);
    if (key.empty() || indent >= limit) continue;
    keys.push_back(key);
    limit = indent;
    if (keys.size() > 16) break;
  }
  std::string out;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    if (!out.empty()) out += '.';
    out += *it;
  }
  return out;
}

// Whether a line up to and including 0-based `err_line` is indented with a tab.
bool LeadingTabBefore(const std::string& text, int err_line) {
  if (err_line < 0) return false;
  int line = 0;
  bool at_start = true;
  for (char c : text) {
    if (line > err_line) break;
    if (c == '\n') {
      ++line;
      at_start = true;
    } else if (at_start && c == '\t') {
      return true;
    } else if (c != ' ') {
      at_start = false;
    }
  }
  return false;
}

}  // namespace

StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    return Status::IOError(path.string() + ": no such file");
  }
  if (std::filesystem::is_directory(st)) {
    return Status::IOError(path.string() + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IOError(path.string() + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return Status::IOError(path.string() + ": read failed: " + std::strerror(errno));
  }
  return buf.str();
}

std::filesystem::path AbsoluteNormal(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) abs = path;
  abs = abs.lexically_normal();
  if (!abs.has_filename() && abs.has_relative_path()) abs = abs.parent_path();
  return abs;
}

StatusOr<YAML::Node> ParseYamlDocument(const std::string& text, const std::string& file,
                                       std::string_view what) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    int col = e.mark.is_null() ? 1 : e.mark.column + 1;
    std::string near = e.mark.is_null() ? "" : NearestKeyPath(text, e.mark.line);
    std::string msg = file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " +
                      std::string(what) + " syntax error";
    if (!near.empty()) msg += " near '" + near + "'";
    msg += ": " + (e.msg.empty() ? std::string(e.what()) : e.msg);
    if (LeadingTabBefore(text, e.mark.line)) msg += " (a tab indents a line; YAML needs spaces)";
    return Status::InvalidArgument(msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(file + ":1: " + std::string(what) + " error: " + e.what());
  }
}

int LineOf(const YAML::Node& node, int fallback) {
  YAML::Mark m = node.Mark();
  if (m.is_null() || m.line < 0) return fallback;
  return m.line + 1;
}

Status ErrorAt(const std::string& file, int line, std::string_view field, std::string_view msg) {
  std::string s = file + ":" + std::to_string(line) + ": ";
  s += field;
  s += ": ";
  s += msg;
  return Status::InvalidArgument(s);
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a string";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

namespace {

bool IsMergeKey(const YAML::Node& key) {
  return key.IsScalar() && key.Scalar() == "<<" && key.Tag() != "!";
}

void AddMerged(const YAML::Node& map, int depth, std::set<std::string>* seen,
               std::vector<std::pair<YAML::Node, YAML::Node>>* out) {
  if (depth > 32 || !map.IsMap()) return;
  std::vector<YAML::Node> merges;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (IsMergeKey(it->first)) {
      merges.push_back(it->second);
      continue;
    }
    if (it->first.IsScalar()) {
      if (!seen->insert(it->first.Scalar()).second) {
        if (depth > 0) continue;  // an explicit key overrides a merged one
      }
    }
    out->emplace_back(it->first, it->second);
  }
  for (const YAML::Node& m : merges) {
    if (m.IsMap()) {
      AddMerged(m, depth + 1, seen, out);
    } else if (m.IsSequence()) {
      for (const YAML::Node& item : m) AddMerged(item, depth + 1, seen, out);
    }
  }
}

}  // namespace

std::vector<std::pair<YAML::Node, YAML::Node>> MapEntries(const YAML::Node& map) {
  std::vector<std::pair<YAML::Node, YAML::Node>> out;
  std::set<std::string> seen;
  AddMerged(map, 0, &seen, &out);
  return out;
}

std::string ScalarText(const YAML::Node& node) {
  if (!node.IsScalar()) return "";
  return node.Scalar();
}

Status ReadStringList(const YAML::Node& node, const std::string& file, int key_line,
                      const std::string& field, std::vector<std::string>* out) {
  out->clear();
  if (!node.IsDefined() || node.IsNull()) return Status::OK();
  int line = LineOf(node, key_line);
  if (!node.IsSequence()) {
    return ErrorAt(file, line, field,
                   std::string("expected a list of strings, found ") + KindName(node));
  }
  size_t i = 0;
  for (const YAML::Node& item : node) {
    if (item.IsScalar()) {
      out->push_back(item.Scalar());
    } else if (item.IsNull()) {
      out->emplace_back();
    } else {
      return ErrorAt(file, LineOf(item, line), field + "[" + std::to_string(i) + "]",
                     std::string("expected a string, found ") + KindName(item));
    }
    ++i;
  }
  return Status::OK();
}

Status ReadString(const YAML::Node& node, const std::string& file, int key_line,
                  const std::string& field, std::string* out) {
  out->clear();
  if (!node.IsDefined() || node.IsNull()) return Status::OK();
  if (!node.IsScalar()) {
    return ErrorAt(file, LineOf(node, key_line), field,
                   std::string("expected a string, found ") + KindName(node));
  }
  *out = node.Scalar();
  return Status::OK();
}

}  // namespace robotni::config::internal
