// The job API (`from robotni import run`) inside a sub-interpreter, over a real store.
#include "exec/store_job.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "exec/run_capture.h"
#include "python/interpreter.h"

namespace robotni::exec {
namespace {

namespace fs = std::filesystem;

TEST(StoreJobTest, JobApiReadsAndUpdatesTheReservedItem) {
  fs::path dir = fs::temp_directory_path() / ("job-" + std::to_string(getpid()));
  fs::remove_all(dir);
  store::StoreOptions opts;
  opts.url = (dir / "workitems.db").string();
  auto st = store::WorkItemStore::Open(opts);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  auto& store = *st;
  store::NewItem n;
  n.queue = "add";
  n.payload_json = R"({"x": 2, "y": 3})";
  n.max_attempts = 5;
  auto id = store->Create(n);
  ASSERT_TRUE(id.ok());
  store::ReserveRequest req;
  req.queues = {"add"};
  req.owner = "job-test";
  auto items = store->Reserve(req);
  ASSERT_TRUE(items.ok() && items->size() == 1);

  StoreJob job(store.get(), items->front());
  RunCapture capture(/*echo=*/false);
  capture.set_keep_in_memory(true);
  capture.set_job(&job);
  auto interp = python::Interpreter::Create(python::Interpreter::Kind::kSubinterpreter);
  ASSERT_TRUE(interp.ok());
  python::TaskSpec spec;
  spec.command.mode = python::PythonCommand::Mode::kCode;
  spec.command.target =
      "from robotni import run\n"
      "print(run.id, run.type, run.payload['x'] + run.payload['y'], run.attempt, "
      "run.max_attempts)\n"
      "run.heartbeat(120)\n"
      "run.progress('half way')\n"
      "print(run.is_cancelled())\n";
  spec.command.argv = {"-c"};
  auto r = (*interp)->Run(spec, &capture);
  ASSERT_EQ(r.exit_code, 0) << capture.text(2);
  EXPECT_EQ(capture.text(1), *id + " add 5 1 5\nFalse\n");

  ASSERT_TRUE(store->Cancel(*id).ok());
  auto r2 = (*interp)->Run(spec, &capture);
  ASSERT_EQ(r2.exit_code, 0) << capture.text(2);
  EXPECT_NE(capture.text(1).find("True\n"), std::string::npos);

  auto timeline = store->Timeline(*id);
  ASSERT_TRUE(timeline.ok());
  bool progress = false;
  for (const auto& e : *timeline) progress |= e.event == "progress" && e.message == "half way";
  EXPECT_TRUE(progress);
  auto item = store->Get(*id);
  EXPECT_GT(item->lease_expires_ms, items->front().lease_expires_ms);  // heartbeat extended it

  // Outside a job the API says so.
  RunCapture plain(false);
  plain.set_keep_in_memory(true);
  spec.command.target = "from robotni import run\nrun.id\n";
  auto r3 = (*interp)->Run(spec, &plain);
  EXPECT_EQ(r3.exit_code, 1);
  EXPECT_NE(plain.text(2).find("not running inside a robotni job"), std::string::npos);
  interp->reset();
  store.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace robotni::exec
