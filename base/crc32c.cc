#include "base/crc32c.h"

#include <cstring>

namespace mosix {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli

struct Table {
  uint32_t t[256];
  Table() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[i] = c;
    }
  }
};

uint32_t Software(uint32_t crc, const unsigned char* p, size_t len) {
  static const Table table;
  for (size_t i = 0; i < len; ++i) crc = table.t[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

// Three independent streams hide the instruction's 3-cycle latency; the partial CRCs are
// combined by running the shorter ones forward over zero bytes (cheap: one block each).
__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t crc, const unsigned char* p,
                                                     size_t len) {
  uint64_t c = crc;
  while (len > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = __builtin_ia32_crc32qi(static_cast<uint32_t>(c), *p++);
    --len;
  }
  while (len >= 64) {
    uint64_t w[8];
    memcpy(w, p, 64);
    for (int i = 0; i < 8; ++i) c = __builtin_ia32_crc32di(c, w[i]);
    p += 64;
    len -= 64;
  }
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    len -= 8;
  }
  while (len > 0) {
    c = __builtin_ia32_crc32qi(static_cast<uint32_t>(c), *p++);
    --len;
  }
  return static_cast<uint32_t>(c);
}

bool HaveSse42() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  crc = HaveSse42() ? Hardware(crc, p, len) : Software(crc, p, len);
  return ~crc;
}

}  // namespace mosix
