#ifndef ROBOTNI_RUNTIME_WORKER_FRAME_H_
#define ROBOTNI_RUNTIME_WORKER_FRAME_H_

// The worker protocol's framing: a 4-byte little-endian length, then that many bytes of
// JSON (one object with a "t" member naming the message; docs/worker-processes.md).
// Stream sockets (socketpair) carry it between a control process and a worker.
// Thread-safety: none; each side serialises its own writes and reads.

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "robotni/status.h"

namespace robotni::worker {

// The protocol's version, in `init` and `hello`: a worker executable of another robotni build
// (ROBOTNI_WORKER_EXECUTABLE) that speaks another is refused at its start, with both named.
// 2: `run` carries a list of jobs. (1: one job; its hello named no version.)
inline constexpr int kWorkerProtocol = 2;

// Frames longer than this are refused (a corrupt length must not allocate gigabytes).
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;

std::string EncodeFrame(const nlohmann::json& message);
// Writes the whole frame, retrying on EINTR and short writes (blocking fd).
Status WriteFrame(int fd, const nlohmann::json& message);

// Reassembles frames from a byte stream.
class FrameReader {
 public:
  // Appends bytes read from the stream.
  void Feed(const char* data, size_t n) { buf_.append(data, n); }
  // The next whole frame, if one has arrived: OK with *out set; OK with *got = false when
  // more bytes are needed; InvalidArgument on an oversize length or malformed JSON (the
  // stream is then unusable).
  Status Next(nlohmann::json* out, bool* got);
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

// Reads from `fd` until a frame arrives (blocking, EINTR retried). Cancelled when the
// peer closed the stream; Timeout when `timeout` (if positive) passed first; IOError on a
// read error; InvalidArgument on a malformed frame.
Status ReadFrame(int fd, FrameReader* reader, nlohmann::json* out,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

// A Status across the stream: {"code": n, "error": "message"} (code 0 = OK).
nlohmann::json StatusToJson(const Status& s);
Status StatusFromJson(const nlohmann::json& j);

}  // namespace robotni::worker

#endif  // ROBOTNI_RUNTIME_WORKER_FRAME_H_
