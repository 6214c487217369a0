#ifndef ROBOTNI_RUNTIME_STORE_RESTORE_CHECKS_H_
#define ROBOTNI_RUNTIME_STORE_RESTORE_CHECKS_H_

// The checks of WorkItemStore::Restore that do not depend on the backend, shared by
// sqlite_restore.cc and pg_restore.cc.

#include <cstddef>
#include <string>

#include "store/store.h"

namespace robotni::store {

// "records[i]: ", the prefix of Restore's messages.
std::string RecordWhere(size_t index);

// records[index]: an id of at most 18 digits (an int64), not RESERVED, the bytes of every
// file it lists. Returns its fields as a NewItem, for the backend's own new-item checks.
StatusOr<NewItem> CheckItemRecord(const ItemRecord& record, size_t index);

}  // namespace robotni::store

#endif  // ROBOTNI_RUNTIME_STORE_RESTORE_CHECKS_H_
