// A system-call-heavy loop: N rounds of getppid + a 1-byte write to /dev/null + close(-1).
// Prints the nanoseconds per round. usage: syscall_loop [N]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  int fd = open("/dev/null", O_WRONLY);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    getppid();
    if (write(fd, "x", 1) != 1) return 1;
    close(-1);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
