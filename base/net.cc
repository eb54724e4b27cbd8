#include "base/net.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/paths.h"

namespace mosix {

absl::StatusOr<sockaddr_in> ParseIpv4Address(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 || port > 65535 ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad address '", address, "' (want IPv4 host:port)"));
  }
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr;
  if (!FillUnixAddress(path, &addr)) return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  return addr;
}

absl::Status CheckAgentSocket(const std::string& path) {
  int err = 0;
  std::string problem = AgentSocketProblem(path, &err);
  if (problem.empty()) return absl::OkStatus();
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(problem);
  if (err == ENAMETOOLONG) return absl::InvalidArgumentError(problem);
  return absl::UnavailableError(problem);
}

std::string HostPart(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

void SetIoTimeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

absl::StatusOr<UniqueFd> AcceptBefore(int listener, std::chrono::steady_clock::time_point deadline, const std::string& what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{listener, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) {
      return absl::DeadlineExceededError(absl::StrCat("the ", what, " never connected"));
    }
    UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (fd.valid()) return fd;
  }
}

std::string ListenHost(const std::string& node_address) {
  return node_address.empty() ? "127.0.0.1" : HostPart(node_address);
}

}  // namespace mosix
