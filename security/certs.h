// The cluster's credentials: a CA of its own, and for each node a key and a certificate that
// the CA signed and that names the node (common name and DNS subject alternative name). An
// agent is accepted by its peers only as the node its certificate names. ECDSA P-256, SHA-256.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace mosix::security {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// A new self-signed CA for the cluster `name`, valid for `days`.
absl::StatusOr<KeyAndCert> MakeCa(const std::string& name, int days = 3650);

// A new key and certificate for node `node` (host: its address, an IP or a DNS name, also put
// in the certificate), signed by ca, valid for `days`.
absl::StatusOr<KeyAndCert> MakeNodeCert(const KeyAndCert& ca, const std::string& node, const std::string& host,
                                        int days = 3650);

// What a node runs with: the CA's certificate, its own key and certificate.
struct NodeCredentials {
  std::string node;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads DIR/ca.crt, DIR/node.crt and DIR/node.key and checks them: the certificate is signed
// by the CA, valid now, names `node`, and the key is its key. Errors name the file and why.
absl::StatusOr<NodeCredentials> LoadNodeCredentials(const std::string& dir, const std::string& node);

// The node a certificate names (its common name), for a PEM certificate.
absl::StatusOr<std::string> CertifiedName(const std::string& cert_pem);

}  // namespace mosix::security
