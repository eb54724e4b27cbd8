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

TEST_CASE("crc32c gives the same over any length and alignment (the interleaved path too)") {
  std::string s(1 << 20, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  // Byte by byte: the plain path only.
  auto bytewise = [&](size_t off, size_t len) {
    uint32_t crc = 0;
    for (size_t i = 0; i < len; ++i) crc = Crc32c(crc, s.data() + off + i, 1);
    return crc;
  };
  for (size_t len : {0, 1, 7, 8, 4095, 12287, 12288, 12289, 65536 + 13, 300001}) {
    for (size_t off : {0, 1, 5}) {
      INFO("len " << len << " off " << off);
      REQUIRE(Crc32c(0, s.data() + off, len) == bytewise(off, len));
      REQUIRE(Crc32c(0xdeadbeef, s.data() + off, len) == [&] {
        uint32_t crc = 0xdeadbeef;
        for (size_t i = 0; i < len; ++i) crc = Crc32c(crc, s.data() + off + i, 1);
        return crc;
      }());
    }
  }
}

}  // namespace mosix
