#ifndef ROBOTNI_TESTS_SUPPORT_STORE_BACKENDS_H_
#define ROBOTNI_TESTS_SUPPORT_STORE_BACKENDS_H_

// The store backends a test suite runs on, for the store's unit tests and the end-to-end tests
// alike: SQLite (a file in the test's temp directory) and PostgreSQL (a schema of its own on
// the server of the ctest fixture, tests/support/pg_server.h). A suite parameterised on
// Backend is instantiated with ROBOTNI_STORE_BACKENDS, which names its tests
// Backends/Suite.Test/sqlite and .../postgresql; cmake's robotni_backend_test (CMakeLists.txt)
// gives the postgresql ones the fixture's server.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"
#include "tests/support/pg_server.h"

namespace robotni::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgresql";
}

// The store of one test. Declare it before whatever uses the store (serve processes, open
// stores): a PostgreSQL schema is dropped when its TestStore goes, so a long ctest run leaves
// the server small.
class TestStore {
 public:
  // SQLite: sqlite://<dir>/<file>. PostgreSQL: a fresh schema on the fixture's server (the
  // store creates it); ok() is false, error() says why, when there is no server.
  TestStore(Backend backend, const std::filesystem::path& dir, const std::string& file = "wi.db")
      : backend_(backend) {
    if (backend == Backend::kSqlite) {
      url_ = "sqlite://" + (dir / file).string();
      return;
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (!PgTestUrl(info ? info->name() : file, &url_, &error_)) url_.clear();
  }
  ~TestStore() {
    if (backend_ == Backend::kPostgres && !url_.empty()) DropPgTestSchema(url_);
  }
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }

 private:
  Backend backend_;
  std::string url_, error_;
};

// The store at `url`, opened beside the processes that use it (it is not created); nullptr,
// with *error saying why, when it is not there (yet) or cannot be opened.
inline std::unique_ptr<store::WorkItemStore> OpenStore(const std::string& url,
                                                       std::string* error = nullptr) {
  store::StoreOptions o;
  o.url = url;
  o.create_if_missing = false;
  auto opened = store::WorkItemStore::Open(o);
  if (!opened.ok()) {
    if (error) *error = url + ": " + opened.status().ToString();
    return nullptr;
  }
  return std::move(opened).value();
}

// Every item of the store at `url`, oldest first, read through the store's own interface, so
// that a check reads the same on either backend. Fails the test, and gives none, when the
// store cannot be read.
inline std::vector<store::Item> AllItems(const std::string& url) {
  std::string error;
  auto s = OpenStore(url, &error);
  EXPECT_TRUE(s) << error;
  if (!s) return {};
  store::ListFilter f;
  f.limit = 100000;
  f.newest_first = false;
  auto items = s->List(f);
  EXPECT_TRUE(items.ok()) << url << ": " << items.status().ToString();
  if (!items.ok()) return {};
  return std::move(items).value();
}

// How many items of `queue` are in `state` (any state when none); -1, and the test fails,
// when the store cannot count.
inline int64_t CountItems(store::WorkItemStore& s, const std::string& queue,
                          std::optional<store::State> state = {}) {
  store::ListFilter f;
  f.queue = queue;
  f.state = state;
  auto n = s.Count(f);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

#define ROBOTNI_STORE_BACKENDS(suite)                                                 \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                           \
                           ::testing::Values(::robotni::testing::Backend::kSqlite,    \
                                             ::robotni::testing::Backend::kPostgres), \
                           ::robotni::testing::BackendName)

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_SUPPORT_STORE_BACKENDS_H_
