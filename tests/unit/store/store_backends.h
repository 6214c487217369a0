#ifndef ROBOTNI_TESTS_UNIT_STORE_STORE_BACKENDS_H_
#define ROBOTNI_TESTS_UNIT_STORE_STORE_BACKENDS_H_

// The backends the store tests run on: a SQLite file in a fresh temp directory, or a fresh
// schema on the PostgreSQL server of the ctest fixture (tests/support/pg_server.h). A test
// suite derives from StoreBackendTest and is instantiated with ROBOTNI_STORE_BACKENDS, which
// names its tests Backends/Suite.Test/sqlite and .../postgresql.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store.h"
#include "tests/support/pg_server.h"

namespace robotni::store {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgresql";
}

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_store_backend_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (GetParam() == Backend::kSqlite) {
      url_ = "sqlite://" + dir_ + "/workitems.db";
      return;
    }
    std::string error;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    ASSERT_TRUE(robotni::testing::PgTestUrl(info->name(), &url_, &error)) << error;
  }
  void TearDown() override {
    CloseStores();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (GetParam() == Backend::kPostgres && !url_.empty()) DropSchema();
  }
  // Closes what the test holds open, before its schema is dropped.
  virtual void CloseStores() {}

  bool IsPostgres() const { return GetParam() == Backend::kPostgres; }

  // The test's schema goes with it, so a long ctest run leaves the server small.
  void DropSchema() {
    const size_t q = url_.find("?search_path=");
    if (q == std::string::npos) return;
    const size_t at = q + 13;
    const std::string schema = url_.substr(at, url_.find('&', at) - at);
    PGconn* c = PQconnectdb(url_.substr(0, q).c_str());
    if (PQstatus(c) == CONNECTION_OK) {
      PQclear(PQexec(c, "SET client_min_messages = warning"));
      PQclear(PQexec(c, ("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE").c_str()));
    }
    PQfinish(c);
  }

  std::string dir_;  // a temp directory, for either backend
  std::string url_;  // the store's URL
};

#define ROBOTNI_STORE_BACKENDS(suite)                                                              \
  INSTANTIATE_TEST_SUITE_P(                                                                        \
      Backends, suite,                                                                             \
      ::testing::Values(::robotni::store::Backend::kSqlite, ::robotni::store::Backend::kPostgres), \
      ::robotni::store::BackendName)

}  // namespace robotni::store

#endif  // ROBOTNI_TESTS_UNIT_STORE_STORE_BACKENDS_H_
