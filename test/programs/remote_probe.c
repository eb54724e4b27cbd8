// Moved away from home mid-run, this program checks that the system calls it makes there
// behave as at home: its pid, its stdout, files in its cwd, its stdin, a pipe it made before
// the move, epoll and eventfd (kept at home), its exit status.
// usage: remote_probe CONTROL_DIR [fork|exec|unsupported|signals]  (prints "ready"; continues
// when CONTROL_DIR/go exists). Once moved: "fork" forks (the child is made at home: the
// process comes home first) and waits for the child; "exec" runs /bin/sh there; "unsupported"
// calls io_setup, which is not supported away from home. With
// "signals" it reads a line from stdin (a SIGUSR1 meanwhile must be handled and the read go on),
// reports, then computes until a signal ends it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0 || write(pipe_fds[1], "before", 6) != 6) return fail("pipe at home");
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
    if (child == 0) _exit(getppid() == pid ? 3 : 4);
    int status = 0;
    if (waitpid(child, &status, 0) != child) return fail("waitpid");
    printf("fork worked: pid %d, child %d exited %d\n", getpid(), child, WEXITSTATUS(status));
    return WEXITSTATUS(status) == 3 ? 6 : fail("the child's parent is not the home pid");
  }
  if (argc == 3 && strcmp(argv[2], "exec") == 0) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "echo exec worked, pid $$ was %d; exit 9", pid);
    execl("/bin/sh", "sh", "-c", cmd, (char*)NULL);
    printf("exec failed: %s\n", strerror(errno));
    return 5;
  }
  if (argc == 3 && strcmp(argv[2], "unsupported") == 0) {
    unsigned long ctx = 0;
    if (syscall(SYS_io_setup, 1, &ctx) != 0) {
      printf("io_setup failed: %s\n", strerror(errno));
      return 5;
    }
    printf("io_setup worked\n");
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
  // The pipe made at home, with what was written into it before the move.
  if (read(pipe_fds[0], buf, 6) != 6 || memcmp(buf, "before", 6) != 0) return fail("pipe read after the move");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return fail("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234567890abcdefull};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fds[0], &ev) != 0) return fail("epoll_ctl");
  struct epoll_event got[4];
  if (epoll_wait(ep, got, 4, 0) != 0) return fail("epoll_wait on an empty pipe");
  if (write(pipe_fds[1], "x", 1) != 1) return fail("pipe write after the move");
  if (epoll_wait(ep, got, 4, 5000) != 1 || got[0].data.u64 != 0x1234567890abcdefull || !(got[0].events & EPOLLIN)) {
    return fail("epoll_wait");
  }
  int efd = eventfd(0, EFD_CLOEXEC);
  uint64_t count = 5;
  if (efd < 0 || write(efd, &count, 8) != 8 || write(efd, &count, 8) != 8) return fail("eventfd write");
  if (read(efd, &count, 8) != 8 || count != 10) return fail("eventfd read");
  printf("pipe, epoll and eventfd work\n");
  // Sockets made after the move are the home's; sizes of what comes back are respected.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return fail("socketpair");
  struct {
    int type;
    char canary[60];
  } opt;
  memset(&opt, 0x5a, sizeof opt);
  socklen_t optlen = sizeof opt.type;
  if (getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &opt.type, &optlen) != 0 || opt.type != SOCK_STREAM) return fail("getsockopt");
  for (size_t i = 0; i < sizeof opt.canary; i++) {
    if (opt.canary[i] != 0x5a) return fail("getsockopt wrote past the int it was given");
  }
  char part1[] = "gathered ", part2[] = "and scattered";
  struct iovec out_iov[2] = {{part1, 9}, {part2, 13}};
  struct msghdr out_msg = {.msg_iov = out_iov, .msg_iovlen = 2};
  if (sendmsg(sv[0], &out_msg, 0) != 22) return fail("sendmsg");
  char in1[5] = {0}, in2[32] = {0};
  struct iovec in_iov[2] = {{in1, 5}, {in2, sizeof in2 - 1}};
  struct msghdr in_msg = {.msg_iov = in_iov, .msg_iovlen = 2};
  if (recvmsg(sv[1], &in_msg, 0) != 22 || memcmp(in1, "gathe", 5) != 0 || strcmp(in2, "red and scattered") != 0) {
    return fail("recvmsg");
  }
  char names[256];
  if (listxattr(path, names, sizeof names) < 0) return fail("listxattr");
  printf("sockets, sendmsg/recvmsg and xattrs work\n");
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
