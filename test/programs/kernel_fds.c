// Holds an eventfd (count 5, semaphore), a signalfd (SIGUSR1, SIGUSR2 blocked), a periodic
// timerfd (every 50 ms), an epoll watching the eventfd and a pipe, and a SOCK_SEQPACKET
// socketpair across a checkpoint and a recovery, then checks each works as before.
// usage: kernel_fds GO_FILE [nosignalfd]    prints "ready", waits until GO_FILE exists, then
// checks and prints "epoll abc def / eventfd 1 1 1 1 1 empty / signalfd SIGUSR2 / timerfd
// ticking / socketpair seqpacket" and "VERDICT OK" (with nosignalfd: "signalfd none", for a
// process to move).
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: kernel_fds GO_FILE [nosignalfd]\n");
    return 2;
  }
  int with_signalfd = argc == 2;
  int ev = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sig = with_signalfd ? signalfd(-1, &mask, SFD_CLOEXEC) : 0;
  int tim = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec its = {{0, 50000000}, {0, 50000000}};
  if (ev < 0 || sig < 0 || tim < 0 || timerfd_settime(tim, 0, &its, NULL) != 0) {
    perror("kernel_fds: setup");
    return 1;
  }
  int pipefd[2], pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0) {
    perror("kernel_fds: socketpair");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event a = {EPOLLIN, {.u64 = 0xabc}}, b = {EPOLLIN | EPOLLET, {.u64 = 0xdef}};
  if (pipe(pipefd) != 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &a) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &b) != 0) {
    perror("kernel_fds: epoll");
    return 1;
  }
  printf("ready %d %d %d %d\n", ev, sig, tim, ep);
  fflush(stdout);
  while (access(argv[1], F_OK) != 0) usleep(20000);
  int ok = 1;
  if (write(pipefd[1], "x", 1) != 1) ok = 0;
  struct epoll_event got[4];
  int n_ready = epoll_wait(ep, got, 4, 1000);
  unsigned long long tags[2] = {0, 0};
  for (int i = 0; i < n_ready && i < 2; ++i) tags[i] = got[i].data.u64;
  if (n_ready == 2 && tags[0] > tags[1]) tags[0] ^= tags[1], tags[1] ^= tags[0], tags[0] ^= tags[1];
  printf("epoll %llx %llx / ", tags[0], tags[1]);
  ok &= n_ready == 2 && tags[0] == 0xabc && tags[1] == 0xdef;
  printf("eventfd");
  for (int i = 0; i < 6; ++i) {
    uint64_t v = 0;
    if (read(ev, &v, 8) == 8) {
      printf(" %llu", (unsigned long long)v);
      ok &= i < 5 && v == 1;
    } else {
      printf(errno == EAGAIN ? " empty" : " error");
      ok &= i == 5 && errno == EAGAIN;
    }
  }
  ssize_t n;
  if (with_signalfd) {
    kill(getpid(), SIGUSR2);
    struct signalfd_siginfo si;
    n = read(sig, &si, sizeof si);
    printf(" / signalfd %s", n == sizeof si && si.ssi_signo == SIGUSR2 ? "SIGUSR2" : "wrong");
    ok &= n == sizeof si && si.ssi_signo == SIGUSR2;
  } else {
    printf(" / signalfd none");
  }
  uint64_t ticks = 0, more = 0;
  n = read(tim, &ticks, 8);
  ok &= n == 8 && ticks >= 1;
  n = read(tim, &more, 8);  // (it goes on expiring)
  ok &= n == 8 && more >= 1;
  printf(" / timerfd %s", ok ? "ticking" : "stopped");
  // Both ends of one socketpair, of its type: two messages keep their bounds, and each way works.
  char buf[16] = {0};
  int type = 0;
  socklen_t len = sizeof type;
  int pair_ok = getsockopt(pair[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET;
  pair_ok &= write(pair[0], "ab", 2) == 2 && write(pair[0], "c", 1) == 1 && read(pair[1], buf, sizeof buf) == 2;
  pair_ok &= write(pair[1], "d", 1) == 1 && read(pair[0], buf + 2, sizeof buf - 2) == 1 && buf[0] == 'a' && buf[2] == 'd';
  printf(" / socketpair %s\n", pair_ok ? "seqpacket" : "broken");
  ok &= pair_ok;
  printf("%s\n", ok ? "VERDICT OK" : "VERDICT BAD");
  return ok ? 0 : 1;
}
