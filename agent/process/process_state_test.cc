#include "agent/process/process_state.h"

#include <catch2/catch.hpp>

namespace mosix::agent {
namespace {

TEST_CASE("a process moves only along the documented transitions") {
  using S = ProcState;
  const S all[] = {S::kHome, S::kFrozen, S::kRemote};
  for (S s : all) REQUIRE(MayBecome(s, s));
  REQUIRE(MayBecome(S::kHome, S::kFrozen));
  REQUIRE(MayBecome(S::kHome, S::kRemote));
  REQUIRE(MayBecome(S::kFrozen, S::kHome));
  REQUIRE(MayBecome(S::kRemote, S::kHome));
  // A frozen process is continued before it goes anywhere; one away comes home to be frozen.
  REQUIRE_FALSE(MayBecome(S::kFrozen, S::kRemote));
  REQUIRE_FALSE(MayBecome(S::kRemote, S::kFrozen));
  REQUIRE(StateName(S::kHome) == "home");
  REQUIRE(StateName(S::kFrozen) == "frozen");
  REQUIRE(StateName(S::kRemote) == "remote");
}

}  // namespace
}  // namespace mosix::agent
