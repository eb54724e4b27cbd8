// Fills MIB mebibytes with a pattern, prints "ready", waits for CONTROL_DIR/finish, then checks
// every word and exits 0 (or 3 on a mismatch). For the benchmark. usage: dense MIB CONTROL_DIR
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  size_t n = (size_t)atol(argv[1]) << 20;
  unsigned long* p = malloc(n);
  if (!p) return 2;
  for (size_t i = 0; i < n / 8; i++) p[i] = i * 0x9E3779B97F4A7C15ul;
  char finish[4096];
  snprintf(finish, sizeof finish, "%s/finish", argv[2]);
  printf("ready\n");
  fflush(stdout);
  struct stat st;
  while (stat(finish, &st) != 0) usleep(1000);
  for (size_t i = 0; i < n / 8; i++) {
    if (p[i] != i * 0x9E3779B97F4A7C15ul) {
      printf("memory differs at word %zu\n", i);
      return 3;
    }
  }
  printf("memory ok\n");
  return 0;
}
