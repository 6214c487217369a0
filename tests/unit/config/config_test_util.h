#ifndef ROBOTNI_TESTS_UNIT_CONFIG_CONFIG_TEST_UTIL_H_
#define ROBOTNI_TESTS_UNIT_CONFIG_CONFIG_TEST_UTIL_H_

// Helpers for the runtime/config tests: fixture paths, temporary robot directories.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace robotni::config::testing {

inline std::filesystem::path FixtureDir() {
  return std::filesystem::path(ROBOTNI_SOURCE_DIR) / "tests" / "fixtures" / "yaml";
}

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "robotni-config-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    path_ = made ? std::filesystem::path(made) : std::filesystem::path();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path Write(const std::string& name, const std::string& content) const {
    std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace robotni::config::testing

#endif  // ROBOTNI_TESTS_UNIT_CONFIG_CONFIG_TEST_UTIL_H_
