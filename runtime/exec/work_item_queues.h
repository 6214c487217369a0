#ifndef ROBOTNI_RUNTIME_EXEC_WORK_ITEM_QUEUES_H_
#define ROBOTNI_RUNTIME_EXEC_WORK_ITEM_QUEUES_H_

// Which queues a task run reads and writes (docs/work-items.md):
//  - input: RC_WORKITEM_QUEUE_NAME, else the task's name in lower case;
//  - output: RC_WORKITEM_OUTPUT_QUEUE_NAME; else, when RC_WORKITEM_QUEUE_NAME was
//    given, "<input>_output" (actions-work-items' rule); else the input queue of the
//    next task in robot.yaml order (Producer -> consumer -> reporter), and
//    "<input>_output" for the last task;
//  - in `run -t A -t B`, B reads what A wrote (Control Room process steps).
// The store: --store URL, else RC_WORKITEM_DB_PATH, else <robot root>/.robotni/workitems.db.

#include <string>

#include "config/robot_yaml.h"
#include "exec/task_env.h"

namespace robotni::exec {

struct QueueNames {
  std::string input, output;
};

QueueNames DefaultQueues(const config::RobotYaml& robot, const config::Task& task,
                         const EnvBuilder& env);

std::string DefaultStoreUrl(const config::RobotYaml& robot, const EnvBuilder& env,
                            const std::string& flag);

std::string Lowercase(std::string s);

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_WORK_ITEM_QUEUES_H_
