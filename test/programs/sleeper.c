// Sleeps once for SECONDS in a single nanosleep and reports how it ended. A checkpoint taken
// during the sleep must neither cut it short nor make it fail with EINTR.
// usage: sleeper SECONDS   (prints "sleeping", then "slept ok" and exits 0, or exits 3)
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char** argv) {
  double secs = argc > 1 ? atof(argv[1]) : 3;
  struct timespec req = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)}, rem = {0, 0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("sleeping\n");
  fflush(stdout);
  int r = nanosleep(&req, &rem);
  int err = errno;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double slept = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (r != 0) {
    printf("nanosleep failed: %s\n", strerror(err));
    return 3;
  }
  printf("slept ok %.2f of %.2f\n", slept, secs);
  return 0;
}
