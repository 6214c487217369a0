#ifndef ROBOTNI_RUNTIME_WORKER_WORKER_MAIN_H_
#define ROBOTNI_RUNTIME_WORKER_WORKER_MAIN_H_

// The body of a worker process (`robotni worker --fd N`, started by a control process's
// WorkerProcess, never by hand): it embeds CPython, imports the robot's job modules,
// says which job types it found, then runs the jobs it is sent, one at a time, and
// answers each with its outcome and captured output. It owns no store: progress,
// heartbeats and cancel checks go to the control process as messages.
//
// It dies with its control process (PR_SET_PDEATHSIG), leaves at once (_exit, no CPython
// finalisation that a leaked thread could hang or abort) when the control process closes
// the stream, and ignores SIGTERM (the control process's to handle); SIGINT, which only the
// control process sends it (Runtime::Interrupt), raises KeyboardInterrupt in a robot task.

namespace robotni::worker {

// Never returns when the protocol runs; returns an exit code on a usage or start error.
int WorkerMain(int fd);

}  // namespace robotni::worker

#endif  // ROBOTNI_RUNTIME_WORKER_WORKER_MAIN_H_
