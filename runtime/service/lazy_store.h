#ifndef ROBOTNI_RUNTIME_SERVICE_LAZY_STORE_H_
#define ROBOTNI_RUNTIME_SERVICE_LAZY_STORE_H_

// StoreSet: the work-item stores a runtime uses, by URL, each opened on first use (a run
// whose tasks use robocorp's FileAdapter never touches a store). On open, items held by
// owners that died on this host go back to the queue at once (invariant 1 without waiting
// for their leases).
// Thread-safety: Get may be called from any thread.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/store.h"

namespace robotni::service {

// Lease owners look like "robotni:<host>:<pid>:<nonce>", so a later runtime on the same
// host can tell that a holder process is gone.
std::string NewOwner(const std::string& suffix = "");
bool OwnerIsDeadHere(const std::string& owner);

class StoreSet {
 public:
  // create_if_missing false: a store that does not exist is NotFound, nothing is created.
  // synchronous_full: every commit is synced (RuntimeOptions::durability "full").
  // max_payload_bytes: StoreOptions::max_payload_bytes of each store.
  explicit StoreSet(bool create_if_missing = true, bool synchronous_full = false,
                    int64_t max_payload_bytes = 1 << 20)
      : create_if_missing_(create_if_missing),
        synchronous_full_(synchronous_full),
        max_payload_bytes_(max_payload_bytes) {}
  // Closes every store; they close in parallel (each checkpoints its log).
  ~StoreSet();
  StoreSet(const StoreSet&) = delete;
  StoreSet& operator=(const StoreSet&) = delete;

  StatusOr<store::WorkItemStore*> Get(const std::string& url);
  // Closes the stores on a thread of their own; the destructor waits for it.
  void CloseInBackground();

 private:
  const bool create_if_missing_;
  const bool synchronous_full_;
  const int64_t max_payload_bytes_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<store::WorkItemStore>> stores_;
  std::unique_ptr<std::thread> closing_;
};

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_LAZY_STORE_H_
