// Bulk records: large payloads (the pages of an image stream) sealed with AES-128-GCM in one
// piece and in place, beside the TLS session they belong to, instead of being cut into TLS's
// 16 KB records and copied into and out of OpenSSL's own buffers on each side. Internal to
// security/ (TlsConnection::WriteBulk, ReadBulk).
//
// The keys come from the TLS 1.3 session through its exporter (RFC 8446, 7.5: label
// "EXPORTER-mosix-bulk", one context per direction), so they are as fresh and as authenticated
// as the session: a peer that did not finish the handshake with its node's certificate has no
// key. Each direction numbers its records from 0; record i is sealed with the nonce
// base XOR i (as TLS 1.3 does), and its length is authenticated with it (additional data), so a
// record dropped, repeated, reordered, cut or lengthened fails to open. The cipher is OpenSSL's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "security/internal/openssl_util.h"

namespace mosix::security::internal {

inline constexpr size_t kBulkKeySize = 16;    // AES-128
inline constexpr size_t kBulkNonceSize = 12;  // GCM's standard nonce
inline constexpr size_t kBulkTagSize = 16;
inline constexpr size_t kBulkMaterialSize = kBulkKeySize + kBulkNonceSize;

class BulkCipher {
 public:
  // material: a key, then a nonce base (kBulkMaterialSize bytes); seal or open only.
  enum class Direction { kSeal, kOpen };
  static absl::StatusOr<BulkCipher> Create(const unsigned char* material, Direction direction);

  // The next record: data sealed in place, its tag to `tag`.
  absl::Status Seal(char* data, size_t len, unsigned char tag[kBulkTagSize]);
  // The next record: data opened in place if `tag` proves it (else DataLoss, and data is garbage).
  absl::Status Open(char* data, size_t len, const unsigned char tag[kBulkTagSize]);

 private:
  absl::Status Begin(size_t len);

  Owned<EVP_CIPHER_CTX> ctx_;
  Direction direction_ = Direction::kSeal;
  unsigned char base_[kBulkNonceSize] = {};
  uint64_t next_ = 0;
};

// Both directions' material for one end of a TLS 1.3 session (`ssl` handshaken): what this end
// seals with, and what it opens with.
struct BulkKeys {
  unsigned char seal[kBulkMaterialSize];
  unsigned char open[kBulkMaterialSize];
};
absl::StatusOr<BulkKeys> ExportBulkKeys(SSL* ssl);

}  // namespace mosix::security::internal
