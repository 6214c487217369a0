#include "store/migrate.h"

#include <utility>
#include <vector>

namespace robotni::store {

namespace {

Status RefuseHeldItems(WorkItemStore& from) {
  auto stats = from.Stats("");
  if (!stats.ok()) return stats.status();
  int64_t held = 0;
  std::string queues;
  for (const QueueStats& q : *stats) {
    const int64_t n = q.reserved + q.held;  // started or not, a runner holds them
    if (n == 0) continue;
    held += n;
    queues += (queues.empty() ? "" : ", ") + q.queue + " (" + std::to_string(n) + ")";
  }
  if (held == 0) return Status::OK();
  return Status::Busy(std::to_string(held) +
                      " item(s) of the source are RESERVED, held by a runner: " + queues +
                      ". Stop the robotni processes that use it (or let them finish) and run "
                      "the migration again; nothing was written");
}

StatusOr<ItemRecord> ReadRecord(WorkItemStore& from, Item item) {
  ItemRecord r;
  auto timeline = from.Timeline(item.id);
  if (!timeline.ok()) return timeline.status();
  r.timeline = std::move(timeline).value();
  for (const FileRef& f : item.files) {
    auto bytes = from.GetFile(item.id, f.name);
    if (!bytes.ok()) return bytes.status();
    r.files.push_back({f.name, std::move(bytes).value()});
  }
  r.item = std::move(item);
  return r;
}

}  // namespace

StatusOr<MigrateReport> MigrateStore(WorkItemStore& from, WorkItemStore& to,
                                     const MigrateOptions& options) {
  ROBOTNI_RETURN_IF_ERROR(RefuseHeldItems(from));
  MigrateReport report;
  ListFilter page;
  page.newest_first = false;  // ids ascending: a parent before its outputs
  page.limit = options.batch_items > 0 ? options.batch_items : 500;
  for (;;) {
    auto items = from.List(page);
    if (!items.ok()) return items.status();
    if (items->empty()) break;
    page.id_above = std::stoll(items->back().id);
    std::vector<ItemRecord> batch;
    batch.reserve(items->size());
    for (Item& item : *items) {
      if (item.state == State::kReserved) return RefuseHeldItems(from);
      auto record = ReadRecord(from, std::move(item));
      if (!record.ok()) return record.status();
      report.files += static_cast<int64_t>(record->files.size());
      for (const NewFile& f : record->files) report.file_bytes += f.content.size();
      report.timeline_entries += static_cast<int64_t>(record->timeline.size());
      batch.push_back(std::move(record).value());
    }
    auto written = to.Restore(batch);
    if (!written.ok()) return written.status();
    report.items += static_cast<int64_t>(batch.size());
    report.written += *written;
    if (options.progress) options.progress(report);
  }
  auto schedules = from.ListSchedules();
  if (!schedules.ok()) return schedules.status();
  ROBOTNI_RETURN_IF_ERROR(to.RestoreSchedules(*schedules));
  report.schedules = static_cast<int64_t>(schedules->size());
  ROBOTNI_RETURN_IF_ERROR(to.Sync());
  return report;
}

}  // namespace robotni::store
