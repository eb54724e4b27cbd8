#include "agent/transport/move_connection.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/net.h"
#include "base/status.h"

namespace mosix::agent {
namespace {

void NoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

absl::StatusOr<std::string> NewSecret() {
  std::string s(kSecretSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1) {
    return absl::InternalError("no random bytes for a move's secret");
  }
  return s;
}

absl::StatusOr<MoveListener> MoveListener::Open(const std::string& host) {
  MoveListener l;
  l.fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l.fd_.valid()) return ErrnoStatus("socket", "listener");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("this node's address ", host, " is not IPv4"));
  }
  if (::bind(l.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return ErrnoStatus("bind", host);
  if (::listen(l.fd_.get(), 8) != 0) return ErrnoStatus("listen", host);
  socklen_t len = sizeof addr;
  ::getsockname(l.fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  l.address_ = absl::StrCat(host, ":", ntohs(addr.sin_port));
  ASSIGN_OR_RETURN(l.secret_, NewSecret());
  return l;
}

absl::StatusOr<MoveConnection> MoveListener::AcceptProven(const security::TlsContext* tls, const std::string& home_node,
                                                          int timeout_ms, const std::string& what,
                                                          security::TlsTraffic traffic) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ASSIGN_OR_RETURN(UniqueFd fd, AcceptBefore(fd_.get(), deadline, what));
    NoDelay(fd.get());
    MoveConnection c;
    // A stranger gets at most a few seconds of the listener's time.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    int budget = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(left, 5000)));
    if (tls) {
      auto t = security::TlsConnection::Accept(*tls, std::move(fd), home_node, budget, what, traffic);
      if (!t.ok()) {
        fprintf(stderr, "mosixd: dropped a connection to the %s: %s\n", what.c_str(), std::string(t.status().message()).c_str());
        continue;
      }
      c.tls = std::move(*t);
      SetIoTimeouts(c.tls->fd(), budget);
    } else {
      c.fd = std::move(fd);
      c.plain = std::make_unique<FdStream>(c.fd.get(), what);
      SetIoTimeouts(c.fd.get(), budget);
    }
    std::string got(kSecretSize, '\0');
    absl::Status read = c.stream()->Read(got.data(), got.size());
    if (!read.ok() || CRYPTO_memcmp(got.data(), secret_.data(), kSecretSize) != 0) {
      fprintf(stderr, "mosixd: dropped a connection to the %s: it did not bring the move's secret\n", what.c_str());
      continue;
    }
    SetIoTimeouts(c.tls ? c.tls->fd() : c.fd.get(), 0);
    return c;
  }
}

absl::StatusOr<MoveConnection> ConnectProven(const sockaddr_in& addr, const security::TlsContext* tls,
                                             const std::string& target_node, const std::string& secret, const std::string& what,
                                             security::TlsTraffic traffic) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoStatus("connect", what);
  }
  NoDelay(fd.get());
  MoveConnection c;
  if (tls) {
    ASSIGN_OR_RETURN(c.tls, security::TlsConnection::Connect(*tls, std::move(fd), target_node, 10000, what, traffic));
  } else {
    c.fd = std::move(fd);
    c.plain = std::make_unique<FdStream>(c.fd.get(), what);
  }
  RETURN_IF_ERROR(c.stream()->Write(secret.data(), secret.size()));
  return c;
}

}  // namespace mosix::agent
