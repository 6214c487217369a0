#include "store/restore_checks.h"

namespace robotni::store {

std::string RecordWhere(size_t index) { return "records[" + std::to_string(index) + "]: "; }

StatusOr<NewItem> CheckItemRecord(const ItemRecord& record, size_t index) {
  const Item& it = record.item;
  if (it.id.empty() || it.id.size() > 18 ||
      it.id.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidArgument(RecordWhere(index) + "id '" + it.id + "' is not an item id");
  if (it.state == State::kReserved)
    return Status::InvalidArgument(RecordWhere(index) + "item " + it.id +
                                   " is RESERVED: a runner holds it, so it cannot be moved");
  if (record.files.size() != it.files.size())
    return Status::InvalidArgument(RecordWhere(index) + "item " + it.id + " lists " +
                                   std::to_string(it.files.size()) + " files but " +
                                   std::to_string(record.files.size()) + " are given");
  NewItem row;
  row.queue = it.queue;
  row.payload_json = it.payload_json;
  row.max_attempts = it.max_attempts;
  row.meta_json = it.meta_json;
  row.parent_id = it.parent_id;
  return row;
}

}  // namespace robotni::store
