#include "security/tls.h"

#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "security/certs.h"

namespace mosix::security {
namespace {

// A write to a peer that hung up must fail, not kill the test (the agent ignores SIGPIPE too).
const bool kNoSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

NodeCredentials Creds(const KeyAndCert& ca, const std::string& node) {
  auto kc = MakeNodeCert(ca, node, "127.0.0.1");
  REQUIRE(kc.ok());
  return NodeCredentials{node, ca.cert_pem, kc->cert_pem, kc->key_pem};
}

struct Pair {
  UniqueFd a, b;
};

Pair Connected() {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  return Pair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

// Server `server` expects `expect`; client `client` expects `server_name`.
void Handshake(const NodeCredentials& server, const std::string& expect, const NodeCredentials& client,
               const std::string& server_name, absl::Status* server_status, absl::Status* client_status,
               std::string* echoed = nullptr) {
  auto sctx = TlsContext::Create(server);
  auto cctx = TlsContext::Create(client);
  REQUIRE(sctx.ok());
  REQUIRE(cctx.ok());
  Pair p = Connected();
  std::thread srv([&] {
    auto c = TlsConnection::Accept(**sctx, std::move(p.a), expect, 5000, "test server");
    *server_status = c.status();
    if (!c.ok()) return;
    char buf[5];
    if ((*c)->Read(buf, sizeof buf).ok()) (void)(*c)->Write(buf, sizeof buf);
  });
  auto c = TlsConnection::Connect(**cctx, std::move(p.b), server_name, 5000, "test client");
  *client_status = c.status();
  if (c.ok() && echoed) {
    REQUIRE((*c)->Write("hello", 5).ok());
    char buf[5];
    REQUIRE((*c)->Read(buf, 5).ok());
    echoed->assign(buf, 5);
  }
  c = absl::CancelledError("");  // closes the client side: a failed server read ends
  srv.join();
}

TEST_CASE("two nodes of one cluster talk; each is sure of the other's name") {
  auto ca = MakeCa("test");
  REQUIRE(ca.ok());
  NodeCredentials n1 = Creds(*ca, "node1"), n2 = Creds(*ca, "node2");
  absl::Status s, c;
  std::string echoed;
  Handshake(n1, "node2", n2, "node1", &s, &c, &echoed);
  INFO(s.message() << " / " << c.message());
  REQUIRE(s.ok());
  REQUIRE(c.ok());
  REQUIRE(echoed == "hello");
}

TEST_CASE("a node's certificate does not pass for another node") {
  auto ca = MakeCa("test");
  REQUIRE(ca.ok());
  NodeCredentials n1 = Creds(*ca, "node1"), n2 = Creds(*ca, "node2");
  absl::Status s, c;
  Handshake(n1, "node3", n2, "node1", &s, &c);  // node2 comes where node3 is expected
  REQUIRE(!s.ok());
  REQUIRE(absl::StrContains(s.message(), "node2"));
  Handshake(n1, "node2", n2, "node3", &s, &c);  // the client wanted node3, got node1
  REQUIRE(!c.ok());
}

TEST_CASE("a certificate of another CA is refused") {
  auto ca = MakeCa("test");
  auto other = MakeCa("other");
  REQUIRE(ca.ok());
  REQUIRE(other.ok());
  NodeCredentials n1 = Creds(*ca, "node1");
  NodeCredentials forged = Creds(*other, "node2");
  forged.ca_pem = ca->cert_pem;  // it trusts the right CA, but its own certificate is not of it
  absl::Status s, c;
  Handshake(n1, "node2", forged, "node1", &s, &c);
  REQUIRE(!s.ok());
}

TEST_CASE("credentials on disk are checked: the CA, the name, the key") {
  auto ca = MakeCa("test");
  REQUIRE(ca.ok());
  NodeCredentials n1 = Creds(*ca, "node1");
  char tmpl[] = "/tmp/certs_test.XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  auto put = [&](const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; };
  put("ca.crt", ca->cert_pem);
  put("node.crt", n1.cert_pem);
  put("node.key", n1.key_pem);
  REQUIRE(LoadNodeCredentials(dir, "node1").ok());
  auto wrong_name = LoadNodeCredentials(dir, "node2");
  REQUIRE(!wrong_name.ok());
  REQUIRE(absl::StrContains(wrong_name.status().message(), "node1"));
  auto other = MakeCa("other");
  put("ca.crt", other->cert_pem);
  REQUIRE(!LoadNodeCredentials(dir, "node1").ok());
  put("ca.crt", ca->cert_pem);
  put("node.key", Creds(*ca, "node1").key_pem);  // another key
  REQUIRE(!LoadNodeCredentials(dir, "node1").ok());
  put("node.crt", "garbage");
  auto garbage = LoadNodeCredentials(dir, "node1");
  REQUIRE(!garbage.ok());
  REQUIRE(absl::StrContains(garbage.status().message(), "node.crt"));
  std::string rm = "rm -rf " + dir;
  REQUIRE(system(rm.c_str()) == 0);
}

}  // namespace
}  // namespace mosix::security
