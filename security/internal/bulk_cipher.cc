#include "security/internal/bulk_cipher.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace mosix::security::internal {
namespace {

constexpr char kLabel[] = "EXPORTER-mosix-bulk";
constexpr char kClientToServer[] = "client to server";
constexpr char kServerToClient[] = "server to client";

absl::Status Export(SSL* ssl, const char* context, unsigned char* out) {
  if (SSL_export_keying_material(ssl, out, kBulkMaterialSize, kLabel, sizeof kLabel - 1,
                                 reinterpret_cast<const unsigned char*>(context), strlen(context), 1) != 1) {
    return OpenSslError("SSL_export_keying_material");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BulkKeys> ExportBulkKeys(SSL* ssl) {
  if (SSL_version(ssl) != TLS1_3_VERSION) return absl::FailedPreconditionError("bulk records need TLS 1.3");
  BulkKeys keys;
  bool server = SSL_is_server(ssl) == 1;
  RETURN_IF_ERROR(Export(ssl, server ? kServerToClient : kClientToServer, keys.seal));
  RETURN_IF_ERROR(Export(ssl, server ? kClientToServer : kServerToClient, keys.open));
  return keys;
}

absl::StatusOr<BulkCipher> BulkCipher::Create(const unsigned char* material, Direction direction) {
  BulkCipher c;
  c.direction_ = direction;
  c.ctx_.reset(EVP_CIPHER_CTX_new());
  if (!c.ctx_) return OpenSslError("EVP_CIPHER_CTX_new");
  // The key once; each record sets only its nonce (12 bytes: GCM's default length).
  if (EVP_CipherInit_ex(c.ctx_.get(), EVP_aes_128_gcm(), nullptr, material, nullptr,
                        direction == Direction::kSeal ? 1 : 0) != 1) {
    return OpenSslError("AES-128-GCM key");
  }
  memcpy(c.base_, material + kBulkKeySize, kBulkNonceSize);
  return c;
}

absl::Status BulkCipher::Begin(size_t len) {
  if (next_ == UINT64_MAX) return absl::ResourceExhaustedError("bulk records: nonces used up");
  unsigned char nonce[kBulkNonceSize];
  memcpy(nonce, base_, sizeof nonce);
  for (int i = 0; i < 8; ++i) nonce[kBulkNonceSize - 1 - i] ^= static_cast<unsigned char>(next_ >> (8 * i));
  ++next_;
  if (EVP_CipherInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce, -1) != 1) return OpenSslError("AES-128-GCM nonce");
  unsigned char aad[8];
  for (int i = 0; i < 8; ++i) aad[i] = static_cast<unsigned char>(static_cast<uint64_t>(len) >> (56 - 8 * i));
  int out = 0;
  if (EVP_CipherUpdate(ctx_.get(), nullptr, &out, aad, sizeof aad) != 1) return OpenSslError("AES-128-GCM length");
  return absl::OkStatus();
}

namespace {

// EVP_CipherUpdate takes an int length: a record goes through in pieces below that.
absl::Status Update(EVP_CIPHER_CTX* ctx, char* data, size_t len) {
  constexpr size_t kPiece = size_t{1} << 30;
  while (len > 0) {
    size_t n = len < kPiece ? len : kPiece;
    int out = 0;
    auto* p = reinterpret_cast<unsigned char*>(data);
    if (EVP_CipherUpdate(ctx, p, &out, p, static_cast<int>(n)) != 1 || static_cast<size_t>(out) != n) {
      return OpenSslError("AES-128-GCM");
    }
    data += n;
    len -= n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BulkCipher::Seal(char* data, size_t len, unsigned char tag[kBulkTagSize]) {
  if (direction_ != Direction::kSeal) return absl::InternalError("bulk records: this cipher only opens");
  RETURN_IF_ERROR(Begin(len));
  RETURN_IF_ERROR(Update(ctx_.get(), data, len));
  unsigned char none[16];  // (GCM writes nothing at the end)
  int out = 0;
  if (EVP_CipherFinal_ex(ctx_.get(), none, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_GET_TAG, kBulkTagSize, tag) != 1) {
    return OpenSslError("AES-128-GCM tag");
  }
  return absl::OkStatus();
}

absl::Status BulkCipher::Open(char* data, size_t len, const unsigned char tag[kBulkTagSize]) {
  if (direction_ != Direction::kOpen) return absl::InternalError("bulk records: this cipher only seals");
  RETURN_IF_ERROR(Begin(len));
  RETURN_IF_ERROR(Update(ctx_.get(), data, len));
  unsigned char expected[kBulkTagSize];
  memcpy(expected, tag, sizeof expected);
  unsigned char none[16];
  int out = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG, kBulkTagSize, expected) != 1 ||
      EVP_CipherFinal_ex(ctx_.get(), none, &out) != 1) {
    ERR_clear_error();
    return absl::DataLossError(absl::StrCat("a bulk record of ", len, " bytes failed authentication"));
  }
  return absl::OkStatus();
}

}  // namespace mosix::security::internal
