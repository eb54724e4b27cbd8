#include "agent/cluster/load.h"

#include <catch2/catch.hpp>

namespace mosix::agent {
namespace {

TEST_CASE("load is runnable processes per standard CPU") {
  REQUIRE(LoadOf(1, 1, 1) == Approx(100));
  REQUIRE(LoadOf(1, 0.25, 1) == Approx(400));  // a quarter of a CPU: four times the load
  REQUIRE(LoadOf(2, 2, 2) == Approx(50));      // a faster node shows less for the same work
  REQUIRE(LoadOf(-1, 1, 1) == 0);
  REQUIRE(LoadOf(1, 0, 0) == Approx(100));  // unknown CPUs and speed count as 1
}

TEST_CASE("others see a rise at once and a fall slowly; the node itself the other way round") {
  SmoothedLoad l;
  l.Add(0);
  l.Add(100);
  REQUIRE(l.exported() == Approx(100));  // rises at once to others' eyes
  REQUIRE(l.own() == Approx(37.5));      // 5:3 for the node itself
  for (int i = 0; i < 30; ++i) l.Add(100);
  REQUIRE(l.own() == Approx(100).margin(0.1));
  l.Add(0);
  REQUIRE(l.own() == 0);                   // drops at once for the node itself
  REQUIRE(l.exported() == Approx(75));     // 3:1 for the others
  for (int i = 0; i < 60; ++i) l.Add(0);
  REQUIRE(l.exported() < 1);
}

TEST_CASE("work that just arrived counts at once") {
  SmoothedLoad l;
  l.Add(50);
  l.Bump(100);
  REQUIRE(l.exported() == Approx(150));
  REQUIRE(l.own() == Approx(150));
  l.Bump(-500);
  REQUIRE(l.own() == 0);
}

}  // namespace
}  // namespace mosix::agent
