// Waits for SIGUSR1 in one system call, named by its argument, and says how it woke:
//   signal_waiter MODE      MODE: pause sigsuspend futex sigtimedwait poll epoll nanosleep read
//                                 pselect ppoll
// (pselect and ppoll block SIGUSR1 but in the call's own mask, as make's jobserver does SIGCHLD.)
// Prints "waiting MODE" once it is about to wait, then "woke MODE handled=N result=R errno=E"
// and exits 0 when the wait ended as it would for any process: the handler ran (or, for
// sigtimedwait, the signal was taken) and the call returned -1/EINTR (the signal number for
// sigtimedwait). Anything else exits 1 with the reason. SIGTERM is left at its default: it
// kills the process in any mode.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: signal_waiter pause|sigsuspend|futex|sigtimedwait|poll|epoll|nanosleep|read|pselect|ppoll\n");
    return 2;
  }
  const char* mode = argv[1];
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;  // no SA_RESTART: the wait returns EINTR
  sigaction(SIGUSR1, &sa, NULL);
  int fds[2];
  if (pipe(fds) != 0) return 1;  // (nobody ever writes to it)
  sigset_t usr1, none;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigemptyset(&none);
  uint32_t word = 0;
  long r = -1;
  int err = 0;
  if (strcmp(mode, "sigsuspend") == 0 || strcmp(mode, "sigtimedwait") == 0 || strcmp(mode, "pselect") == 0 ||
      strcmp(mode, "ppoll") == 0) {
    sigprocmask(SIG_BLOCK, &usr1, NULL);
  }
  printf("waiting %s\n", mode);
  if (strcmp(mode, "pause") == 0) {
    r = pause();
  } else if (strcmp(mode, "sigsuspend") == 0) {
    // A full mask but for SIGUSR1, as programs write it: SIGSYS is blocked in it too.
    sigset_t all_but;
    sigfillset(&all_but);
    sigdelset(&all_but, SIGUSR1);
    sigdelset(&all_but, SIGTERM);
    r = sigsuspend(&all_but);
  } else if (strcmp(mode, "futex") == 0) {
    r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  } else if (strcmp(mode, "sigtimedwait") == 0) {
    siginfo_t info;
    r = sigwaitinfo(&usr1, &info);
    if (r == SIGUSR1) handled = 1;
  } else if (strcmp(mode, "poll") == 0) {
    struct pollfd p = {fds[0], POLLIN, 0};
    r = poll(&p, 1, -1);
  } else if (strcmp(mode, "epoll") == 0) {
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
    r = epoll_wait(ep, &ev, 1, -1);
  } else if (strcmp(mode, "nanosleep") == 0) {
    struct timespec t = {100000, 0};
    r = nanosleep(&t, NULL);
  } else if (strcmp(mode, "pselect") == 0) {
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    r = pselect(fds[0] + 1, &rd, NULL, NULL, NULL, &none);
  } else if (strcmp(mode, "ppoll") == 0) {
    struct pollfd p = {fds[0], POLLIN, 0};
    r = ppoll(&p, 1, NULL, &none);
  } else if (strcmp(mode, "read") == 0) {
    char c;
    r = read(fds[0], &c, 1);
  } else {
    fprintf(stderr, "signal_waiter: unknown mode %s\n", mode);
    return 2;
  }
  err = errno;
  printf("woke %s handled=%d result=%ld errno=%d\n", mode, (int)handled, r, r < 0 ? err : 0);
  if (strcmp(mode, "sigtimedwait") == 0) return r == SIGUSR1 ? 0 : 1;
  if (handled < 1 || r != -1 || err != EINTR) {
    fprintf(stderr, "signal_waiter: %s did not end as at home\n", mode);
    return 1;
  }
  return 0;
}
