#include "api/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "core/sha256.h"

namespace robotni::api {

namespace {

std::array<uint8_t, 32> Hash(std::string_view token) {
  core::Sha256 h;
  h.Update(token);
  return h.Final();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "read", "write", "read,write" (any order) -> scopes; 0 when it is not a scope list.
unsigned ParseScopes(std::string_view s) {
  unsigned scopes = 0;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view one = Trim(s.substr(0, comma));
    if (one == "read") {
      scopes |= kScopeRead;
    } else if (one == "write") {
      scopes |= kScopeWrite;
    } else {
      return 0;
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return scopes;
}

bool NeedsWrite(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

// "/api" guards "/api" and "/api/x", not "/apix".
bool UnderPrefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/' || prefix.back() == '/';
}

// The host of a Host header value: "127.0.0.1:8000" -> "127.0.0.1", "[::1]:80" -> "::1".
std::string_view HostName(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// The media type of a Content-Type value, without parameters: "application/json".
std::string_view MediaType(std::string_view content_type) {
  return Trim(content_type.substr(0, content_type.find(';')));
}

Response Refusal(int status, std::string message) {
  return Response::Error(status, std::move(message));
}

std::string_view RoutePath(std::string_view route) {
  size_t space = route.find(' ');
  return space == std::string_view::npos ? route : route.substr(space + 1);
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // CRYPTO_memcmp's time depends on the length only. A length mismatch compares `a` with
  // itself instead of returning early, so the time still depends on a's length alone.
  bool same_size = a.size() == b.size();
  std::string_view other = same_size ? b : a;
  return (CRYPTO_memcmp(a.data(), other.data(), a.size()) == 0) & same_size;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  if (host.substr(0, 4) != "127.") return false;
  // 127.a.b.c with numeric parts.
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

StatusOr<std::string> GenerateToken() {
  unsigned char bytes[32];
  // OpenSSL's CSPRNG, seeded from getrandom(2); fails only when the kernel cannot seed it.
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    const char* why = ERR_reason_error_string(ERR_get_error());
    return Status::IOError(std::string("RAND_bytes: ") + (why ? why : "no random bytes"));
  }
  return core::HexLower(bytes, sizeof(bytes));
}

StatusOr<std::string> ReadTokenFile(const std::string& path) {
  constexpr off_t kMaxBytes = 1 << 20;
  // O_NONBLOCK: a FIFO planted under the name must not hang the open.
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(path + " does not exist");
    if (err == ELOOP)
      return Status::InvalidArgument(path +
                                     " is a symbolic link; refusing to read tokens through it "
                                     "(point the setting at the file itself)");
    return Status::IOError(path + ": " + strerror(err));
  }
  struct stat st {};
  std::string why;
  if (fstat(fd, &st) != 0) {
    why = std::string("cannot stat: ") + strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "is not a regular file";
  } else if (st.st_uid != geteuid()) {
    why = "is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
          std::to_string(geteuid()) + ")";
  } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    why = std::string("is writable by ") + ((st.st_mode & S_IWOTH) ? "everyone" : "its group") +
          " (mode " + mode + "); anyone who can write it can add a token (chmod 600 it)";
  } else if (st.st_size > kMaxBytes) {
    why = "is larger than 1 MiB";
  }
  if (!why.empty()) {
    close(fd);
    return Status::InvalidArgument(path + " " + why);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::IOError(path + ": " + strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxBytes)) {
      close(fd);
      return Status::InvalidArgument(path + " is larger than 1 MiB");
    }
  }
  close(fd);
  return text;
}

Status WriteTokenFile(const std::string& path, const std::string& token) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST)
      return Status::IOError(path + " already exists (a file or a link); not writing through it");
    return Status::IOError(path + ": " + strerror(err));
  }
  fchmod(fd, 0600);  // a umask cannot widen it, but one like 0377 would narrow it to unreadable
  std::string text = token + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      unlink(path.c_str());
      return Status::IOError(path + ": " + strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return Status::IOError(path + ": " + strerror(errno));
  return Status::OK();
}

