#include "security/certs.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status.h"
#include "security/internal/openssl_util.h"

namespace mosix::security {
namespace {

using internal::OpenSslError;
using internal::Owned;

absl::StatusOr<Owned<EVP_PKEY>> NewKey() {
  Owned<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpenSslError("generating an EC P-256 key");
  return key;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError(absl::StrCat("adding extension ", value));
  return absl::OkStatus();
}

// A certificate for `key` named `cn`, to be signed by issuer (itself when null).
absl::StatusOr<Owned<X509>> NewCert(EVP_PKEY* key, const std::string& cn, int days) {
  Owned<X509> cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return OpenSslError("RAND_bytes");
  serial[0] &= 0x7f;
  Owned<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) return OpenSslError("serial number");
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("mosix"), -1, -1, 0) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0)) {
    return OpenSslError("certificate name");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslError("X509_set_pubkey");
  return cert;
}

absl::StatusOr<std::string> Pem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("writing a certificate");
  return internal::BioString(bio.get());
}

absl::StatusOr<std::string> Pem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("writing a key");
  }
  return internal::BioString(bio.get());
}

}  // namespace

absl::StatusOr<KeyAndCert> MakeCa(const std::string& name, int days) {
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, NewKey());
  ASSIGN_OR_RETURN(Owned<X509> cert, NewCert(key.get(), absl::StrCat("mosix cluster CA ", name), days));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return OpenSslError("signing the CA certificate");
  KeyAndCert out;
  ASSIGN_OR_RETURN(out.key_pem, Pem(key.get()));
  ASSIGN_OR_RETURN(out.cert_pem, Pem(cert.get()));
  return out;
}

absl::StatusOr<KeyAndCert> MakeNodeCert(const KeyAndCert& ca, const std::string& node, const std::string& host, int days) {
  if (node.empty() || node.find_first_of(",\n\r/") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", node, "' cannot be named in a certificate"));
  }
  ASSIGN_OR_RETURN(Owned<X509> ca_cert, internal::ParseCert(ca.cert_pem, "the CA certificate"));
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> ca_key, internal::ParseKey(ca.key_pem, "the CA key"));
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, NewKey());
  ASSIGN_OR_RETURN(Owned<X509> cert, NewCert(key.get(), node, days));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  std::string san = absl::StrCat("DNS:", node);
  in6_addr ip6;
  in_addr ip4;
  if (!host.empty()) {
    bool ip = inet_pton(AF_INET, host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, host.c_str(), &ip6) == 1;
    if (host != node) absl::StrAppend(&san, ",", ip ? "IP:" : "DNS:", host);
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement"));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) return OpenSslError("signing a node certificate");
  KeyAndCert out;
  ASSIGN_OR_RETURN(out.key_pem, Pem(key.get()));
  ASSIGN_OR_RETURN(out.cert_pem, Pem(cert.get()));
  return out;
}

absl::StatusOr<std::string> CertifiedName(const std::string& cert_pem) {
  ASSIGN_OR_RETURN(Owned<X509> cert, internal::ParseCert(cert_pem, "certificate"));
  return internal::CommonName(cert.get());
}

absl::StatusOr<NodeCredentials> LoadNodeCredentials(const std::string& dir, const std::string& node) {
  NodeCredentials c;
  c.node = node;
  const std::string ca_path = dir + "/ca.crt", cert_path = dir + "/node.crt", key_path = dir + "/node.key";
  auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
    auto text = ReadFileToString(path);
    if (!text.ok()) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", text.status().message()));
    return text;
  };
  ASSIGN_OR_RETURN(c.ca_pem, read(ca_path));
  ASSIGN_OR_RETURN(c.cert_pem, read(cert_path));
  ASSIGN_OR_RETURN(c.key_pem, read(key_path));
  ASSIGN_OR_RETURN(Owned<X509> ca, internal::ParseCert(c.ca_pem, ca_path));
  ASSIGN_OR_RETURN(Owned<X509> cert, internal::ParseCert(c.cert_pem, cert_path));
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, internal::ParseKey(c.key_pem, key_path));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(key_path, " is not the key of ", cert_path));
  }
  RETURN_IF_ERROR(internal::VerifyCert(ca.get(), cert.get(), cert_path));
  ASSIGN_OR_RETURN(std::string name, internal::CommonName(cert.get()));
  if (name != node) {
    return absl::InvalidArgumentError(absl::StrCat(cert_path, " is node ", name, "'s certificate, not ", node, "'s"));
  }
  return c;
}

}  // namespace mosix::security
