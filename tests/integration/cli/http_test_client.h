#ifndef ROBOTNI_TESTS_INTEGRATION_CLI_HTTP_TEST_CLIENT_H_
#define ROBOTNI_TESTS_INTEGRATION_CLI_HTTP_TEST_CLIENT_H_

// A minimal HTTP/1.1 client for the serve tests: one request per connection
// (Connection: close) to 127.0.0.1, read to EOF.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

namespace robotni::testing {

struct HttpReply {
  int status = 0;       // 0 when the connection failed
  std::string head;     // status line and headers
  std::string raw;      // body bytes
  nlohmann::json body;  // body parsed as JSON (discarded when it is not JSON)

  // The value of header `name` (case-insensitive), "" when absent.
  std::string Header(const std::string& name) const {
    std::string lower_head = head, lower_name = name + ":";
    for (auto& c : lower_head) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    for (auto& c : lower_name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    size_t at = lower_head.find("\r\n" + lower_name);
    if (at == std::string::npos) return "";
    size_t start = at + 2 + lower_name.size();
    size_t end = head.find("\r\n", start);
    std::string v = head.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  }
};

// Sends `method path` with `body` (and a bearer `token` when not empty, and `extra_headers`).
inline HttpReply SendHttp(int port, const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& token = "",
                          const std::string& content_type = "application/json",
                          const std::string& extra_headers = "") {
  HttpReply reply;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return reply;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += extra_headers;  // whole lines, each ending in \r\n
  if (!body.empty() || method == "POST")
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = write(fd, req.data() + sent, req.size() - sent);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) resp.append(buf, n);
  close(fd);
  if (resp.size() > 12) reply.status = std::stoi(resp.substr(9, 3));
  auto split = resp.find("\r\n\r\n");
  if (split != std::string::npos) {
    reply.head = resp.substr(0, split);
    reply.raw = resp.substr(split + 4);
    reply.body = nlohmann::json::parse(reply.raw, nullptr, false);
  }
  return reply;
}

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_INTEGRATION_CLI_HTTP_TEST_CLIENT_H_
