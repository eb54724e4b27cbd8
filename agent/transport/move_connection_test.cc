#include "agent/transport/move_connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <thread>

#include <catch2/catch.hpp>

#include "base/net.h"

namespace mosix::agent {
namespace {

TEST_CASE("a move's listener drops connections that do not bring its secret, and takes the one that does") {
  auto l = MoveListener::Open("127.0.0.1");
  REQUIRE(l.ok());
  auto addr = ParseIpv4Address(l->address());
  REQUIRE(addr.ok());
  // (Catch2's assertions are for the test's own thread: the peers' thread says what failed.)
  std::string peers_failed;
  std::thread peers([&] {
    // A stranger that sends nothing, one that sends the wrong bytes, then the move's own.
    UniqueFd idle(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(idle.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) peers_failed += "idle connect; ";
    idle.reset();
    UniqueFd wrong(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(wrong.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) peers_failed += "wrong connect; ";
    std::string junk(kSecretSize, 'x');
    if (::write(wrong.get(), junk.data(), junk.size()) != static_cast<ssize_t>(junk.size())) peers_failed += "wrong write; ";
    auto right = ConnectProven(*addr, nullptr, "node2", l->secret(), "test");
    if (!right.ok()) {
      peers_failed += std::string(right.status().message());
      return;
    }
    if (!right->stream()->Write("data", 4).ok()) peers_failed += "right write; ";
  });
  auto got = l->AcceptProven(nullptr, "node1", 10000, "test connection");
  bool read = false;
  char buf[4];
  if (got.ok()) read = got->stream()->Read(buf, 4).ok();
  peers.join();
  REQUIRE(peers_failed.empty());
  REQUIRE(got.ok());
  REQUIRE(read);
  CHECK(std::string(buf, 4) == "data");
}

TEST_CASE("a move's listener gives up when no one proves herself in time") {
  auto l = MoveListener::Open("127.0.0.1");
  REQUIRE(l.ok());
  auto got = l->AcceptProven(nullptr, "node1", 200, "test connection");
  REQUIRE(!got.ok());
  CHECK(absl::IsDeadlineExceeded(got.status()));
}

}  // namespace
}  // namespace mosix::agent
