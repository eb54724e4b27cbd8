// The connections a move opens besides the agents' gRPC channels: the image stream (home agent
// to target) and the forwarded-call link (deputy to the process). A target listens for each
// on a one-use port; nothing that arrives there is used before it has proven that it belongs
// to the move: with TLS, a certificate naming the home node, then, inside TLS, the move's
// one-time secret (32 random bytes the target handed over in its TLS-protected reply); on a
// trusted network, the secret alone. Anything else is dropped and the listener waits on.
#pragma once

#include <netinet/in.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/byte_stream.h"
#include "base/fd.h"
#include "security/tls.h"

namespace mosix::agent {

constexpr size_t kSecretSize = 32;

// A new one-time secret.
absl::StatusOr<std::string> NewSecret();

// One proven connection: a socket, and the TLS session on it unless the network is trusted.
struct MoveConnection {
  UniqueFd fd;
  std::unique_ptr<security::TlsConnection> tls;
  std::unique_ptr<FdStream> plain;

  ByteStream* stream() { return tls ? static_cast<ByteStream*>(tls.get()) : plain.get(); }
};

class MoveListener {
 public:
  // A listener on host (IPv4), any port, with a new secret.
  static absl::StatusOr<MoveListener> Open(const std::string& host);
  const std::string& address() const { return address_; }
  const std::string& secret() const { return secret_; }
  int fd() const { return fd_.get(); }

  // The first connection, within timeout_ms, that proves itself (see above) as coming from
  // `home_node` (tls: null on a trusted network). An image stream is kBulk traffic.
  absl::StatusOr<MoveConnection> AcceptProven(const security::TlsContext* tls, const std::string& home_node, int timeout_ms,
                                              const std::string& what,
                                              security::TlsTraffic traffic = security::TlsTraffic::kMessages);

 private:
  UniqueFd fd_;
  std::string address_;
  std::string secret_;
};

// The home side: connects to addr, proves itself (TLS as this node, then the secret).
absl::StatusOr<MoveConnection> ConnectProven(const sockaddr_in& addr, const security::TlsContext* tls,
                                             const std::string& target_node, const std::string& secret, const std::string& what,
                                             security::TlsTraffic traffic = security::TlsTraffic::kMessages);

}  // namespace mosix::agent
