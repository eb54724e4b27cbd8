// A program with a POSIX timer (timer_create): a 20 ms periodic timer on CLOCK_MONOTONIC that
// sends SIGUSR2 with a value the handler checks. It runs for SECONDS (default 4), printing the
// tick count each half second, then checks that its timer still answers by its id and that the
// ticks kept coming (at least half of what the time allows): "timer ok". Moved or recovered
// meanwhile, the timer must go with it. usage: posix_timer [SECONDS]
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks, bad_value;

static void on_tick(int sig, siginfo_t* si, void* ctx) {
  (void)sig, (void)ctx;
  if (si->si_value.sival_int != 4242) bad_value = 1;
  ticks++;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 4;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_tick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
  timer_t first, timer;
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_NONE;
  if (timer_create(CLOCK_MONOTONIC, &ev, &first) != 0) return perror("timer_create"), 1;  // (so the real one's id is not 0)
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ev.sigev_value.sival_int = 4242;
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0) return perror("timer_create"), 1;
  struct itimerspec its = {{0, 20 * 1000 * 1000}, {0, 20 * 1000 * 1000}};
  if (timer_settime(timer, 0, &its, NULL) != 0) return perror("timer_settime"), 1;
  printf("ready (timer id %ld)\n", (long)(intptr_t)timer);
  fflush(stdout);
  double start = now(), next = start + 0.5;
  // Counted in process time that passes here: a move stops it for a moment, which the timer
  // does not see either.
  while (now() - start < seconds) {
    usleep(10 * 1000);
    if (now() >= next) {
      printf("ticks %d\n", (int)ticks);
      fflush(stdout);
      next += 0.5;
    }
  }
  struct itimerspec left;
  if (timer_gettime(timer, &left) != 0) return perror("timer_gettime after the run"), 1;
  if (left.it_interval.tv_nsec != 20 * 1000 * 1000) return fprintf(stderr, "the timer's interval changed\n"), 1;
  if (bad_value) return fprintf(stderr, "a tick came with the wrong value\n"), 1;
  double expected = seconds / 0.020;
  if (ticks < expected / 2) return fprintf(stderr, "only %d ticks in %.1f s\n", (int)ticks, seconds), 1;
  printf("timer ok (%d ticks)\n", (int)ticks);
  return 0;
}
