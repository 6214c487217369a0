#ifndef ROBOTNI_RUNTIME_HTTP_ADDRESS_POLICY_H_
#define ROBOTNI_RUNTIME_HTTP_ADDRESS_POLICY_H_

// AddressPolicy: which addresses an outbound request (a webhook) may connect to. Anyone who
// can submit a job chooses its webhook URL, so by default the addresses that reach this host
// or its private network are refused: loopback (127/8, ::1), link-local (169.254/16, fe80::/10,
// where cloud metadata services answer), private (10/8, 172.16/12, 192.168/16, fc00::/7),
// shared (100.64/10), unspecified (0/8, ::), multicast and broadcast; IPv4 inside IPv6
// (::ffff:a.b.c.d, 64:ff9b::/96) is judged as the IPv4 address. The check runs on the address
// a connection is about to use (after DNS), so a name that resolves to 127.0.0.1 is refused
// as 127.0.0.1 is. An allowlist (webhooks.allow) opens host names, addresses or CIDR ranges
// for development. Serve's own port on a local address is refused whatever the allowlist
// says: a webhook into its own API turns one job into a job factory.
// Thread-safety: immutable after construction; Check from any thread.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "robotni/status.h"

namespace robotni::http {

// The reserved range `addr` (AF_INET or AF_INET6) is in: "loopback", "link-local",
// "private", "shared", "unspecified", "multicast", "broadcast" or "reserved"; "" for a
// public address.
std::string ReservedRangeOf(const sockaddr* addr);

class AddressPolicy {
 public:
  // Refuses every reserved range (the default).
  AddressPolicy() = default;

  // `allow` entries: an IP address (10.1.2.3, ::1), a CIDR range (10.0.0.0/8, fd00::/8) or a
  // host name as written in URLs (localhost, hooks.internal; matched without case).
  // InvalidArgument quoting the entry that is none of these.
  static StatusOr<AddressPolicy> Make(const std::vector<std::string>& allow);

  // Serve's own listening port (0 = none): a local address on it is always refused.
  void set_self_port(int port) { self_port_ = port; }

  // "" when a request for a URL whose host is `url_host` may connect to `addr`; otherwise
  // why not, for the job's record (it names the kind of range, not the address, so the
  // record does not map the private network to whoever submitted the job).
  std::string Check(const sockaddr* addr, std::string_view url_host) const;

 private:
  struct Range {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};
    int prefix = 0;
  };
  static bool InRange(const Range& r, const sockaddr* addr);
  std::vector<Range> ranges_;
  std::vector<std::string> hosts_;  // lower case
  int self_port_ = 0;
};

// The host of an http(s) URL, lower case, without brackets, port or credentials.
std::string UrlHost(std::string_view url);

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_ADDRESS_POLICY_H_
