#include "service/env_check.h"

#include <Python.h>
#include <unistd.h>

#include <cstdlib>

#include "python/interpreter.h"
#include "python/module_probe.h"

namespace robotni::service {

namespace fs = std::filesystem;
using Kind = config::DependencyCheck::Kind;
using State = DependencyStatus::State;

namespace {

// The first executable `program` in the robot's PATH entries, then the process's PATH.
std::string FindProgram(const std::string& program, const config::RobotYaml& robot) {
  std::vector<std::string> dirs;
  for (const auto& p : robot.AbsolutePath()) dirs.push_back(p.string());
  if (const char* path = getenv("PATH")) {
    std::string s = path;
    for (size_t start = 0;;) {
      size_t colon = s.find(':', start);
      dirs.push_back(s.substr(start, colon == std::string::npos ? colon : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  for (const auto& d : dirs) {
    fs::path candidate = fs::path(d.empty() ? "." : d) / program;
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate))
      return candidate.string();
  }
  return "";
}

// Whether `version` meets the check's spec; sets the state and detail when it does not.
void CheckVersion(DependencyStatus* s) {
  if (s->check.version_spec.empty() || s->version.empty()) return;
  int major = 0, minor = 0, micro = 0;
  if (!config::NumericVersion(s->version, &major, &minor, &micro)) return;
  auto ok = config::VersionSpecAllows(s->check.version_spec, major, minor, micro);
  if (!ok.ok()) {
    s->detail += (s->detail.empty() ? "" : "; ") + std::string("cannot check \"") +
                 s->check.version_spec + "\": " + ok.status().message();
  } else if (!*ok) {
    s->state = State::kWrongVersion;
    s->detail = "wants " + s->check.version_spec;
  }
}

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kOk:
      return "ok";
    case State::kMissing:
      return "missing";
    case State::kWrongVersion:
      return "wrong-version";
    case State::kSkipped:
      return "skipped";
  }
  return "?";
}

StatusOr<std::vector<DependencyStatus>> CheckDependencies(const config::CondaYaml& conda,
                                                          const config::RobotYaml& robot) {
  std::vector<DependencyStatus> out;
  std::vector<python::ModuleQuery> queries;
  std::vector<size_t> queried;  // index in `out` of each query
  for (const auto& check : config::PlanDependencyChecks(conda)) {
    DependencyStatus s;
    s.check = check;
    switch (check.kind) {
      case Kind::kSkip:
        s.state = State::kSkipped;
        s.detail = check.note;
        break;
      case Kind::kPython:
        s.version = PY_VERSION;
        s.detail = "the embedded CPython";
        CheckVersion(&s);
        break;
      case Kind::kProgram:
        s.detail = FindProgram(check.target, robot);
        if (s.detail.empty()) {
          s.state = State::kMissing;
          s.detail = check.target + " not on PATH";
        } else if (!check.version_spec.empty()) {
          s.detail += " (a program: its version is not checked)";
        }
        break;
      case Kind::kModule:
        queried.push_back(out.size());
        queries.push_back({check.target, check.distribution});
        break;
    }
    out.push_back(std::move(s));
  }
  if (queries.empty()) return out;
  std::vector<std::string> path;
  for (const auto& p : robot.AbsolutePythonPath()) path.push_back(p.string());
  auto probes = python::ProbeModules(queries, path);
  if (!probes.ok()) return probes.status();
  const std::string shims = (python::InterpreterHost::PythonDir() / "shims").string();
  for (size_t i = 0; i < queried.size(); ++i) {
    DependencyStatus& s = out[queried[i]];
    const python::ModuleProbe& p = (*probes)[i];
    if (!p.found) {
      s.state = State::kMissing;
      s.detail = "module " + s.check.target + " not importable" +
                 (p.error.empty() ? "" : " (" + p.error + ")");
      continue;
    }
    s.version = p.version;
    s.detail = "module " + s.check.target + " from " + p.origin;
    if (p.origin.rfind(shims, 0) == 0) s.detail += " (robotni's own)";
    CheckVersion(&s);
  }
  return out;
}

std::string ProblemsLine(const config::CondaYaml& conda,
                         const std::vector<DependencyStatus>& statuses) {
  std::string list;
  int problems = 0, checked = 0;
  for (const auto& s : statuses) {
    // python has its own warning (config::CondaWarnings), with the series it runs.
    if (s.check.kind == Kind::kPython) continue;
    if (s.state != State::kSkipped) ++checked;
    if (!s.problem()) continue;
    ++problems;
    list += (list.empty() ? "" : ", ") + s.check.name + " (" +
            (s.state == State::kWrongVersion ? s.version + ", " : "") + s.detail + ")";
  }
  if (problems == 0) return "";
  return conda.path.string() + ": " + std::to_string(problems) + " of " + std::to_string(checked) +
         " dependencies missing for the embedded CPython: " + list + "; see `robotni env check`";
}

}  // namespace robotni::service
