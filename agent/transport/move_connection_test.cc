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
  std::thread peers([&] {
    // A stranger that sends nothing, one that sends the wrong bytes, then the move's own.
    UniqueFd idle(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(idle.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0);
    idle.reset();
    UniqueFd wrong(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(wrong.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0);
    std::string junk(kSecretSize, 'x');
    REQUIRE(::write(wrong.get(), junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    auto right = ConnectProven(*addr, nullptr, "node2", l->secret(), "test");
    REQUIRE(right.ok());
    REQUIRE(right->stream()->Write("data", 4).ok());
  });
  auto got = l->AcceptProven(nullptr, "node1", 10000, "test connection");
  REQUIRE(got.ok());
  char buf[4];
  REQUIRE(got->stream()->Read(buf, 4).ok());
  CHECK(std::string(buf, 4) == "data");
  peers.join();
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
