// Run under mosrun: checks the shim's contracts and prints "SHIM OK" or "SHIM FAIL: why".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL 1021

static int fail(const char* why) {
  printf("SHIM FAIL: %s (errno %s)\n", why, strerror(errno));
  return 3;
}

static void on_alarm(int sig) { (void)sig; }

static int is_socket(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int main(void) {
  if (!is_socket(CHANNEL)) return fail("no channel socket on fd 1021");
  errno = 0;
  if (close(CHANNEL) != -1 || errno != EBADF || !is_socket(CHANNEL)) return fail("close(1021) reached the channel");
  if (dup2(1, CHANNEL) != -1 || !is_socket(CHANNEL)) return fail("dup2 onto 1021 replaced the channel");
  int fd = open("/dev/null", O_RDONLY);
  if (close_range(3, ~0u, 0) != 0) return fail("close_range");
  if (fcntl(fd, F_GETFD) != -1 || !is_socket(CHANNEL)) return fail("close_range must close fd 3.. but not the channel");
  // A relative sleep interrupted by a signal reports EINTR and the time left.
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 200000}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct timespec req = {2, 0}, rem = {0, 0};
  errno = 0;
  if (nanosleep(&req, &rem) != -1 || errno != EINTR) return fail("interrupted nanosleep did not report EINTR");
  if (rem.tv_sec != 1 || rem.tv_nsec < 100000000) return fail("nanosleep's remaining time is wrong");
  setitimer(ITIMER_REAL, &it, NULL);
  if (sleep(3) != 3) return fail("interrupted sleep(3) should report 3 s left (rounded up)");
  struct timespec bad = {0, 2000000000L};
  if (clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL) != EINVAL) return fail("clock_nanosleep must return EINVAL");
  struct timespec past = {0, 1};
  if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) != 0) return fail("absolute sleep in the past");
  if (usleep(1000) != 0 || sleep(0) != 0) return fail("short sleeps");
  struct timespec a, b, ms = {0, 50000000};
  clock_gettime(CLOCK_MONOTONIC, &a);
  if (nanosleep(&ms, NULL) != 0) return fail("nanosleep");
  clock_gettime(CLOCK_MONOTONIC, &b);
  if ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 50000000L) return fail("slept too short");
  printf("SHIM OK\n");
  return 0;
}
