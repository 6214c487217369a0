#ifndef ROBOTNI_RUNTIME_EXEC_STORE_JOB_H_
#define ROBOTNI_RUNTIME_EXEC_STORE_JOB_H_

// StoreJob: the job API (`from robotni import run`) for one reserved item, over the
// store: heartbeat extends the lease, is_cancelled reads the cancel flag, progress
// adds to the item's timeline. All fenced by the item's lease.
// Thread-safety: methods may be called from any thread.

#include "python/task_context.h"
#include "store/store.h"

namespace robotni::exec {

class StoreJob : public python::JobBackend {
 public:
  StoreJob(store::WorkItemStore* store, store::Item item) : store_(store), item_(std::move(item)) {}
  const store::Item& item() const override { return item_; }
  store::Lease lease() const {
    return {item_.id, item_.lease_owner, item_.attempt, item_.lease_token};
  }
  Status Heartbeat(double seconds) override;
  StatusOr<bool> IsCancelled() override { return store_->IsCancelRequested(lease()); }
  Status Progress(const std::string& message) override {
    return store_->Progress(lease(), message);
  }
  void SetResult(std::string result_json) override {
    outcome_.ok = true;
    outcome_.result_json = std::move(result_json);
    reported_ = true;
  }
  void SetFailure(store::ExceptionType type, std::string code, std::string message,
                  std::string traceback) override {
    outcome_.ok = false;
    outcome_.exception_type = type;
    outcome_.error_code = std::move(code);
    outcome_.error_message = std::move(message);
    outcome_.traceback = std::move(traceback);
    reported_ = true;
  }
  // The completion to commit: what the job reported, fenced by this lease. A job that
  // reported nothing (killed, timed out) fails as APPLICATION with `fallback`.
  store::Completion TakeCompletion(const std::string& fallback);

 private:
  store::WorkItemStore* store_;
  store::Item item_;
  store::Completion outcome_;
  bool reported_ = false;
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_STORE_JOB_H_
