// The demo's program: counts to STEPS, one step every 0.3 s, carrying a running checksum so a
// recovered run can be seen to continue from exactly where it was. usage: counter [STEPS]
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 20;
  unsigned long sum = 0;
  for (int i = 1; i <= steps; i++) {
    sum = sum * 31 + (unsigned long)i * i;
    printf("  [pid %d] step %2d of %d  checksum %016lx\n", getpid(), i, steps, sum);
    fflush(stdout);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("  [pid %d] done: checksum %016lx\n", getpid(), sum);
  return 0;
}
