// Seeded random inputs for the fuzz tests (Catch2, no libFuzzer): how many per parser comes
// from MOSIX_FUZZ_ITERATIONS (CI runs a few tens of thousands; by hand, millions), the seed from
// MOSIX_FUZZ_SEED (printed, so a failure can be replayed).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace mosix::testing {

inline uint64_t FuzzIterations(uint64_t ci_default) {
  const char* v = getenv("MOSIX_FUZZ_ITERATIONS");
  return v && *v ? strtoull(v, nullptr, 10) : ci_default;
}

inline std::mt19937_64 FuzzRng(const char* what) {
  const char* v = getenv("MOSIX_FUZZ_SEED");
  uint64_t seed = v && *v ? strtoull(v, nullptr, 10) : 20261201;
  fprintf(stderr, "fuzz %s: seed %llu\n", what, static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

inline std::string RandomBytes(std::mt19937_64& rng, size_t max_len) {
  std::string s(rng() % (max_len + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A mutation of `valid`: bytes flipped, a piece cut or repeated, or the end cut off.
inline std::string Mutate(std::mt19937_64& rng, const std::string& valid) {
  std::string s = valid;
  if (s.empty()) return RandomBytes(rng, 64);
  switch (rng() % 5) {
    case 0:
    case 1:
      for (int k = 0, n = 1 + rng() % 8; k < n; ++k) s[rng() % s.size()] = static_cast<char>(rng());
      break;
    case 2:
      s.resize(rng() % s.size());
      break;
    case 3: {
      size_t at = rng() % s.size();
      s.erase(at, rng() % (s.size() - at + 1));
      break;
    }
    default: {
      size_t at = rng() % s.size();
      s.insert(at, s.substr(at, rng() % 64));
      break;
    }
  }
  return s;
}

}  // namespace mosix::testing
