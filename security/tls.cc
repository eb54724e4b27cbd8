#include "security/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/net.h"
#include "base/status.h"
#include "security/internal/bulk_cipher.h"
#include "security/internal/openssl_util.h"

namespace mosix::security {
namespace {

using internal::OpenSslError;
using internal::Owned;

SSL* S(void* p) { return static_cast<SSL*>(p); }

constexpr long kIoBuffer = 256 << 10;

std::string SslFailure(SSL* ssl, int ret) {
  int err = SSL_get_error(ssl, ret);
  unsigned long e = ERR_peek_error();
  std::string detail;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail = buf;
  } else if (err == SSL_ERROR_SYSCALL) {
    detail = errno ? strerror(errno) : "connection closed";
  } else if (err == SSL_ERROR_ZERO_RETURN) {
    detail = "closed by the peer";
  } else {
    detail = absl::StrCat("TLS error ", err);
  }
  ERR_clear_error();
  return detail;
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(const NodeCredentials& creds) {
  auto out = std::shared_ptr<TlsContext>(new TlsContext);
  out->node_ = creds.node;
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return OpenSslError("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  // AES-128-GCM first: the CPU seals it fastest, and it is as sound as the others here.
  SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  // No session tickets: a connection is used once, and a ticket left unread by a client that
  // only writes (the image stream) would make its close a reset that loses the stream's tail.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  ASSIGN_OR_RETURN(Owned<X509> cert, internal::ParseCert(creds.cert_pem, "this node's certificate"));
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, internal::ParseKey(creds.key_pem, "this node's key"));
  ASSIGN_OR_RETURN(Owned<X509> ca, internal::ParseCert(creds.ca_pem, "the cluster's CA certificate"));
  if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return OpenSslError("this node's key and certificate");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  if (X509_STORE_add_cert(store, ca.get()) != 1) return OpenSslError("the cluster's CA certificate");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  out->ctx_ = ctx.release();
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

TlsConnection::TlsConnection(UniqueFd fd, std::string what) : fd_(std::move(fd)), what_(std::move(what)) {}

TlsConnection::~TlsConnection() { SSL_free(S(ssl_)); }

absl::StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Accept(const TlsContext& ctx, UniqueFd fd,
                                                                     const std::string& peer_node, int timeout_ms,
                                                                     std::string what, TlsTraffic traffic) {
  return Handshake(ctx, std::move(fd), peer_node, /*server=*/true, timeout_ms, std::move(what), traffic);
}

absl::StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Connect(const TlsContext& ctx, UniqueFd fd,
                                                                      const std::string& server_node, int timeout_ms,
                                                                      std::string what, TlsTraffic traffic) {
  return Handshake(ctx, std::move(fd), server_node, /*server=*/false, timeout_ms, std::move(what), traffic);
}

absl::StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Handshake(const TlsContext& ctx, UniqueFd fd,
                                                                        const std::string& peer, bool server,
                                                                        int timeout_ms, std::string what,
                                                                        TlsTraffic traffic) {
  auto c = std::unique_ptr<TlsConnection>(new TlsConnection(std::move(fd), std::move(what)));
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx.ctx_));
  if (!ssl) return OpenSslError("SSL_new");
  c->ssl_ = ssl;
  if (SSL_set_fd(ssl, c->fd_.get()) != 1) return OpenSslError("SSL_set_fd");
  // Records are at most 16 KB: read ahead into a big buffer, so that a stream costs one read
  // per 256 KB, not two per record (header, then body). (Writes go out a record at a time:
  // gathering them would cost a copy of every byte, dearer here than the system calls.) Not
  // where bulk records follow TLS records: their bytes must stay on the socket.
  if (traffic == TlsTraffic::kMessages) {
    SSL_set_read_ahead(ssl, 1);
    SSL_set_default_read_buffer_len(ssl, kIoBuffer);
  }
  if (!server) SSL_set1_host(ssl, peer.c_str());  // the server's certificate must name it
  SetIoTimeouts(c->fd_.get(), timeout_ms);
  int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
  if (r != 1) {
    long verify = SSL_get_verify_result(ssl);
    std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : SslFailure(ssl, r);
    return absl::PermissionDeniedError(absl::StrCat(c->what_, ": TLS handshake with ", peer, " failed: ", why));
  }
  SetIoTimeouts(c->fd_.get(), 0);
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return absl::PermissionDeniedError(absl::StrCat(c->what_, ": the peer showed no certificate"));
  ASSIGN_OR_RETURN(std::string name, internal::CommonName(cert));
  if (name != peer) {
    return absl::PermissionDeniedError(absl::StrCat(c->what_, ": the peer is node ", name, ", not ", peer));
  }
  if (traffic == TlsTraffic::kBulk) {
    ASSIGN_OR_RETURN(internal::BulkKeys keys, internal::ExportBulkKeys(ssl));
    auto seal = internal::BulkCipher::Create(keys.seal, internal::BulkCipher::Direction::kSeal);
    auto open = internal::BulkCipher::Create(keys.open, internal::BulkCipher::Direction::kOpen);
    OPENSSL_cleanse(&keys, sizeof keys);
    if (!seal.ok()) return seal.status();
    if (!open.ok()) return open.status();
    c->seal_ = std::make_unique<internal::BulkCipher>(*std::move(seal));
    c->open_ = std::make_unique<internal::BulkCipher>(*std::move(open));
  }
  return c;
}

absl::Status TlsConnection::WriteBulk(char* data, size_t len) {
  if (!seal_) return Write(data, len);
  unsigned char tag[internal::kBulkTagSize];
  RETURN_IF_ERROR(Annotate(seal_->Seal(data, len, tag), what_));
  RETURN_IF_ERROR(WriteAll(fd_.get(), data, len, what_));
  return WriteAll(fd_.get(), tag, sizeof tag, what_);
}

absl::Status TlsConnection::ReadBulk(char* data, size_t len) {
  if (!open_) return Read(data, len);
  if (SSL_has_pending(S(ssl_))) {
    return absl::DataLossError(absl::StrCat(what_, ": a bulk record where the rest of a TLS record was expected"));
  }
  unsigned char tag[internal::kBulkTagSize];
  absl::Status read = ReadAll(fd_.get(), data, len, what_);
  if (read.ok()) read = ReadAll(fd_.get(), tag, sizeof tag, what_);
  if (absl::IsOutOfRange(read)) return absl::DataLossError(absl::StrCat(what_, ": ended inside a bulk record"));
  RETURN_IF_ERROR(read);
  return Annotate(open_->Open(data, len, tag), what_);
}

absl::Status TlsConnection::Write(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    size_t written = 0;
    int r = SSL_write_ex(S(ssl_), p, len, &written);
    if (r != 1) return absl::UnavailableError(absl::StrCat(what_, ": ", SslFailure(S(ssl_), r)));
    p += written;
    len -= written;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> TlsConnection::ReadSome(void* data, size_t len) {
  size_t got = 0;
  int r = SSL_read_ex(S(ssl_), data, len, &got);
  if (r == 1) return got;
  int err = SSL_get_error(S(ssl_), r);
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) return 0;  // closed without close_notify
  return absl::UnavailableError(absl::StrCat(what_, ": ", SslFailure(S(ssl_), r)));
}

bool TlsConnection::HasBuffered() const { return SSL_has_pending(S(ssl_)) == 1; }

void TlsConnection::Close() {
  if (ssl_ && fd_.valid()) (void)SSL_shutdown(S(ssl_));
  fd_.reset();
}

}  // namespace mosix::security
