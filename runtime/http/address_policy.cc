#include "http/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace robotni::http {

namespace {

// An address as family + bytes; IPv4 carried in IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d)
// becomes the IPv4 address it carries.
struct Addr {
  int family = 0;
  std::array<uint8_t, 16> b{};
  int port = 0;
};

Addr Normalize(const sockaddr* sa) {
  Addr a;
  if (!sa) return a;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    a.family = AF_INET;
    std::memcpy(a.b.data(), &in->sin_addr, 4);
    a.port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    a.family = AF_INET6;
    std::memcpy(a.b.data(), &in6->sin6_addr, 16);
    a.port = ntohs(in6->sin6_port);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (std::memcmp(a.b.data(), kMapped, 12) == 0 || std::memcmp(a.b.data(), kNat64, 12) == 0) {
      a.family = AF_INET;
      std::memmove(a.b.data(), a.b.data() + 12, 4);
      std::memset(a.b.data() + 4, 0, 12);
    }
  }
  return a;
}

bool PrefixMatch(const uint8_t* a, const uint8_t* net, int prefix) {
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, net, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

struct Reserved {
  int family;
  const char* net;
  int prefix;
  const char* kind;
};

// Most specific first: 255.255.255.255 before 240/4.
const Reserved kReserved[] = {
    {AF_INET, "255.255.255.255", 32, "broadcast"},
    {AF_INET, "0.0.0.0", 8, "unspecified"},
    {AF_INET, "127.0.0.0", 8, "loopback"},
    {AF_INET, "169.254.0.0", 16, "link-local"},
    {AF_INET, "10.0.0.0", 8, "private"},
    {AF_INET, "172.16.0.0", 12, "private"},
    {AF_INET, "192.168.0.0", 16, "private"},
    {AF_INET, "100.64.0.0", 10, "shared"},
    {AF_INET, "192.0.0.0", 24, "reserved"},
    {AF_INET, "198.18.0.0", 15, "reserved"},
    {AF_INET, "224.0.0.0", 4, "multicast"},
    {AF_INET, "240.0.0.0", 4, "reserved"},
    {AF_INET6, "::", 128, "unspecified"},
    {AF_INET6, "::1", 128, "loopback"},
    {AF_INET6, "::", 96, "reserved"},  // IPv4-compatible, deprecated
    {AF_INET6, "fe80::", 10, "link-local"},
    {AF_INET6, "fec0::", 10, "private"},  // site-local, deprecated
    {AF_INET6, "fc00::", 7, "private"},
    {AF_INET6, "ff00::", 8, "multicast"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether `a` is an address of this host: bind(2) to it succeeds only then.
bool IsLocal(const Addr& a) {
  int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool local;
  if (a.family == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    std::memcpy(&in.sin_addr, a.b.data(), 4);
    local = bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in)) == 0;
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    std::memcpy(&in6.sin6_addr, a.b.data(), 16);
    local = bind(fd, reinterpret_cast<sockaddr*>(&in6), sizeof(in6)) == 0;
  }
  close(fd);
  return local;
}

std::string KindOf(const Addr& a) {
  for (const Reserved& r : kReserved) {
    if (r.family != a.family) continue;
    uint8_t net[16] = {};
    inet_pton(r.family, r.net, net);
    if (PrefixMatch(a.b.data(), net, r.prefix)) return r.kind;
  }
  return "";
}

}  // namespace

std::string ReservedRangeOf(const sockaddr* addr) {
  Addr a = Normalize(addr);
  if (a.family == 0) return "reserved";
  return KindOf(a);
}

std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    return Lower(rest.substr(1, close == std::string_view::npos ? rest.npos : close - 1));
  }
  return Lower(rest.substr(0, rest.find(':')));
}

StatusOr<AddressPolicy> AddressPolicy::Make(const std::vector<std::string>& allow) {
  AddressPolicy p;
  for (const std::string& raw : allow) {
    std::string entry = raw;
    while (!entry.empty() && isspace(static_cast<unsigned char>(entry.back()))) entry.pop_back();
    while (!entry.empty() && isspace(static_cast<unsigned char>(entry.front()))) entry.erase(0, 1);
    if (entry.empty()) continue;
    std::string addr = entry, prefix;
    if (size_t slash = entry.find('/'); slash != std::string::npos) {
      addr = entry.substr(0, slash);
      prefix = entry.substr(slash + 1);
    }
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']')
      addr = addr.substr(1, addr.size() - 2);
    Range r;
    if (inet_pton(AF_INET, addr.c_str(), r.bytes.data()) == 1) {
      r.family = AF_INET;
    } else if (inet_pton(AF_INET6, addr.c_str(), r.bytes.data()) == 1) {
      r.family = AF_INET6;
    }
    int max = r.family == AF_INET ? 32 : 128;
    if (r.family != 0) {
      r.prefix = max;
      if (!prefix.empty()) {
        char* end = nullptr;
        long n = strtol(prefix.c_str(), &end, 10);
        if (*end != '\0' || n < 0 || n > max || !isdigit(static_cast<unsigned char>(prefix[0])))
          return Status::InvalidArgument("'" + raw + "': the prefix length must be 0 to " +
                                         std::to_string(max));
        r.prefix = static_cast<int>(n);
      }
      p.ranges_.push_back(r);
      continue;
    }
    bool name = prefix.empty() && entry.find('/') == std::string::npos;
    for (char c : entry)
      name = name && (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_');
    if (!name)
      return Status::InvalidArgument("'" + raw +
                                     "' is not a host name, an IP address or a CIDR range "
                                     "(like 10.0.0.0/8)");
    p.hosts_.push_back(Lower(entry));
  }
  return p;
}

bool AddressPolicy::InRange(const Range& r, const sockaddr* addr) {
  Addr a = Normalize(addr);
  if (a.family == r.family) return PrefixMatch(a.b.data(), r.bytes.data(), r.prefix);
  // An IPv6 range written for a v4-mapped address (::ffff:10.0.0.0/104) covers that IPv4.
  if (r.family == AF_INET6 && a.family == AF_INET && r.prefix >= 96) {
    uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(mapped + 12, a.b.data(), 4);
    return PrefixMatch(mapped, r.bytes.data(), r.prefix);
  }
  return false;
}

std::string AddressPolicy::Check(const sockaddr* addr, std::string_view url_host) const {
  Addr a = Normalize(addr);
  if (a.family == 0) return "refused: not an IPv4 or IPv6 address";
  if (self_port_ > 0 && a.port == self_port_) {
    std::string kind = KindOf(a);
    if (kind == "loopback" || kind == "unspecified" || IsLocal(a))
      return "refused: the target is this server's own address (a webhook into its own API is "
             "never sent)";
  }
  std::string host = Lower(url_host);
  for (const std::string& h : hosts_)
    if (h == host) return "";
  for (const Range& r : ranges_)
    if (InRange(r, addr)) return "";
  std::string kind = KindOf(a);
  if (kind.empty()) return "";
  return "refused: the target resolves to a " + kind +
         " address (webhooks.allow opens hosts and ranges for development)";
}

}  // namespace robotni::http
