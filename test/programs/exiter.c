// Waits for CONTROL_DIR/finish, then ends as told: "exit N" or "signal N".
// usage: exiter CONTROL_DIR exit|signal N
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/finish", argv[1]);
  printf("ready\n");
  fflush(stdout);
  struct stat st;
  volatile unsigned long spin = 0;
  while (stat(path, &st) != 0) {
    for (int i = 0; i < 100000; i++) spin++;
  }
  int n = atoi(argv[3]);
  if (strcmp(argv[2], "signal") == 0) {
    signal(n, SIG_DFL);
    raise(n);
  }
  return n;
}
