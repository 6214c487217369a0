#ifndef ROBOTNI_RUNTIME_CLI_ACTION_SERVER_IMPORT_H_
#define ROBOTNI_RUNTIME_CLI_ACTION_SERVER_IMPORT_H_

// Reads an Action Server / actions-work-items SQLite database (its own schema: tables
// work_items and work_item_files, files on disk) into Runtime::Import requests, for
// `robotni items import --from-action-server`. Only reads: the database is opened read-only.
// Reading another program's format is the CLI's business; writing goes through the public
// Runtime API like every other `robotni items` command.

#include <string>
#include <vector>

#include "robotni/runtime.h"

namespace robotni::cli {

struct ActionServerItems {
  std::vector<ImportRequest> items;  // every row of work_items, in creation order
  int64_t files = 0;                 // attached files read
  int64_t were_in_progress = 0;      // IN_PROGRESS rows, imported as PENDING
};

// InvalidArgument naming the row and field for anything that would be lost (a payload that
// is not JSON, an unknown state, a file missing on disk); NotFound when `path` does not
// exist; InvalidArgument when it is not such a database.
StatusOr<ActionServerItems> ReadActionServerDb(const std::string& path);

}  // namespace robotni::cli

#endif  // ROBOTNI_RUNTIME_CLI_ACTION_SERVER_IMPORT_H_
