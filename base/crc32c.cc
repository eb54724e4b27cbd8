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

// The CRC register after `len` zero bytes more (no pre/post inversion: a raw register), by
// squaring the GF(2) matrix of one zero bit, as zlib's crc32_combine does: O(log len).
uint32_t MatrixTimes(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, ++mat) {
    if (vec & 1) sum ^= *mat;
  }
  return sum;
}

void MatrixSquare(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = MatrixTimes(mat, mat[n]);
}

// The operators of 1, 2, 4, ... 2^47 zero bytes, built once: a shift is then one matrix
// product per bit set in its length, not a chain of squarings each time.
struct ZeroOperators {
  uint32_t op[48][32];
  ZeroOperators() {
    uint32_t bit[32], two[32], four[32];
    bit[0] = kPoly;  // one zero bit
    for (int n = 1; n < 32; ++n) bit[n] = 1u << (n - 1);
    MatrixSquare(two, bit);
    MatrixSquare(four, two);
    MatrixSquare(op[0], four);  // one zero byte
    for (int k = 1; k < 48; ++k) MatrixSquare(op[k], op[k - 1]);
  }
};

uint32_t ShiftZeros(uint32_t crc, size_t len) {
  static const ZeroOperators zeros;
  for (int k = 0; len && k < 48; ++k, len >>= 1) {
    if (len & 1) crc = MatrixTimes(zeros.op[k], crc);
  }
  return crc;
}

// One chain of the instruction: 8 bytes per 3 cycles (its latency).
__attribute__((target("sse4.2"))) uint64_t Chain(uint64_t c, const unsigned char* p, size_t len) {
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
  return c;
}

// Three interleaved chains over the three thirds of a large buffer hide that latency; the
// thirds' registers are then joined by shifting over the bytes that follow them (the CRC is
// linear: reg(A then B) = shift(reg(A), |B|) ^ reg(B from 0)).
__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t crc, const unsigned char* p,
                                                     size_t len) {
  constexpr size_t kInterleaveFrom = 3 * 4096;
  if (len >= kInterleaveFrom) {
    size_t third = (len / 3) & ~size_t{7};
    const unsigned char* p1 = p + third;
    const unsigned char* p2 = p + 2 * third;
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    for (size_t i = 0; i < third; i += 8) {
      uint64_t w0, w1, w2;
      memcpy(&w0, p + i, 8);
      memcpy(&w1, p1 + i, 8);
      memcpy(&w2, p2 + i, 8);
      c0 = __builtin_ia32_crc32di(c0, w0);
      c1 = __builtin_ia32_crc32di(c1, w1);
      c2 = __builtin_ia32_crc32di(c2, w2);
    }
    uint32_t joined = ShiftZeros(static_cast<uint32_t>(c0), third) ^ static_cast<uint32_t>(c1);
    joined = ShiftZeros(joined, third) ^ static_cast<uint32_t>(c2);
    return static_cast<uint32_t>(Chain(joined, p + 3 * third, len - 3 * third));
  }
  return static_cast<uint32_t>(Chain(crc, p, len));
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
