#include "cli/cpu_placement.h"

#include <catch2/catch.hpp>

namespace mosix::cli {
namespace {

TEST_CASE("the emulated cluster's uneven nodes fill two CPUs, each node on one") {
  std::vector<std::string> over;
  auto p = PlaceNodes({0.25, 0.25, 0.5, 0.75}, {0, 1}, &over);
  REQUIRE(p.size() == 4);
  REQUIRE(p[3].cpus == std::vector<int>{0});  // 0.75 first
  REQUIRE(p[2].cpus == std::vector<int>{1});  // 0.5
  REQUIRE(p[0].cpus == std::vector<int>{1});  // 0.25 where 0.5 is
  REQUIRE(p[1].cpus == std::vector<int>{0});  // 0.25 with 0.75: 1.0
  REQUIRE(over.empty());
}

TEST_CASE("a node of more than one CPU gets as many as its quota needs; none means every CPU") {
  std::vector<std::string> over;
  auto p = PlaceNodes({1.5, 0, 1}, {0, 1, 2, 3}, &over);
  REQUIRE(p[0].cpus == std::vector<int>{0, 1});
  REQUIRE(p[1].cpus.empty());
  REQUIRE(p[2].cpus == std::vector<int>{2});
  REQUIRE(over.empty());
  REQUIRE(CpuList(p[0].cpus) == "0,1");
}

TEST_CASE("more quota than CPUs is said, CPU by CPU") {
  std::vector<std::string> over;
  auto p = PlaceNodes({1, 1, 0.5}, {2, 5}, &over);
  REQUIRE(p[0].cpus == std::vector<int>{2});
  REQUIRE(p[1].cpus == std::vector<int>{5});
  REQUIRE(p[2].cpus == std::vector<int>{2});
  REQUIRE(over == std::vector<std::string>{"CPU 2: 1.50"});
  auto big = PlaceNodes({3}, {0, 1}, &over);  // (at most every CPU there is)
  REQUIRE(big[0].cpus == std::vector<int>{0, 1});
}

TEST_CASE("no host CPUs known: no node is pinned") {
  auto p = PlaceNodes({0.5, 0.5}, {}, nullptr);
  REQUIRE(p[0].cpus.empty());
  REQUIRE(p[1].cpus.empty());
}

}  // namespace
}  // namespace mosix::cli
