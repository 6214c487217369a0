#include "exec/work_item_queues.h"

#include <algorithm>

namespace robotni::exec {

std::string Lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

QueueNames DefaultQueues(const config::RobotYaml& robot, const config::Task& task,
                         const EnvBuilder& env) {
  QueueNames q;
  const std::string* in = env.Get("RC_WORKITEM_QUEUE_NAME");
  const std::string* out = env.Get("RC_WORKITEM_OUTPUT_QUEUE_NAME");
  q.input = in && !in->empty() ? *in : Lowercase(task.name);
  if (out && !out->empty()) {
    q.output = *out;
  } else if (in && !in->empty()) {
    q.output = q.input + "_output";
  } else {
    q.output = q.input + "_output";
    for (size_t i = 0; i + 1 < robot.tasks.size(); ++i)
      if (robot.tasks[i].name == task.name) q.output = Lowercase(robot.tasks[i + 1].name);
  }
  return q;
}

std::string DefaultStoreUrl(const config::RobotYaml& robot, const EnvBuilder& env,
                            const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const std::string* p = env.Get("RC_WORKITEM_DB_PATH"); p && !p->empty()) {
    if (p->find("://") != std::string::npos) return *p;  // a URL (postgresql://...), as given
    std::filesystem::path path(*p);
    return path.is_absolute() ? path.string() : (robot.root / path).string();
  }
  return (robot.root / ".robotni" / "workitems.db").string();
}

}  // namespace robotni::exec