bool TokenBucket::HasToken(double now, double* retry_after) {
  if (last_ >= 0 && now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
  if (last_ < 0 || now > last_) last_ = now;
  if (tokens_ >= 1) return true;
  if (retry_after) *retry_after = rate_ > 0 ? (1 - tokens_) / rate_ : 1;
  return false;
}

bool TokenBucket::Take(double now, double* retry_after) {
  if (last_ >= 0 && now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
  if (last_ < 0 || now > last_) last_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  if (retry_after) *retry_after = rate_ > 0 ? (1 - tokens_) / rate_ : 1;
  return false;
}

Auth::Auth(AuthOptions options) : options_(std::move(options)) {
  if (!options_.now) {
    options_.now = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  if (options_.metrics_open) options_.open_paths.insert("/metrics");
}

Status Auth::AddToken(std::string_view token, unsigned scopes) {
  if (token.empty()) return Status::InvalidArgument("empty token");
  if ((scopes & kScopeAll) == 0) return Status::InvalidArgument("token without a scope");
  tokens_.push_back(Entry{Hash(token), scopes & kScopeAll});
  // The sign-in link's token: the first read+write one, else the first that reads.
  if ((scopes & kScopeRead) &&
      (sign_in_token_.empty() || ((scopes & kScopeAll) == kScopeAll && !sign_in_all_))) {
    sign_in_token_ = std::string(token);
    sign_in_all_ = (scopes & kScopeAll) == kScopeAll;
  }
  return Status::OK();
}

Status Auth::AddTokens(std::string_view text, std::string_view separators) {
  int index = 0;
  while (!text.empty()) {
    size_t end = text.find_first_of(separators);
    std::string_view entry = Trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (entry.empty() || entry.front() == '#') continue;
    ++index;
    unsigned scopes = kScopeAll;
    std::string_view token = entry;
    size_t colon = entry.find(':');
    if (colon != std::string_view::npos) {
      unsigned parsed = ParseScopes(entry.substr(0, colon));
      if (parsed != 0) {
        scopes = parsed;
        token = Trim(entry.substr(colon + 1));
      }
    }
    if (token.empty()) {
      return Status::InvalidArgument("token entry " + std::to_string(index) + " has no token");
    }
    if (Status s = AddToken(token, scopes); !s.ok()) return s;
  }
  return Status::OK();
}

int Auth::Find(std::string_view token) const {
  auto h = Hash(token);
  std::string_view hv(reinterpret_cast<const char*>(h.data()), h.size());
  int found = -1;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    std::string_view stored(reinterpret_cast<const char*>(tokens_[i].hash.data()), 32);
    bool eq = ConstantTimeEquals(stored, hv);
    if (eq && found < 0) found = static_cast<int>(i);
  }
  return found;
}

unsigned Auth::ScopesOf(std::string_view token) const {
  int i = Find(token);
  return i < 0 ? 0 : tokens_[i].scopes;
}

bool Auth::SameSiteOnly(const Request& req, const Responder& respond) const {
  const std::string* host = req.headers.Find("Host");
  if (host != nullptr && !IsLoopbackHost(HostName(*host))) {
    respond(Refusal(403, "with --no-auth only loopback host names are served (Host: " + *host +
                             "); a foreign name here is a DNS-rebinding page"));
    return false;
  }
  const std::string* origin = req.headers.Find("Origin");
  if (origin != nullptr && (host == nullptr || !EqualsIgnoreCase(*origin, "http://" + *host))) {
    respond(Refusal(
        403, "with --no-auth requests from another origin are refused (Origin: " + *origin + ")"));
    return false;
  }
  bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (body_method && !req.route.empty()) {
    std::string_view type = MediaType(req.Header("Content-Type"));
    bool ok = EqualsIgnoreCase(type, "application/json") ||
              (EqualsIgnoreCase(type, "multipart/form-data") &&
               options_.upload_routes.count(req.route) != 0);
    if (!ok) {
      respond(Refusal(415, "with --no-auth " + req.method +
                               " needs Content-Type: application/json (got '" + std::string(type) +
                               "'), which a page on another site cannot send"));
      return false;
    }
  }
  return true;
}

bool Auth::FailuresAllow(const std::string& address, const Responder& respond) {
  if (options_.failures_per_minute <= 0) return true;
  double retry = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = failures_.find(address);
    if (it == failures_.end() || it->second.HasToken(options_.now(), &retry)) return true;
  }
  Response r = Response::Error(429, "too many wrong tokens from this address; retry later");
  r.headers.Set("Retry-After", std::to_string(std::max<int64_t>(1, std::ceil(retry))));
  respond(std::move(r));
  return false;
}

void Auth::CountFailure(const std::string& address) {
  if (options_.failures_per_minute <= 0) return;
  std::lock_guard<std::mutex> l(mu_);
  double now = options_.now();
  auto it = failures_.find(address);
  if (it == failures_.end()) {
    // Bounded: addresses whose bucket refilled are forgotten first.
    if (failures_.size() >= 10'000) {
      for (auto f = failures_.begin(); f != failures_.end();) {
        f->second.HasToken(now, nullptr);
        f = f->second.full() ? failures_.erase(f) : std::next(f);
      }
      if (failures_.size() >= 10'000) failures_.erase(failures_.begin());
    }
    double per_s = options_.failures_per_minute / 60;
    it = failures_.emplace(address, TokenBucket(per_s, options_.failures_per_minute)).first;
  }
  it->second.Take(now, nullptr);
}

bool Auth::Filter(const Request& req, const Responder& respond) {
  if (!options_.enabled && !SameSiteOnly(req, respond)) return false;
  if (req.route.empty()) {
    // No route: outside the guarded prefixes the router answers 404 / 405 as it would for
    // anyone; under them the token is checked first.
    bool guarded = false;
    for (const std::string& p : options_.guarded_prefixes)
      guarded = guarded || UnderPrefix(req.path, p);
    if (!guarded) return true;
  } else if (!NeedsWrite(req.method) &&
             (options_.open_paths.count(std::string(RoutePath(req.route))) != 0 ||
              options_.open_paths.count(req.path) != 0)) {
    return true;
  }
  int who = -1;
  if (options_.enabled) {
    std::string_view header = Trim(req.Header("Authorization"));
    std::string_view token;
    if (header.size() > 7 && EqualsIgnoreCase(header.substr(0, 7), "Bearer ")) {
      token = Trim(header.substr(7));
    }
    if (!token.empty() && !FailuresAllow(req.remote_address, respond)) return false;
    who = token.empty() ? -1 : Find(token);
    if (!token.empty() && who < 0) CountFailure(req.remote_address);
    if (who < 0) {
      Response r = Response::Error(
          401, token.empty() ? "a bearer token is required" : "the bearer token is not valid");
      r.headers.Set("WWW-Authenticate", token.empty() ? std::string("Bearer realm=\"robotni\"")
                                                      : std::string("Bearer realm=\"robotni\", "
                                                                    "error=\"invalid_token\""));
      respond(std::move(r));
      return false;
    }
  }
  if (options_.rate_limit > 0) {
    double retry = 0;
    bool ok;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = buckets_.find(who);
      if (it == buckets_.end()) {
        it = buckets_.emplace(who, TokenBucket(options_.rate_limit, 2 * options_.rate_limit)).first;
      }
      ok = it->second.Take(options_.now(), &retry);
    }
    if (!ok) {
      Response r = Response::Error(429, "rate limit exceeded; retry later");
      r.headers.Set("Retry-After", std::to_string(std::max<int64_t>(1, std::ceil(retry))));
      respond(std::move(r));
      return false;
    }
  }
  if (options_.enabled) {
    unsigned need = NeedsWrite(req.method) ? kScopeWrite : kScopeRead;
    if ((tokens_[who].scopes & need) == 0) {
      const char* scope = need == kScopeWrite ? "write" : "read";
      Response r = Response::Error(403, std::string("this token lacks the ") + scope + " scope");
      r.headers.Set("WWW-Authenticate", std::string("Bearer realm=\"robotni\", "
                                                    "error=\"insufficient_scope\", scope=\"") +
                                            scope + "\"");
      respond(std::move(r));
      return false;
    }
  }
  return true;
}

}  // namespace robotni::api
