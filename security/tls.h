// TLS between nodes on connections the agents open themselves (the image stream, the
// forwarded-call link): both ends show their node's certificate, both check that the other's
// is signed by the cluster's CA and names the node they expect. Kernel TLS is not there on
// these machines: records are sealed in user space (AES-GCM, with the CPU's AES instructions).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/byte_stream.h"
#include "base/fd.h"
#include "security/certs.h"

namespace mosix::security {

namespace internal {
class BulkCipher;
}

// What a connection carries. kBulk: large payloads besides messages (an image stream): they go
// as bulk records (WriteBulk, internal/bulk_cipher.h), sealed in one piece, in place; TLS
// records are then read exactly (no read-ahead), so that the bytes of a bulk record that
// follows one are left on the socket for ReadBulk.
enum class TlsTraffic { kMessages, kBulk };

class TlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(const NodeCredentials& creds);
  ~TlsContext();
  const std::string& node() const { return node_; }

 private:
  friend class TlsConnection;
  TlsContext() = default;
  std::string node_;
  void* ctx_ = nullptr;  // SSL_CTX
};

class TlsConnection final : public ByteStream {
 public:
  // The server's side of a handshake on a connected socket, which must come from a peer whose
  // certificate names `peer_node`; within timeout_ms.
  static absl::StatusOr<std::unique_ptr<TlsConnection>> Accept(const TlsContext& ctx, UniqueFd fd, const std::string& peer_node,
                                                              int timeout_ms, std::string what,
                                                              TlsTraffic traffic = TlsTraffic::kMessages);
  // The client's side, to the node `server_node`.
  static absl::StatusOr<std::unique_ptr<TlsConnection>> Connect(const TlsContext& ctx, UniqueFd fd,
                                                               const std::string& server_node, int timeout_ms, std::string what,
                                                               TlsTraffic traffic = TlsTraffic::kMessages);
  ~TlsConnection() override;

  absl::Status Write(const void* data, size_t len) override;
  absl::StatusOr<size_t> ReadSome(void* data, size_t len) override;
  // On a kBulk connection, a bulk record (else as Write and Read). ReadBulk must come where the
  // writer's WriteBulk came, after whole messages (no bytes of a TLS record left unread).
  absl::Status WriteBulk(char* data, size_t len) override;
  absl::Status ReadBulk(char* data, size_t len) override;
  const std::string& what() const override { return what_; }
  bool Authenticated() const override { return true; }  // (AES-GCM records)

  // The socket, for poll(); and whether bytes read from it wait here, to be read without it.
  int fd() const { return fd_.get(); }
  bool HasBuffered() const;
  // Closes the TLS session cleanly (close_notify), then the socket.
  void Close();

 private:
  TlsConnection(UniqueFd fd, std::string what);
  static absl::StatusOr<std::unique_ptr<TlsConnection>> Handshake(const TlsContext& ctx, UniqueFd fd, const std::string& peer,
                                                                 bool server, int timeout_ms, std::string what, TlsTraffic traffic);

  UniqueFd fd_;
  std::string what_;
  void* ssl_ = nullptr;  // SSL
  // kBulk: this end's ciphers for bulk records (made at the handshake).
  std::unique_ptr<internal::BulkCipher> seal_, open_;
};

}  // namespace mosix::security
