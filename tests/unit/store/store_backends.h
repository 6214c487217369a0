#ifndef ROBOTNI_TESTS_UNIT_STORE_STORE_BACKENDS_H_
#define ROBOTNI_TESTS_UNIT_STORE_STORE_BACKENDS_H_

// The store tests' fixture on either backend (tests/support/store_backends.h): a SQLite file in
// a fresh temp directory, or a fresh schema on the PostgreSQL server of the ctest fixture. A
// test suite derives from StoreBackendTest and is instantiated with ROBOTNI_STORE_BACKENDS,
// which names its tests Backends/Suite.Test/sqlite and .../postgresql.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

#include "store/store.h"
#include "tests/support/store_backends.h"

namespace robotni::store {

using ::robotni::testing::Backend;
using ::robotni::testing::BackendName;

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_store_backend_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_.emplace(GetParam(), dir_, "workitems.db");
    ASSERT_TRUE(store_->ok()) << store_->error();
    url_ = store_->url();
  }
  void TearDown() override {
    CloseStores();
    store_.reset();  // drops the test's PostgreSQL schema, once nothing holds it
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Closes what the test holds open, before its schema is dropped.
  virtual void CloseStores() {}

  bool IsPostgres() const { return GetParam() == Backend::kPostgres; }

  std::string dir_;  // a temp directory, for either backend
  std::string url_;  // the store's URL

 private:
  std::optional<::robotni::testing::TestStore> store_;
};

}  // namespace robotni::store

#endif  // ROBOTNI_TESTS_UNIT_STORE_STORE_BACKENDS_H_
