#include "security/tls.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/status/status.h"
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

// A bulk pair over a socketpair: server (node1) and client (node2), both handshaken.
struct BulkPair {
  std::unique_ptr<TlsConnection> server, client;
  UniqueFd client_raw;  // a second reference to the client's socket, to write raw bytes
};

BulkPair Bulk(TlsTraffic server_traffic, TlsTraffic client_traffic) {
  auto ca = MakeCa("test");
  REQUIRE(ca.ok());
  auto sctx = TlsContext::Create(Creds(*ca, "node1"));
  auto cctx = TlsContext::Create(Creds(*ca, "node2"));
  REQUIRE(sctx.ok());
  REQUIRE(cctx.ok());
  Pair p = Connected();
  BulkPair out;
  out.client_raw = UniqueFd(dup(p.b.get()));
  absl::Status accepted;
  std::thread srv([&] {
    auto c = TlsConnection::Accept(**sctx, std::move(p.a), "node2", 5000, "bulk server", server_traffic);
    accepted = c.status();
    if (c.ok()) out.server = std::move(*c);
  });
  auto c = TlsConnection::Connect(**cctx, std::move(p.b), "node1", 5000, "bulk client", client_traffic);
  srv.join();
  REQUIRE(accepted.ok());
  REQUIRE(c.ok());
  out.client = std::move(*c);
  return out;
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) >> 3);
  return s;
}

TEST_CASE("bulk records carry large payloads between TLS messages, sealed, in both directions") {
  BulkPair b = Bulk(TlsTraffic::kBulk, TlsTraffic::kBulk);
  const std::string big = Pattern(3 << 20, 1), small = Pattern(1000, 2);
  // (Catch2 checks in the main thread only: the writer keeps its results for after the join.)
  absl::Status wrote;
  bool sealed = false;
  std::thread writer([&] {
    std::string a = big, c = small;
    wrote = b.client->Write("head", 4);
    if (wrote.ok()) wrote = b.client->WriteBulk(a.data(), a.size());
    sealed = a != big;  // sealed in place: what crossed was not the plain bytes
    if (wrote.ok()) wrote = b.client->Write("mid", 3);
    if (wrote.ok()) wrote = b.client->WriteBulk(c.data(), c.size());
    if (wrote.ok()) wrote = b.client->Write("tail", 4);
  });
  char word[4];
  std::string got(big.size(), '\0');
  REQUIRE(b.server->Read(word, 4).ok());
  REQUIRE(std::string(word, 4) == "head");
  REQUIRE(b.server->ReadBulk(got.data(), got.size()).ok());
  REQUIRE(got == big);
  REQUIRE(b.server->Read(word, 3).ok());
  REQUIRE(std::string(word, 3) == "mid");
  got.resize(small.size());
  REQUIRE(b.server->ReadBulk(got.data(), got.size()).ok());
  REQUIRE(got == small);
  REQUIRE(b.server->Read(word, 4).ok());
  REQUIRE(std::string(word, 4) == "tail");
  writer.join();
  REQUIRE(wrote.ok());
  REQUIRE(sealed);
  // And back: the other direction has keys of its own.
  std::string back = Pattern(70000, 3), copy = back;
  std::thread w2([&] { wrote = b.server->WriteBulk(copy.data(), copy.size()); });
  std::string got2(back.size(), '\0');
  absl::Status read = b.client->ReadBulk(got2.data(), got2.size());
  w2.join();
  REQUIRE(read.ok());
  REQUIRE(wrote.ok());
  REQUIRE(got2 == back);
}

// n bytes read off the socket under `at`, as they crossed (for a test to put back, changed).
std::string TakeOffWire(TlsConnection& at, size_t n) {
  std::string wire(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(at.fd(), wire.data() + got, n - got);
    REQUIRE(r > 0);
    got += static_cast<size_t>(r);
  }
  return wire;
}

TEST_CASE("a bulk record changed, cut or read with another length is refused") {
  SECTION("bytes no key sealed") {
    BulkPair b = Bulk(TlsTraffic::kBulk, TlsTraffic::kBulk);
    std::string forged = Pattern(4096 + 16, 4);
    REQUIRE(write(b.client_raw.get(), forged.data(), forged.size()) == static_cast<ssize_t>(forged.size()));
    std::string got(4096, '\0');
    auto s = b.server->ReadBulk(got.data(), got.size());
    REQUIRE(absl::IsDataLoss(s));
    REQUIRE(absl::StrContains(s.message(), "failed authentication"));
  }
  SECTION("a flipped bit") {
    BulkPair b = Bulk(TlsTraffic::kBulk, TlsTraffic::kBulk);
    std::string a = Pattern(4096, 9);
    REQUIRE(b.client->WriteBulk(a.data(), a.size()).ok());
    std::string wire = TakeOffWire(*b.server, a.size() + 16);
    wire[1234] ^= 4;
    REQUIRE(write(b.client_raw.get(), wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
    std::string got(4096, '\0');
    REQUIRE(absl::IsDataLoss(b.server->ReadBulk(got.data(), got.size())));
  }
  SECTION("another length") {
    BulkPair b = Bulk(TlsTraffic::kBulk, TlsTraffic::kBulk);
    std::string a = Pattern(8192, 5);
    REQUIRE(b.client->WriteBulk(a.data(), a.size()).ok());
    std::string got(8192 - 16, '\0');  // (the tag's bytes then come from the record itself)
    REQUIRE(absl::IsDataLoss(b.server->ReadBulk(got.data(), got.size())));
  }
  SECTION("cut short") {
    BulkPair b = Bulk(TlsTraffic::kBulk, TlsTraffic::kBulk);
    std::string a = Pattern(8192, 6);
    REQUIRE(write(b.client_raw.get(), a.data(), 100) == 100);
    b.client.reset();
    b.client_raw.reset();
    std::string got(8192, '\0');
    auto s = b.server->ReadBulk(got.data(), got.size());
    REQUIRE(absl::IsDataLoss(s));
    REQUIRE(absl::StrContains(s.message(), "ended inside a bulk record"));
  }
  SECTION("replayed: record 0's bytes, sent again, do not open as record 1") {
    BulkPair b = Bulk(TlsTraffic::kBulk, TlsTraffic::kBulk);
    std::string a = Pattern(4096, 7);
    REQUIRE(b.client->WriteBulk(a.data(), a.size()).ok());
    std::string wire = TakeOffWire(*b.server, a.size() + 16);
    for (int i = 0; i < 2; ++i) REQUIRE(write(b.client_raw.get(), wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
    std::string plain(4096, '\0');
    REQUIRE(b.server->ReadBulk(plain.data(), plain.size()).ok());
    REQUIRE(plain == Pattern(4096, 7));
    REQUIRE(absl::IsDataLoss(b.server->ReadBulk(plain.data(), plain.size())));
  }
}

TEST_CASE("on a connection for messages, bulk writes and reads are plain TLS bytes") {
  BulkPair b = Bulk(TlsTraffic::kMessages, TlsTraffic::kMessages);
  std::string a = Pattern(100000, 8), copy = a;
  absl::Status wrote;
  std::thread w([&] { wrote = b.client->WriteBulk(copy.data(), copy.size()); });
  std::string got(a.size(), '\0');
  absl::Status read = b.server->Read(got.data(), got.size());
  w.join();
  REQUIRE(read.ok());
  REQUIRE(wrote.ok());
  REQUIRE(got == a);
}

}  // namespace
}  // namespace mosix::security
