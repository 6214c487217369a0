#ifndef ROBOTNI_RUNTIME_API_AUTH_H_
#define ROBOTNI_RUNTIME_API_AUTH_H_

// Bearer-token authentication, scopes and a per-token rate limit for the HTTP API, run as the
// Router's filter before a handler.
//
// Tokens come from a token file (--token-file) and from ROBOTNI_TOKENS. Each entry is
// "SCOPES:TOKEN" where SCOPES is "read", "write" or "read,write", or a bare "TOKEN" meaning
// read and write. In a file: one entry a line, blank lines and lines starting with '#'
// ignored. In ROBOTNI_TOKENS: entries separated by whitespace or ';'. Only the SHA-256 of a
// token is kept in memory; a presented token is hashed and compared with every stored hash in
// constant time.
//
// GET, HEAD and OPTIONS need the read scope; every other method needs write. Without a valid
// token the answer is 401 (WWW-Authenticate: Bearer); with too small a scope, 403. Open paths
// (/healthz, /readyz, /openapi.json, the dashboard's static files; /metrics when configured)
// need no token for GET, HEAD and OPTIONS; they match the request path or the route's pattern.
// A request that matched no route is authenticated too when its path is under a guarded
// prefix (/api): there 401 comes before 404 / 405, so probing without a token cannot tell
// routes or methods apart; elsewhere it passes on and the router answers 404 / 405.
// With a rate limit of N requests/s, each token has a bucket of 2N that refills at N/s; an
// empty bucket answers 429 with Retry-After in whole seconds.
// Wrong tokens are limited per client address: failures_per_minute wrong tokens in a burst,
// refilled at that rate; past them every request from that address that needs a token gets
// 429 with Retry-After, without its token being looked at (so guessing learns nothing).
// With --no-auth (enabled false) a browser on another site must not drive the API: the Host
// must be a loopback name (DNS rebinding), an Origin must be the server's own, and POST, PUT
// and PATCH need Content-Type application/json (multipart/form-data on upload routes), which
// a foreign page cannot send without a CORS preflight that serve never grants.
// Thread-safety: build it before the server starts; Filter() is safe from any thread (one
// mutex guards the buckets), though the server calls it on the loop thread only.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "http/request.h"
#include "http/responder.h"
#include "robotni/status.h"

namespace robotni::api {

enum Scope : unsigned { kScopeRead = 1, kScopeWrite = 2, kScopeAll = 3 };

// Equality of two byte strings whose running time depends on their lengths only, not on
// where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Whether `host` (as given to --listen, brackets removed) is a loopback address:
// 127.0.0.0/8, ::1 or "localhost".
bool IsLoopbackHost(std::string_view host);

// 32 random bytes (256 bits) from OpenSSL's RAND_bytes (seeded from getrandom(2)) as 64
// lowercase hex digits. IOError when there are none to give.
StatusOr<std::string> GenerateToken();

// The text of a token file, read only when it is safe to trust: a regular file (not a
// symbolic link, FIFO or directory; opened with O_NOFOLLOW and checked with fstat on that
// descriptor), owned by this user, not writable by group or others, at most 1 MiB.
// NotFound when it does not exist; InvalidArgument (the message says why) when it is unsafe.
StatusOr<std::string> ReadTokenFile(const std::string& path);

// Creates `path` with mode 0600 (whatever the umask) holding `token` and a newline. Never
// follows or replaces an existing name (O_CREAT | O_EXCL | O_NOFOLLOW): a file or symbolic
// link already there is an error.
Status WriteTokenFile(const std::string& path, const std::string& token);

// A token bucket: `rate` tokens a second up to `burst`, starting full. Not thread-safe.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // Takes one token at time `now` (seconds, monotonic). When none is left returns false and
  // sets *retry_after to the seconds until one will be.
  bool Take(double now, double* retry_after);
  // Whether a token is left at `now`, without taking it; else *retry_after as in Take.
  bool HasToken(double now, double* retry_after);
  double tokens() const { return tokens_; }
  bool full() const { return tokens_ >= burst_; }

 private:
  double rate_, burst_, tokens_;
  double last_ = -1;
};

struct AuthOptions {
  bool enabled = true;        // false: --no-auth, every request passes (rate limit aside)
  double rate_limit = 0;      // requests/s per token; 0 = no limit. Burst is 2x.
  bool metrics_open = false;  // /metrics without a token
  std::set<std::string> open_paths = {"/healthz", "/readyz", "/openapi.json"};  // read methods
  // Unmatched requests under these are authenticated ("/api" covers "/api" and "/api/...").
  std::vector<std::string> guarded_prefixes = {"/api"};
  std::function<double()> now;  // monotonic seconds; default steady_clock
  // Wrong tokens a client address may present in a burst and then per minute; 0 = no limit.
  double failures_per_minute = 10;
  // --no-auth: routes ("POST /path/{x}") that take multipart/form-data as well as JSON.
  std::set<std::string> upload_routes = {"POST /api/work-items/{id}/files"};
};

class Auth {
 public:
  explicit Auth(AuthOptions options = {});

  // Parses entries ("SCOPES:TOKEN" or "TOKEN") from `text`; `separators` split entries
  // ("\n" for a file; " \t\n;" for the environment). InvalidArgument names the bad entry's
  // position (never the token).
  Status AddTokens(std::string_view text, std::string_view separators);
  // Adds one token with `scopes` (kScopeRead | kScopeWrite). InvalidArgument when empty.
  Status AddToken(std::string_view token, unsigned scopes);
  size_t token_count() const { return tokens_.size(); }
  // The token serve puts in the dashboard's sign-in link (`dashboard: URL/#token=...`): the
  // first read+write token added, else the first with read; "" when none (or --no-auth).
  const std::string& sign_in_token() const { return sign_in_token_; }
  const AuthOptions& options() const { return options_; }

  // The scopes of `token`, 0 when it is not known. Hashes it and compares with every stored
  // hash in constant time, without an early exit.
  unsigned ScopesOf(std::string_view token) const;

  // The Router filter: true to pass the request on, false after answering 401/403/429.
  bool Filter(const Request& req, const Responder& respond);

 private:
  struct Entry {
    std::array<uint8_t, 32> hash;
    unsigned scopes;
  };
  int Find(std::string_view token) const;  // index into tokens_, or -1
  // --no-auth: refuses (answering) what a foreign web page could send; true to go on.
  bool SameSiteOnly(const Request& req, const Responder& respond) const;
  // Whether `address` may present a token now; else answers 429.
  bool FailuresAllow(const std::string& address, const Responder& respond);
  void CountFailure(const std::string& address);

  AuthOptions options_;
  std::vector<Entry> tokens_;
  std::string sign_in_token_;
  bool sign_in_all_ = false;  // sign_in_token_ has read and write
  std::mutex mu_;
  std::map<int, TokenBucket> buckets_;           // by token index (-1: anonymous, --no-auth); mu_
  std::map<std::string, TokenBucket> failures_;  // wrong tokens by client address; mu_
};

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_AUTH_H_
