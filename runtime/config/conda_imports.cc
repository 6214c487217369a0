#include "config/conda_imports.h"

#include <cctype>
#include <map>

namespace robotni::config {

namespace {

// Distributions whose module is not their name with '-' -> '_'.
const std::map<std::string, std::string>& ModuleRenames() {
  static const std::map<std::string, std::string> renames = {
      {"attrs", "attr"},
      {"beautifulsoup4", "bs4"},
      {"msgpack-python", "msgpack"},
      {"opencv", "cv2"},
      {"opencv-python", "cv2"},
      {"opencv-python-headless", "cv2"},
      {"pillow", "PIL"},
      {"protobuf", "google.protobuf"},
      {"py-opencv", "cv2"},
      {"pyopenssl", "OpenSSL"},
      {"pytables", "tables"},
      {"python-dateutil", "dateutil"},
      {"python-dotenv", "dotenv"},
      {"pywin32", "win32api"},
      {"pyyaml", "yaml"},
      {"pyzmq", "zmq"},
      {"robotframework", "robot"},
      {"rpaframework", "RPA"},
      {"scikit-learn", "sklearn"},
  };
  return renames;
}

// conda packages that are programs, not Python packages.
const std::map<std::string, std::string>& Programs() {
  static const std::map<std::string, std::string> programs = {
      {"ffmpeg", "ffmpeg"},       {"git", "git"}, {"graphviz", "dot"}, {"nodejs", "node"},
      {"tesseract", "tesseract"}, {"uv", "uv"},
  };
  return programs;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

DependencyCheck Plan(const std::string& source, const std::string& spec) {
  DependencyCheck c;
  c.source = source;
  c.spec = spec;
  std::string s = Trim(spec);
  if (source == "pip" && (s.empty() || s[0] == '-' || s[0] == '.' || s[0] == '/' ||
                          s.find("://") != std::string::npos || s.rfind("git+", 0) == 0)) {
    c.kind = DependencyCheck::Kind::kSkip;
    c.name = s;
    c.note = "not a package name (a URL, a path or a pip option)";
    return c;
  }
  if (auto colons = s.find("::"); colons != std::string::npos) s = s.substr(colons + 2);
  size_t end = s.find_first_of("[=<>!~ ;@(");
  c.name = Lower(s.substr(0, end));
  std::string rest = end == std::string::npos ? "" : s.substr(end);
  if (!rest.empty() && rest[0] == '[')
    rest = rest.substr(std::min(rest.size(), rest.find(']') + 1));
  rest = Trim(rest.substr(0, rest.find(';')));  // a pip environment marker
  if (source == "conda") {
    // conda's "=ver" is a prefix match (VersionSpecAllows reads a bare version so), and a
    // build string after a second '=' or a space does not matter here.
    if (rest.size() > 1 && rest[0] == '=' && rest[1] != '=') rest = rest.substr(1);
    if (auto cut = rest.find_first_of("= ", rest.find_first_not_of("=<>!~"));
        cut != std::string::npos)
      rest = rest.substr(0, cut);
  }
  c.version_spec = rest;
  std::string key = c.name;
  for (char& ch : key) ch = ch == '_' ? '-' : ch;
  if (key == "python") {
    c.kind = DependencyCheck::Kind::kPython;
  } else if (key == "pip") {
    c.kind = DependencyCheck::Kind::kSkip;
    c.note = "robotni installs nothing with pip";
  } else if (auto p = Programs().find(key); source == "conda" && p != Programs().end()) {
    c.kind = DependencyCheck::Kind::kProgram;
    c.target = p->second;
  } else {
    c.kind = DependencyCheck::Kind::kModule;
    c.distribution = c.name;
    if (auto r = ModuleRenames().find(key); r != ModuleRenames().end()) {
      c.target = r->second;
    } else if (key.rfind("robocorp-", 0) == 0 && key.size() > 9) {
      c.target = "robocorp." + key.substr(9);
    } else {
      c.target = key;
    }
    for (char& ch : c.target) ch = ch == '-' ? '_' : ch;
  }
  return c;
}

}  // namespace

std::vector<DependencyCheck> PlanDependencyChecks(const CondaYaml& conda) {
  std::vector<DependencyCheck> out;
  for (const std::string& d : conda.dependencies) out.push_back(Plan("conda", d));
  for (const std::string& p : conda.pip) out.push_back(Plan("pip", p));
  return out;
}

bool NumericVersion(const std::string& version, int* major, int* minor, int* micro) {
  int parts[3] = {0, 0, 0};
  size_t i = 0;
  for (int k = 0; k < 3 && i < version.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(version[i]))) {
      if (k == 0) return false;
      break;
    }
    int v = 0;
    while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i])) &&
           v < 100000000)
      v = v * 10 + (version[i++] - '0');
    parts[k] = v;
    while (i < version.size() && version[i] != '.') ++i;  // "0rc1": the rest of the part
    if (i < version.size()) ++i;
  }
  *major = parts[0];
  *minor = parts[1];
  *micro = parts[2];
  return true;
}

}  // namespace robotni::config
