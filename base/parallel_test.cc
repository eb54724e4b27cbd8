#include "base/parallel.h"

#include <atomic>
#include <vector>

#include <catch2/catch.hpp>

namespace mosix {

TEST_CASE("ParallelFor runs every index once and reports an error") {
  std::vector<std::atomic<int>> hits(1000);
  REQUIRE(ParallelFor(hits.size(), 3, [&](size_t i) {
            hits[i]++;
            return absl::OkStatus();
          }).ok());
  for (auto& h : hits) REQUIRE(h.load() == 1);
  absl::Status s = ParallelFor(10, 2, [](size_t i) {
    return i == 7 ? absl::InternalError("seven") : absl::OkStatus();
  });
  REQUIRE(s.message() == "seven");
  REQUIRE(ParallelFor(0, 2, [](size_t) { return absl::InternalError("never"); }).ok());
}

}  // namespace mosix
