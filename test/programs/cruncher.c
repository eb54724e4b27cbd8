// A CPU-bound job of a given amount of work, for the balancing tests and the makespan bench:
// WORK units of integer work (a unit is about 10 ms of a standard CPU), then a checksum that
// depends on all of it, so a job moved mid-way shows it lost or repeated nothing.
// usage: cruncher WORK
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  long units = argc > 1 ? atol(argv[1]) : 100;
  uint64_t v = 88172645463325252ull, sum = 0;
  for (long u = 0; u < units; u++) {
    for (int i = 0; i < 4000000; i++) {  // about 10 ms (xorshift at ~4e8 a second)
      v ^= v << 13;
      v ^= v >> 7;
      v ^= v << 17;
    }
    sum = sum * 31 + v;
  }
  printf("cruncher %ld: %016llx\n", units, (unsigned long long)sum);
  return 0;
}
