#include "checkpoint/internal/layout.h"

#include <catch2/catch.hpp>

namespace mosix::internal {

TEST_CASE("FindHole skips used ranges, in any order") {
  std::vector<Range> used = {{0x5000, 0x6000}, {0x1000, 0x3000}, {0x3000, 0x4000}};
  REQUIRE(*FindHole(used, 0x1000, 0x1000, 0x100000) == 0x4000);
  REQUIRE(*FindHole(used, 0x2000, 0x1000, 0x100000) == 0x6000);
  REQUIRE(*FindHole(used, 0x1000, 0x0, 0x100000) == 0x0);
  REQUIRE(!FindHole(used, 0x1000, 0x1000, 0x4800).has_value());
  REQUIRE(!FindHole(used, 0x3000, 0x1000, 0x8000).has_value());
}

TEST_CASE("Subtract leaves what no range covers, whatever their order and overlaps") {
  // Overlapping and out-of-order ranges; an empty one (600-600) splits nothing.
  auto got = Subtract({100, 1000}, {{900, 1200}, {50, 150}, {300, 400}, {350, 500}, {600, 600}});
  REQUIRE(got.size() == 2);
  REQUIRE((got[0].start == 150 && got[0].end == 300));
  REQUIRE((got[1].start == 500 && got[1].end == 900));
  REQUIRE(Subtract({100, 200}, {{0, 300}}).empty());
  auto whole = Subtract({100, 200}, {});
  REQUIRE((whole.size() == 1 && whole[0].start == 100 && whole[0].end == 200));
}

TEST_CASE("special mapping layouts compare by names, sizes and distances") {
  std::vector<SpecialMapping> a = {{"[vvar]", 0x1000, 0x5000}, {"[vvar_vclock]", 0x5000, 0x7000}, {"[vdso]", 0x7000, 0x9000}};
  std::vector<SpecialMapping> b = a;
  for (auto& m : b) {
    m.start += 0x100000;
    m.end += 0x100000;
  }
  REQUIRE(SameSpecialLayout(a, b).ok());
  b[2].end += 0x1000;
  REQUIRE(!SameSpecialLayout(a, b).ok());
  REQUIRE(!SameSpecialLayout(a, {a[0], a[2]}).ok());
}

}  // namespace mosix::internal
