// A program whose memory grows: STEP_MB more every 100 ms up to MAX_MB, each page written with a
// pattern of its own; then it checks every page and prints "grower MAX_MB: ok" (or what differs).
// A moved or ushered process must keep all of it. usage: grower MAX_MB STEP_MB
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long max_mb = argc > 1 ? atol(argv[1]) : 100, step_mb = argc > 2 ? atol(argv[2]) : 5;
  size_t page = 4096, total = (size_t)max_mb << 20;
  uint8_t* mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return perror("mmap"), 1;
  printf("ready\n");
  fflush(stdout);
  for (size_t done = 0; done < total;) {
    size_t until = done + ((size_t)step_mb << 20);
    if (until > total) until = total;
    for (; done < until; done += page) {
      for (size_t i = 0; i < page; i += 64) mem[done + i] = (uint8_t)((done / page) * 7 + i);
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  for (size_t at = 0; at < total; at += page) {
    for (size_t i = 0; i < page; i += 64) {
      if (mem[at + i] != (uint8_t)((at / page) * 7 + i)) {
        printf("grower %ld: page %zu differs\n", max_mb, at / page);
        return 1;
      }
    }
  }
  printf("grower %ld: ok\n", max_mb);
  return 0;
}
