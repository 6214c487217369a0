#include "api/job_submitter.h"

#include <memory>
#include <utility>

#include "api/api_util.h"

namespace robotni::api {

void JobSubmitter::Submit(store::NewItem item, Responder respond) {
  pending_.push_back({std::move(item), std::move(respond)});
  if (!in_flight_) Flush();
}

void JobSubmitter::Flush() {
  size_t n = std::min(pending_.size(), kMaxBatch);
  auto batch = std::make_shared<std::vector<Pending>>(
      std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + n));
  pending_.erase(pending_.begin(), pending_.begin() + n);
  in_flight_ = true;
  ctx_->blocking->Submit([this, batch] {
    std::vector<store::NewItem> items;
    items.reserve(batch->size());
    for (auto& p : *batch) items.push_back(std::move(p.item));
    auto queued = [](const std::string& id) {
      return Response::Json(202, {{"job_id", id}, {"status", "queued"}});
    };
    std::vector<Response> answers;
    answers.reserve(items.size());
    auto ids = ctx_->store->CreateBatch(items);
    if (ids.ok()) {
      for (const auto& id : *ids) answers.push_back(queued(id));
    } else if (items.size() == 1) {
      answers.push_back(StatusError(ids.status()));
    } else {
      // One job the store refuses fails the whole transaction: each then goes alone, so
      // the others are committed and the refused one gets its own message.
      for (const auto& item : items) {
        auto id = ctx_->store->Create(item);
        answers.push_back(id.ok() ? queued(*id) : StatusError(id.status()));
      }
    }
    if (ctx_->dispatcher) ctx_->dispatcher->Wake();
    ctx_->poster->Post([this, batch, answers = std::move(answers)]() mutable {
      for (size_t i = 0; i < batch->size(); ++i) (*batch)[i].respond(std::move(answers[i]));
      in_flight_ = false;
      if (!pending_.empty()) Flush();
    });
  });
}

}  // namespace robotni::api
