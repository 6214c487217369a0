// A C++ host of robotni: runs a robot task, serves a job type written in C++ next to a
// Python one, and drives robotni's HTTP service from its own poll() loop.
//
//   cpp_host path/to/examples/robot /tmp/store.db
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <robotni/runtime.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

// GET path on addr ("127.0.0.1:PORT"): the status line, or "" when it cannot connect.
std::string Get(const std::string& addr, const std::string& path) {
  auto colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return close(fd), "";
  // Host: the address itself (serve without a token refuses non-loopback Host names).
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  std::string reply(buf, n > 0 ? static_cast<size_t>(n) : 0);
  return reply.substr(0, reply.find("\r\n"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ROBOT_DIR STORE\n", argv[0]);
    return 2;
  }
  robotni::RuntimeOptions options;
  options.robot = std::string(argv[1]) + "/robot.yaml";
  options.store = argv[2];
  options.job_modules = {"jobs.py"};
  options.log_level = "warn";
  auto opened = robotni::Runtime::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<robotni::Runtime> rt = std::move(opened).value();

  auto outcome = rt->RunTask("Greet");
  if (!outcome.ok() || !outcome->ok()) return std::fprintf(stderr, "task failed\n"), 1;
  std::printf("task Greet: %s", outcome->stdout_text.c_str());

  std::atomic<int> calls{0};
  robotni::Status reg =
      rt->RegisterJobType("cpp.negate", [&calls](robotni::Job& job, std::string* result) {
        ++calls;
        auto at = job.payload_json().find("\"n\":");
        if (at == std::string::npos) return robotni::Status::InvalidArgument("no n");
        *result = std::to_string(-std::stol(job.payload_json().substr(at + 4)));
        return robotni::Status::OK();
      });
  if (!reg.ok()) return std::fprintf(stderr, "%s\n", reg.ToString().c_str()), 1;

  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    robotni::EnqueueRequest req;
    req.queue = i % 2 ? "py.square" : "cpp.negate";
    req.payload_json = "{\"n\": " + std::to_string(i) + "}";
    auto id = rt->Enqueue(req);
    if (!id.ok()) return std::fprintf(stderr, "%s\n", id.status().ToString().c_str()), 1;
    ids.push_back(*id);
  }
  int good = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto item = rt->Wait(ids[i], 60);
    long want = i % 2 ? static_cast<long>(i * i) : -static_cast<long>(i);
    if (item.ok() && item->state == "DONE" && item->result_json == std::to_string(want)) ++good;
  }
  std::printf("%d of %zu jobs done (%d in C++)\n", good, ids.size(), calls.load());

  // The HTTP service on this program's own loop: poll robotni's backend fd.
  robotni::ServeOptions serve;
  serve.no_auth = true;
  serve.grace = 1;
  auto addr = rt->ServeOnHostLoop(serve);
  if (!addr.ok()) return std::fprintf(stderr, "%s\n", addr.status().ToString().c_str()), 1;
  std::string status;
  std::atomic<bool> answered{false};
  std::thread client([&] {
    status = Get(*addr, "/healthz");
    answered = true;
  });
  bool asked_to_stop = false;
  for (;;) {
    pollfd p{rt->BackendFd(), POLLIN, 0};
    poll(&p, 1, rt->BackendTimeout() < 0 ? 100 : rt->BackendTimeout());
    if (!rt->RunLoopOnce()) break;
    if (answered && !asked_to_stop) {
      asked_to_stop = true;
      (void)rt->StopServing();  // drains; RunLoopOnce returns false once it stopped
    }
  }
  client.join();
  std::printf("GET /healthz on %s: %s\n", addr->c_str(), status.c_str());
  robotni::Status closed = rt->Close();
  bool ok = good == 100 && calls == 50 && status.find("200") != std::string::npos && closed.ok();
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
