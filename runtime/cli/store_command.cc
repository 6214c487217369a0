// `robotni store migrate --from URL --to URL`: everything one work-item store holds, moved
// into another (store/migrate.h), e.g. from the embedded SQLite file to a shared PostgreSQL
// when a team outgrows one machine, and back. Re-running it finishes a move that stopped and
// writes nothing twice.
//
// Exit codes, as `robotni items`: 0 moved; 1 a store cannot be opened, or another store / I/O
// error; 2 bad arguments or an item the target refuses as invalid; 3 the move is refused by
// state (items held by a runner, or another item under a migrated id in the target).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/robot_loader.h"
#include "cli/store_flag.h"
#include "service/lazy_store.h"
#include "store/migrate.h"

namespace robotni::cli {

namespace {

enum StoreExit { kStoreOk = 0, kStoreError = 1, kStoreBadInput = 2, kStoreWrongState = 3 };

StatusOr<std::unique_ptr<store::WorkItemStore>> OpenStore(const std::string& url, bool create) {
  store::StoreOptions opts;
  opts.url = url;
  opts.create_if_missing = create;
  auto s = store::WorkItemStore::Open(opts);
  if (!s.ok()) return s.status();
  // As every runtime that opens a store: items held by a robotni process that died on this
  // host go back to the queue, so they do not hold up the move.
  auto released = (*s)->ReleaseDeadOwners(service::OwnerIsDeadHere);
  if (released.ok() && *released > 0)
    fprintf(stderr,
            "robotni: %s: %lld item(s) held by a process that died went back to the queue\n",
            url.c_str(), static_cast<long long>(*released));
  return s;
}

int Migrate(const std::string& from_url, const std::string& to_url, int batch, bool quiet) {
  if (from_url == to_url) {
    PrintError("--from and --to name the same store: " + from_url);
    return kStoreBadInput;
  }
  if (Status s = CheckStoreDirectory(to_url, "--to"); !s.ok()) {
    PrintError(s.message());
    return kStoreBadInput;
  }
  auto from = OpenStore(from_url, /*create=*/false);
  if (!from.ok()) {
    PrintError("--from: " + from.status().message());
    return kStoreError;
  }
  auto to = OpenStore(to_url, /*create=*/true);
  if (!to.ok()) {
    PrintError("--to: " + to.status().message());
    return kStoreError;
  }
  store::MigrateOptions options;
  options.batch_items = batch;
  if (!quiet) {
    options.progress = [](const store::MigrateReport& r) {
      fprintf(stderr, "robotni: %lld item(s) read, %lld written\n", static_cast<long long>(r.items),
              static_cast<long long>(r.written));
    };
  }
  auto report = store::MigrateStore(**from, **to, options);
  if (!report.ok()) {
    PrintError("migrate: " + report.status().message());
    const Status& st = report.status();
    if (st.IsInvalidArgument()) return kStoreBadInput;
    return st.code() == Status::Code::kBusy || st.IsConflict() ? kStoreWrongState : kStoreError;
  }
  printf(
      "{\"items\": %lld, \"written\": %lld, \"already_there\": %lld, \"files\": %lld, "
      "\"file_bytes\": %lld, \"timeline_entries\": %lld, \"schedules\": %lld}\n",
      static_cast<long long>(report->items), static_cast<long long>(report->written),
      static_cast<long long>(report->items - report->written),
      static_cast<long long>(report->files), static_cast<long long>(report->file_bytes),
      static_cast<long long>(report->timeline_entries), static_cast<long long>(report->schedules));
  return kStoreOk;
}

}  // namespace

void AddStoreCommand(CLI::App& app, CommandBody* body) {
  auto* store = app.add_subcommand("store", "Manage work-item stores as a whole");
  store->require_subcommand(1);
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto batch = std::make_shared<int>(500);
  auto quiet = std::make_shared<bool>(false);
  auto* migrate = store->add_subcommand(
      "migrate",
      "Copy every item (any state, with ids, results, timelines, files) and schedule from one "
      "store into another; re-running it writes only what is missing");
  migrate
      ->add_option("--from", *from,
                   "The source store: sqlite:///abs/path.db, a path, or a "
                   "postgresql:// URL (it must exist)")
      ->required();
  migrate->add_option("--to", *to, "The target store (created when it does not exist)")->required();
  migrate->add_option("--batch", *batch, "Items per transaction")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  migrate->add_flag("-q,--quiet", *quiet, "No progress lines on stderr");
  migrate->callback([=] { *body = [=] { return Migrate(*from, *to, *batch, *quiet); }; });
}

}  // namespace robotni::cli
