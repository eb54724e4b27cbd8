#include "base/crc32c.h"

#include <string>

#include <catch2/catch.hpp>

namespace mosix {

TEST_CASE("crc32c matches the published check value") {
  const std::string s = "123456789";
  REQUIRE(Crc32c(0, s.data(), s.size()) == 0xE3069283u);
}

TEST_CASE("crc32c can be computed in pieces") {
  std::string s(100000, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 131 + 7);
  uint32_t whole = Crc32c(0, s.data(), s.size());
  uint32_t parts = Crc32c(0, s.data(), 12345);
  parts = Crc32c(parts, s.data() + 12345, s.size() - 12345);
  REQUIRE(whole == parts);
  s[500] ^= 1;
  REQUIRE(Crc32c(0, s.data(), s.size()) != whole);
}

}  // namespace mosix
