#ifndef ROBOTNI_RUNTIME_CLI_STORE_FLAG_H_
#define ROBOTNI_RUNTIME_CLI_STORE_FLAG_H_

// A store the user named (--store, serve's `store:` key) must be in a directory that exists:
// robotni creates the database file, never the directory a typo named. (The default store,
// <robot>/.robotni/workitems.db, still gets its directory made.)

#include <string>

#include "robotni/status.h"

namespace robotni::cli {

// OK for "" (the default store), a store whose directory exists, or a URL scheme other than
// sqlite:// (the store refuses those itself). InvalidArgument "WHAT: the directory DIR does not
// exist (...)" otherwise; `what` names the setting ("--store").
Status CheckStoreDirectory(const std::string& store, const std::string& what);

}  // namespace robotni::cli

#endif  // ROBOTNI_RUNTIME_CLI_STORE_FLAG_H_
