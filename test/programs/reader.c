// Blocks reading a line from stdin, then echoes it with its length. A checkpoint taken while
// blocked must not lose or repeat the input, nor make read fail with EINTR.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  printf("waiting\n");
  fflush(stdout);
  char buf[256];
  ssize_t n = read(0, buf, sizeof buf - 1);
  if (n < 0) {
    printf("read failed: %s\n", strerror(errno));
    return 3;
  }
  buf[n] = 0;
  printf("got %zd: %s", n, buf);
  return 0;
}
