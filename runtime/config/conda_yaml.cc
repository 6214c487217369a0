#include "config/conda_yaml.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "config/yaml_util.h"

#if __has_include(<patchlevel.h>)
#include <patchlevel.h>
#endif
#ifndef PY_MAJOR_VERSION
#define PY_MAJOR_VERSION 3
#define PY_MINOR_VERSION 11
#define PY_MICRO_VERSION 2
#endif

namespace robotni::config {

namespace {

using internal::ErrorAt;
using internal::KindName;
using internal::LineOf;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// rcc's dependencyPattern: name, then an operator made of <=~!>, then the versions.
struct Dependency {
  std::string name;
  std::string qualifier;
  std::string versions;
};

Dependency SplitDependency(const std::string& spec) {
  Dependency d;
  std::string s = Trim(spec);
  size_t i = 0;
  while (i < s.size() && std::string_view("<=~!> ").find(s[i]) == std::string_view::npos) ++i;
  d.name = s.substr(0, i);
  while (i < s.size() && s[i] == ' ') ++i;
  size_t q = i;
  while (i < s.size() && std::string_view("<=~!>").find(s[i]) != std::string_view::npos) ++i;
  d.qualifier = s.substr(q, i - q);
  while (i < s.size() && s[i] == ' ') ++i;
  d.versions = Trim(s.substr(i));
  return d;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "3.11.2" -> {3,11,2}; `wildcard` set for "3.11.*"/"3.11*". False on anything else.
bool ParseVersion(std::string v, std::vector<int>* parts, bool* wildcard) {
  parts->clear();
  *wildcard = false;
  if (!v.empty() && v.back() == '*') {
    *wildcard = true;
    v.pop_back();
    if (!v.empty() && v.back() == '.') v.pop_back();
  }
  if (v.empty()) return *wildcard;
  size_t i = 0;
  while (i <= v.size()) {
    size_t dot = v.find('.', i);
    std::string comp = v.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    if (comp.empty() || comp.size() > 6) return false;
    for (char c : comp) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    parts->push_back(std::stoi(comp));
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  return !parts->empty();
}

int Compare(const std::vector<int>& a, const std::vector<int>& b) {
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int x = i < a.size() ? a[i] : 0;
    int y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool PrefixMatches(const std::vector<int>& want, const std::vector<int>& have) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (i >= have.size() || want[i] != have[i]) return false;
  }
  return true;
}

StatusOr<bool> ConstraintAllows(std::string c, const std::vector<int>& have) {
  c = Trim(c);
  std::string op;
  for (const char* candidate : {">=", "<=", "==", "!=", "~=", ">", "<", "="}) {
    if (c.rfind(candidate, 0) == 0) {
      op = candidate;
      break;
    }
  }
  std::string v = Trim(c.substr(op.size()));
  // A conda build string ("3.11.2=h1234_0" or "3.11.2 h1234_0") does not matter here.
  size_t cut = v.find_first_of("= ");
  if (cut != std::string::npos) v = v.substr(0, cut);
  std::vector<int> want;
  bool wildcard = false;
  if (!ParseVersion(v, &want, &wildcard)) {
    return Status::InvalidArgument("cannot read version \"" + v + "\" in \"" + c + "\"");
  }
  if (op.empty() || op == "=") return PrefixMatches(want, have);
  if (op == "==") return wildcard ? PrefixMatches(want, have) : Compare(have, want) == 0;
  if (op == "!=") return wildcard ? !PrefixMatches(want, have) : Compare(have, want) != 0;
  if (op == ">=") return Compare(have, want) >= 0;
  if (op == "<=") return Compare(have, want) <= 0;
  if (op == ">") return Compare(have, want) > 0;
  if (op == "<") return Compare(have, want) < 0;
  // "~=X.Y.Z": >= X.Y.Z and == X.Y.*
  if (want.size() < 2) return Status::InvalidArgument("~= needs at least two parts: " + c);
  std::vector<int> prefix(want.begin(), want.end() - 1);
  return Compare(have, want) >= 0 && PrefixMatches(prefix, have);
}

}  // namespace

StatusOr<bool> VersionSpecAllows(const std::string& spec, int major, int minor, int micro) {
  const std::vector<int> have = {major, minor, micro};
  if (Trim(spec).empty()) return true;
  size_t start = 0;
  while (true) {  // alternatives separated by '|'
    size_t bar = spec.find('|', start);
    std::string alt =
        spec.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    bool all = true;
    size_t cstart = 0;
    while (true) {  // constraints separated by ','
      size_t comma = alt.find(',', cstart);
      StatusOr<bool> ok = ConstraintAllows(
          alt.substr(cstart, comma == std::string::npos ? std::string::npos : comma - cstart),
          have);
      if (!ok.ok()) return ok.status();
      all = all && *ok;
      if (comma == std::string::npos) break;
      cstart = comma + 1;
    }
    if (all) return true;
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return false;
}

StatusOr<CondaYaml> LoadCondaYaml(const std::filesystem::path& path) {
  std::filesystem::path abs = internal::AbsoluteNormal(path);
  StatusOr<std::string> text = internal::ReadWholeFile(abs);
  if (!text.ok()) return text.status();
  return ParseCondaYaml(*text, abs);
}

StatusOr<CondaYaml> ParseCondaYaml(const std::string& text, const std::filesystem::path& path) {
  CondaYaml conda;
  conda.path = internal::AbsoluteNormal(path);
  const std::string file = conda.path.string();
  auto note = [&](int line, const std::string& field, const std::string& text) {
    conda.notes.push_back(file + ":" + std::to_string(line) + ": " + field + ": " + text);
  };
  try {
    StatusOr<YAML::Node> doc = internal::ParseYamlDocument(text, file, "YAML");
    if (!doc.ok()) return doc.status();
    if (!doc->IsDefined() || doc->IsNull()) return conda;
    if (!doc->IsMap()) {
      return ErrorAt(
          file, LineOf(*doc, 1), "conda.yaml",
          std::string("expected a map (channels, dependencies, ...), found ") + KindName(*doc));
    }
    for (const auto& [key, val] : internal::MapEntries(*doc)) {
      int line = LineOf(key, 1);
      if (!key.IsScalar()) {
        note(line, "conda.yaml", std::string("ignored a key that is ") + KindName(key));
        continue;
      }
      const std::string& name = key.Scalar();
      if (name == "name") {
        ROBOTNI_RETURN_IF_ERROR(internal::ReadString(val, file, line, name, &conda.name));
      } else if (name == "channels") {
        ROBOTNI_RETURN_IF_ERROR(internal::ReadStringList(val, file, line, name, &conda.channels));
      } else if (name == "rccPostInstall") {
        ROBOTNI_RETURN_IF_ERROR(
            internal::ReadStringList(val, file, line, name, &conda.rcc_post_install));
      } else if (name == "dependencies") {
        conda.dependencies.clear();
        conda.pip.clear();
        if (val.IsNull()) continue;
        if (!val.IsSequence()) {
          return ErrorAt(file, LineOf(val, line), name,
                         std::string("expected a list, found ") + KindName(val));
        }
        size_t i = 0;
        for (const YAML::Node& item : val) {
          const std::string field = "dependencies[" + std::to_string(i++) + "]";
          int iline = LineOf(item, line);
          if (item.IsScalar()) {
            conda.dependencies.push_back(item.Scalar());
          } else if (item.IsNull()) {
            note(iline, field, "empty entry ignored");
          } else if (item.IsMap()) {
            for (const auto& [mkey, mval] : internal::MapEntries(item)) {
              int mline = LineOf(mkey, iline);
              if (mkey.IsScalar() && mkey.Scalar() == "pip") {
                std::vector<std::string> pip;
                ROBOTNI_RETURN_IF_ERROR(
                    internal::ReadStringList(mval, file, mline, field + ".pip", &pip));
                conda.pip.insert(conda.pip.end(), pip.begin(), pip.end());
              } else {
                note(mline, field,
                     "only a `pip:` list is understood here; " +
                         (mkey.IsScalar() ? "`" + mkey.Scalar() + ":`" : "this entry") +
                         " is ignored (as rcc does)");
              }
            }
          } else {
            return ErrorAt(file, iline, field,
                           std::string("expected a conda spec string or a `pip:` map, found ") +
                               KindName(item));
          }
        }
      } else if (name == "prefix") {
        note(line, name, "ignored (as rcc does)");
      } else {
        note(line, name, "unknown key, ignored");
      }
    }
  } catch (const YAML::Exception& e) {
    return ErrorAt(file, e.mark.is_null() ? 1 : e.mark.line + 1, "conda.yaml", e.what());
  } catch (const std::exception& e) {
    return ErrorAt(file, 1, "conda.yaml", e.what());
  }
  for (const std::string& dep : conda.dependencies) {
    Dependency d = SplitDependency(dep);
    if (Lower(d.name) != "python") continue;
    conda.python_spec =
        (d.qualifier.empty() || d.qualifier == "=") ? d.versions : d.qualifier + d.versions;
    break;
  }
  return conda;
}

std::vector<std::string> CondaWarnings(const CondaYaml& conda, bool list_packages) {
  std::vector<std::string> out;
  const std::string file = conda.path.string();
  const std::string embedded = std::to_string(PY_MAJOR_VERSION) + "." +
                               std::to_string(PY_MINOR_VERSION) + "." +
                               std::to_string(PY_MICRO_VERSION);
  if (!conda.python_spec.empty()) {
    StatusOr<bool> exact =
        VersionSpecAllows(conda.python_spec, PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MICRO_VERSION);
    if (!exact.ok()) {
      out.push_back(file + ": cannot check python spec \"" + conda.python_spec +
                    "\" against the embedded CPython " + embedded + ": " +
                    exact.status().message());
    } else if (!*exact) {
      // Same minor series with any patch level?
      bool same_series = false;
      for (int micro = 0; micro < 100 && !same_series; ++micro) {
        StatusOr<bool> m =
            VersionSpecAllows(conda.python_spec, PY_MAJOR_VERSION, PY_MINOR_VERSION, micro);
        same_series = m.ok() && *m;
      }
      std::string series =
          std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
      if (same_series) {
        out.push_back(file + ": conda.yaml asks for python \"" + conda.python_spec +
                      "\"; robotni runs tasks on the embedded CPython " + embedded + " (same " +
                      series + " series, a different patch release)");
      } else {
        out.push_back(file + ": conda.yaml asks for python \"" + conda.python_spec +
                      "\", which the embedded CPython " + embedded +
                      " does not satisfy; code that needs another Python version may fail");
      }
    }
  }
  if (list_packages && !conda.pip.empty()) {
    std::string list;
    for (size_t i = 0; i < conda.pip.size() && i < 8; ++i) list += (i ? ", " : "") + conda.pip[i];
    if (conda.pip.size() > 8) list += ", ... (" + std::to_string(conda.pip.size()) + " in all)";
    out.push_back(file + ": conda.yaml lists pip packages (" + list +
                  "); robotni does not install them, they must already be importable by the "
                  "embedded CPython " +
                  embedded);
  }
  // Conda packages besides python and pip: nothing here installs them (a Debian package may
  // provide the same program or module).
  std::vector<std::string> others;
  for (const std::string& d : conda.dependencies) {
    std::string name = d.substr(0, d.find_first_of("=<>!~ "));
    if (name != "python" && name != "pip") others.push_back(d);
  }
  if (list_packages && !others.empty()) {
    std::string list;
    for (size_t i = 0; i < others.size() && i < 8; ++i) list += (i ? ", " : "") + others[i];
    if (others.size() > 8) list += ", ... (" + std::to_string(others.size()) + " in all)";
    out.push_back(file + ": conda.yaml lists conda packages (" + list +
                  "); robotni installs none of them: what the tasks need from them must already "
                  "be on this machine");
  }
  if (!conda.rcc_post_install.empty()) {
    out.push_back(file + ": rccPostInstall has " + std::to_string(conda.rcc_post_install.size()) +
                  " command(s); robotni builds no environment and does not run them");
  }
  out.insert(out.end(), conda.notes.begin(), conda.notes.end());
  return out;
}

}  // namespace robotni::config
