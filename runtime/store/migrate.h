#ifndef ROBOTNI_RUNTIME_STORE_MIGRATE_H_
#define ROBOTNI_RUNTIME_STORE_MIGRATE_H_

// Moves everything one store holds into another (`robotni store migrate`): items in every
// state with their ids, results, errors, times, lease fields, timelines and files, and the
// schedules with their last ticks. Works between any two backends through the
// WorkItemStore interface (List, Timeline, GetFile; Restore, RestoreSchedules).
//
// The source must be quiet: an item a runner holds (RESERVED) refuses the move before
// anything is written. A re-run writes only what the target lacks, so a move that stopped
// half-way is finished by running it again.

#include <cstdint>
#include <functional>
#include <string>

#include "store/store.h"

namespace robotni::store {

struct MigrateReport {
  int64_t items = 0;       // items read from the source
  int64_t written = 0;     // of them, written to the target (the rest it held already)
  int64_t files = 0;       // files read (and written with their items)
  int64_t file_bytes = 0;  // their size
  int64_t timeline_entries = 0;
  int64_t schedules = 0;
};

struct MigrateOptions {
  int batch_items = 500;  // items per Restore transaction
  // Called after each batch with the report so far (progress on a terminal); may be empty.
  std::function<void(const MigrateReport&)> progress;
};

StatusOr<MigrateReport> MigrateStore(WorkItemStore& from, WorkItemStore& to,
                                     const MigrateOptions& options = {});

}  // namespace robotni::store

#endif  // ROBOTNI_RUNTIME_STORE_MIGRATE_H_
