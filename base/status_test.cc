#include "base/status.h"

#include <catch2/catch.hpp>

namespace mosix {

TEST_CASE("errno statuses name the call and the object") {
  absl::Status s = ErrnoStatus(ENOENT, "open", "/nope");
  REQUIRE(absl::IsNotFound(s));
  REQUIRE(s.message() == "open /nope: No such file or directory");
  REQUIRE(absl::IsPermissionDenied(ErrnoStatus(EPERM, "ptrace", "pid 1")));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST_CASE("propagation macros return the first error") {
  REQUIRE(*Quarter(8) == 2);
  REQUIRE(Quarter(6).status().message() == "odd");
  REQUIRE(Annotate(absl::NotFoundError("x"), "ctx").message() == "ctx: x");
}

}  // namespace mosix
