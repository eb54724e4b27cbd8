// Moved away from home mid-run, this program checks that the system calls it makes there
// behave as at home: its pid, its stdout, files in its cwd, its stdin, its exit status.
// usage: remote_probe CONTROL_DIR [fork]  (prints "ready"; continues when CONTROL_DIR/go exists)
// With "fork" it forks once it has moved, which is not supported away from home. With
// "signals" it reads a line from stdin (a SIGUSR1 meanwhile must be handled and the read go on),
// reports, then computes until a signal ends it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static int fail(const char* why) {
  printf("PROBE FAIL: %s\n", why);
  fflush(stdout);
  return 3;
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t pid = getpid();
  signal(SIGUSR1, on_usr1);
  printf("ready pid=%d\n", pid);
  char go[4096];
  snprintf(go, sizeof go, "%s/go", argv[1]);
  struct stat st;
  volatile unsigned long spin = 0;
  while (stat(go, &st) != 0) {
    for (int i = 0; i < 200000; i++) spin++;
  }
  if (getpid() != pid) return fail("getpid changed");
  if (argc == 3 && strcmp(argv[2], "signals") == 0) {
    printf("reading\n");
    char line[128] = {0};
    if (!fgets(line, sizeof line, stdin)) return fail("stdin");
    printf("usr1=%d line=%s", (int)got_usr1, line);
    printf("computing\n");
    for (;;) spin++;
  }
  if (argc == 3 && strcmp(argv[2], "fork") == 0) {
    pid_t child = fork();
    if (child < 0) {
      printf("fork failed: %s\n", strerror(errno));
      return 5;
    }
    if (child == 0) _exit(0);
    printf("fork worked\n");
    return 6;
  }
  printf("after the move: pid %d\n", getpid());
  char path[4096];
  snprintf(path, sizeof path, "%s/written-away.txt", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return fail("open");
  if (write(fd, "hello from away\n", 16) != 16) return fail("write");
  if (lseek(fd, 0, SEEK_SET) != 0) return fail("lseek");
  char buf[64] = {0};
  if (read(fd, buf, sizeof buf) != 16 || strcmp(buf, "hello from away\n") != 0) return fail("read back");
  if (fstat(fd, &st) != 0 || st.st_size != 16) return fail("fstat");
  close(fd);
  char line[128] = {0};
  if (!fgets(line, sizeof line, stdin)) return fail("stdin");
  printf("stdin said: %s", line);
  raise(SIGUSR1);  // a signal to itself, handled where it runs, sigreturn through the shim
  if (!got_usr1) return fail("raise");
  char* big = malloc(8 << 20);  // local memory calls work too
  memset(big, 7, 8 << 20);
  printf("done, exiting with 7\n");
  return 7;
}
