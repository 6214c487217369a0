#include "worker/frame.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json_limits.h"

namespace robotni::worker {

std::string EncodeFrame(const nlohmann::json& message) {
  // Captured output may hold invalid UTF-8: replaced, never a throw.
  std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  uint32_t n = static_cast<uint32_t>(body.size());
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return frame + body;
}

Status WriteFrame(int fd, const nlohmann::json& message) {
  std::string frame = EncodeFrame(message);
  if (frame.size() - 4 > kMaxFrameBytes) return Status::InvalidArgument("frame too large");
  size_t off = 0;
  while (off < frame.size()) {
    // send(MSG_NOSIGNAL): a dead peer is an error here, not a SIGPIPE for the process.
    ssize_t w = send(fd, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK) w = write(fd, frame.data() + off, frame.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(std::string("worker pipe: ") + strerror(errno));
    }
    off += static_cast<size_t>(w);
  }
  return Status::OK();
}

Status FrameReader::Next(nlohmann::json* out, bool* got) {
  *got = false;
  if (buf_.size() < 4) return Status::OK();
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n |= static_cast<uint32_t>(static_cast<unsigned char>(buf_[i])) << (8 * i);
  if (n > kMaxFrameBytes)
    return Status::InvalidArgument("worker frame of " + std::to_string(n) + " bytes refused");
  if (buf_.size() < 4 + static_cast<size_t>(n)) return Status::OK();
  std::string_view text(buf_.data() + 4, n);
  // Payloads and results travel as strings; a frame itself nests a few levels. One that
  // nests past the limit is refused before anything copies it (core/json_limits.h).
  nlohmann::json doc;
  bool too_deep = false;
  const bool parsed = ParseJsonWithin(text, &doc, &too_deep);
  buf_.erase(0, 4 + static_cast<size_t>(n));
  if (too_deep) return Status::InvalidArgument("worker frame " + JsonTooDeepMessage());
  if (!parsed || !doc.is_object() || !doc.contains("t") || !doc["t"].is_string())
    return Status::InvalidArgument("malformed worker frame");
  *out = std::move(doc);
  *got = true;
  return Status::OK();
}

Status ReadFrame(int fd, FrameReader* reader, nlohmann::json* out,
                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool got = false;
    ROBOTNI_RETURN_IF_ERROR(reader->Next(out, &got));
    if (got) return Status::OK();
    if (timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::Timeout("no message from the worker in time");
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) return Status::IOError(std::string("poll: ") + strerror(errno));
      if (r <= 0) continue;
    }
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return Status::Cancelled("the peer closed the stream");
      return Status::IOError(std::string("worker pipe: ") + strerror(errno));
    }
    if (n == 0) return Status::Cancelled("the peer closed the stream");
    reader->Feed(chunk, static_cast<size_t>(n));
  }
}

nlohmann::json StatusToJson(const Status& s) {
  return {{"code", static_cast<int>(s.code())}, {"error", s.message()}};
}

Status StatusFromJson(const nlohmann::json& j) {
  using C = Status::Code;
  int code = j.is_object() ? j.value("code", 0) : 0;
  std::string msg = j.is_object() ? j.value("error", "") : "";
  switch (static_cast<C>(code)) {
    case C::kOk:
      return Status::OK();
    case C::kNotFound:
      return Status::NotFound(msg);
    case C::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case C::kBusy:
      return Status::Busy(msg);
    case C::kPythonError:
      return Status::PythonError(msg);
    case C::kCancelled:
      return Status::Cancelled(msg);
    case C::kTimeout:
      return Status::Timeout(msg);
    case C::kConflict:
      return Status::Conflict(msg);
    case C::kUnsupported:
      return Status::Unsupported(msg);
    default:
      return Status::IOError(msg);
  }
}

}  // namespace robotni::worker
