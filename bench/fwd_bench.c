// Forwarding costs, measured by the program itself: N 1-byte writes to /dev/null (round trip
// of a forwarded call once it has moved); MIB mebibytes in 1 MiB blocks written to /dev/null
// and read from /dev/zero (the forwarding path alone), then written to a file in CONTROL_DIR
// and read back (with the file system's own cost, the same at home). Waits for
// CONTROL_DIR/go first.
// usage: fwd_bench CONTROL_DIR [N] [MIB]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  long n = argc > 2 ? atol(argv[2]) : 20000;
  long mib = argc > 3 ? atol(argv[3]) : 256;
  setvbuf(stdout, NULL, _IOLBF, 0);
  char path[4096];
  snprintf(path, sizeof path, "%s/go", argv[1]);
  printf("ready\n");
  struct stat st;
  while (stat(path, &st) != 0) usleep(1000);
  int null = open("/dev/null", O_WRONLY);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    if (write(null, "x", 1) != 1) return 3;
  }
  double rt = (now() - t0) / n;
  snprintf(path, sizeof path, "%s/data", argv[1]);
  char* buf = malloc(1 << 20);
  memset(buf, 'm', 1 << 20);
  t0 = now();
  for (long i = 0; i < mib; i++) {
    if (write(null, buf, 1 << 20) != 1 << 20) return 3;
  }
  double nw = now() - t0;
  int zero = open("/dev/zero", O_RDONLY);
  t0 = now();
  for (long i = 0; i < mib; i++) {
    if (read(zero, buf, 1 << 20) != 1 << 20) return 3;
  }
  double zr = now() - t0;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  t0 = now();
  for (long i = 0; i < mib; i++) {
    if (write(fd, buf, 1 << 20) != 1 << 20) return 3;
  }
  double wt = now() - t0;
  lseek(fd, 0, SEEK_SET);
  t0 = now();
  for (long i = 0; i < mib; i++) {
    if (read(fd, buf, 1 << 20) != 1 << 20) return 3;
  }
  double rd = now() - t0;
  close(fd);
  unlink(path);
  printf("roundtrip_us %.2f nullwrite_MBps %.0f zeroread_MBps %.0f write_MBps %.0f read_MBps %.0f\n", rt * 1e6,
         mib * 1.048576 / nw, mib * 1.048576 / zr, mib * 1.048576 / wt, mib * 1.048576 / rd);
  return 0;
}
