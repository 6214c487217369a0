#include "store/sqlite/wal_checkpointer.h"

namespace robotni::store::sqlite {

WalCheckpointer::WalCheckpointer(DbPtr own, int soft_pages, int hard_pages)
    : own_(std::move(own)), soft_pages_(soft_pages), hard_pages_(hard_pages) {
  // A connection learns that the database is in WAL mode only when it first reads it;
  // until then sqlite3_wal_checkpoint_v2 succeeds without doing anything.
  sqlite3_exec(own_.get(), "PRAGMA journal_mode", nullptr, nullptr, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void WalCheckpointer::Attach(sqlite3* writer) {
  // sqlite3_wal_hook replaces the automatic checkpoint's hook (wal_autocheckpoint).
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, this);
}

int WalCheckpointer::OnCommit(void* arg, sqlite3* db, const char* schema, int wal_pages) {
  auto* self = static_cast<WalCheckpointer*>(arg);
  if (wal_pages >= self->hard_pages_) {
    // The background thread cannot catch up with a busy writer: finish here, between
    // two transactions, so the WAL can start over.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    self->writer_runs_++;
  } else if (wal_pages >= self->soft_pages_) {
    {
      std::lock_guard<std::mutex> l(self->mu_);
      if (self->wanted_) return SQLITE_OK;
      self->wanted_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stop_ || wanted_; });
    if (stop_) return;
    l.unlock();
    // SQLITE_BUSY (another process checkpointing) is fine: the next commit asks again.
    sqlite3_wal_checkpoint_v2(own_.get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    background_++;
    l.lock();
    wanted_ = false;
  }
}

}  // namespace robotni::store::sqlite
