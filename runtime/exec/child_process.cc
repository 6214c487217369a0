#include "exec/child_process.h"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>

namespace robotni::exec {

namespace {

struct Run;

struct Pipe {
  uv_pipe_t handle;
  Run* run;
  int stream;
};

struct Run {
  python::TaskContext* output;
  uv_process_t process;
  Pipe out, err;
  uv_timer_t timer;
  ChildResult result;
  int open_handles = 0;
  bool exited = false;
  bool term_sent = false;
};

void OnClose(uv_handle_t* h) { static_cast<Run*>(h->data)->open_handles--; }

void CloseHandle(uv_handle_t* h) {
  if (!uv_is_closing(h)) uv_close(h, OnClose);
}

void OnAlloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) {
  buf->base = new char[suggested];
  buf->len = suggested;
}

void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  Pipe* p = reinterpret_cast<Pipe*>(s);  // handle is the first member
  if (n > 0 && p->run->output) p->run->output->Write(p->stream, std::string_view(buf->base, n));
  delete[] buf->base;
  if (n < 0) CloseHandle(reinterpret_cast<uv_handle_t*>(s));
}

void OnExit(uv_process_t* proc, int64_t status, int term_signal) {
  Run* run = static_cast<Run*>(proc->data);
  run->exited = true;
  run->result.exit_code = static_cast<int>(status);
  run->result.term_signal = term_signal;
  CloseHandle(reinterpret_cast<uv_handle_t*>(proc));
  CloseHandle(reinterpret_cast<uv_handle_t*>(&run->timer));
}

void OnTimer(uv_timer_t* t) {
  Run* run = static_cast<Run*>(t->data);
  if (run->exited) return;
  run->result.timed_out = true;
  if (!run->term_sent) {
    run->term_sent = true;
    uv_process_kill(&run->process, SIGTERM);
    uv_timer_start(t, OnTimer, 5000, 0);
  } else {
    uv_process_kill(&run->process, SIGKILL);
  }
}

}  // namespace

std::string FindProgram(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos)
    return access(program.c_str(), X_OK) == 0 ? program : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate))
      return candidate;
    start = end + 1;
  }
  return "";
}

ChildResult RunChild(uv_loop_t* loop, const ChildSpec& spec, python::TaskContext* output) {
  auto run = std::make_unique<Run>();
  run->output = output;
  if (spec.argv.empty()) {
    run->result.spawn_status = Status::InvalidArgument("empty command");
    return run->result;
  }
  std::string path;
  for (const auto& e : spec.env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  std::string program = FindProgram(spec.argv[0], path);
  if (program.empty()) {
    run->result.spawn_status = Status::NotFound("command not found: " + spec.argv[0]);
    return run->result;
  }

  std::vector<char*> args, env;
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : spec.env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  for (Pipe* p : {&run->out, &run->err}) {
    uv_pipe_init(loop, &p->handle, 0);
    p->handle.data = run.get();
    p->run = run.get();
    run->open_handles++;
  }
  run->out.stream = 1;
  run->err.stream = 2;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;  // like rcc without --interactive
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&run->out.handle);
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&run->err.handle);

  uv_process_options_t opts = {};
  opts.exit_cb = OnExit;
  opts.file = program.c_str();
  opts.args = args.data();
  opts.env = env.data();
  opts.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  opts.stdio_count = 3;
  opts.stdio = stdio;
  run->process.data = run.get();
  int rc = uv_spawn(loop, &run->process, &opts);
  if (rc != 0) {
    run->result.spawn_status =
        Status::IOError("cannot start " + spec.argv[0] + ": " + uv_strerror(rc));
    CloseHandle(reinterpret_cast<uv_handle_t*>(&run->out.handle));
    CloseHandle(reinterpret_cast<uv_handle_t*>(&run->err.handle));
    run->open_handles++;  // uv_spawn failure still requires closing the process handle
    CloseHandle(reinterpret_cast<uv_handle_t*>(&run->process));
    while (run->open_handles > 0) uv_run(loop, UV_RUN_ONCE);
    return run->result;
  }
  run->open_handles++;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&run->out.handle), OnAlloc, OnRead);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&run->err.handle), OnAlloc, OnRead);
  uv_timer_init(loop, &run->timer);
  run->timer.data = run.get();
  run->open_handles++;
  if (spec.timeout_seconds > 0)
    uv_timer_start(&run->timer, OnTimer, static_cast<uint64_t>(spec.timeout_seconds * 1000), 0);
  while (run->open_handles > 0) uv_run(loop, UV_RUN_ONCE);
  return run->result;
}

}  // namespace robotni::exec
