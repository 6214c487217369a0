// The dispatcher's Python and worker-process halves, for the fuzzers' link only. The HTTP
// fuzzer builds a real exec::Dispatcher for its job-type registry (FindType, types, Wake,
// counters: what the API handlers call) but never starts it, so none of these runs; building
// the real ones would compile and embed CPython (most of robotni_runtime). Each aborts if
// reached, which libFuzzer reports as a crash.

#include <cstdio>
#include <cstdlib>

#include "exec/python_jobs.h"
#include "worker/worker_process.h"

namespace {

[[noreturn]] void NotInFuzzer(const char* what) {
  fprintf(stderr, "%s: not linked into the fuzzers (the dispatcher is never started)\n", what);
  abort();
}

}  // namespace

namespace robotni::exec {

StatusOr<std::vector<JobTypeInfo>> LoadPythonJobTypes(python::InterpreterPool*,
                                                      const PythonJobsConfig&, uint64_t) {
  NotInFuzzer("LoadPythonJobTypes");
}

PythonJobRun RunPythonJob(python::InterpreterPool*, const PythonJobsConfig&, uint64_t,
                          python::JobBackend*, double, int64_t,
                          std::function<void(int, std::string_view)>) {
  NotInFuzzer("RunPythonJob");
}

}  // namespace robotni::exec

namespace robotni::worker {

std::string DefaultWorkerExecutable() { NotInFuzzer("DefaultWorkerExecutable"); }

StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Start(const WorkerSpec&,
                                                              std::chrono::milliseconds) {
  NotInFuzzer("WorkerProcess::Start");
}

WorkerProcess::~WorkerProcess() = default;

size_t WorkerProcess::RunBatch(const std::vector<BatchJob>&, const std::function<void(size_t)>&,
                               const std::function<void(size_t, WorkerRun)>&) {
  NotInFuzzer("WorkerProcess::RunBatch");
}

void WorkerProcess::Kill(const std::string&) { NotInFuzzer("WorkerProcess::Kill"); }

}  // namespace robotni::worker
