// OpenSSL plumbing for security/: owning pointers, errors as Status, PEM parsing. Internal.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mosix::security::internal {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, OpenSslFree>;

// The queued OpenSSL errors as one status (and the queue emptied).
absl::Status OpenSslError(const std::string& what);
std::string BioString(BIO* bio);
absl::StatusOr<Owned<X509>> ParseCert(const std::string& pem, const std::string& what);
absl::StatusOr<Owned<EVP_PKEY>> ParseKey(const std::string& pem, const std::string& what);
absl::StatusOr<std::string> CommonName(X509* cert);
// cert is signed by ca and valid now.
absl::Status VerifyCert(X509* ca, X509* cert, const std::string& what);

}  // namespace mosix::security::internal
