#include "base/event_fd.h"

#include <poll.h>

#include <thread>

#include <catch2/catch.hpp>

namespace mosix {
namespace {

bool Readable(const EventFd& e) {
  pollfd p{e.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST_CASE("an eventfd is readable once signalled, however often, until drained") {
  auto e = EventFd::Make("test");
  REQUIRE(e.ok());
  REQUIRE(!Readable(*e));
  e->Drain();  // (nothing to read: returns at once)
  e->Signal();
  e->Signal();
  REQUIRE(Readable(*e));
  e->Drain();
  REQUIRE(!Readable(*e));
}

TEST_CASE("a signal from another thread wakes a poll on it") {
  auto e = EventFd::Make("test");
  REQUIRE(e.ok());
  std::thread t([&] { e->Signal(); });
  pollfd p{e->get(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);
  t.join();
}

TEST_CASE("an empty EventFd is not valid; a made one is, and moves") {
  EventFd none;
  REQUIRE(!none.valid());
  auto e = EventFd::Make("test");
  REQUIRE(e.ok());
  EventFd moved = std::move(*e);
  REQUIRE(moved.valid());
  moved.Signal();
  REQUIRE(Readable(moved));
}

}  // namespace
}  // namespace mosix
