// Times two commands' runs from spawn to exit, alternated so that the machine's drift hits both:
// each round runs A, B, then A again, and its ratio is B over the mean of the two A's (the VM's
// speed drifts within minutes: ratios within a round are steadier than medians apart).
// Output is discarded. Prints one line: the median A and B in ms, the median of B - A in ms,
// and the median of the rounds' ratios.
//   usage: start_pairs ROUNDS -- A [ARGS...] -- B [ARGS...]
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char** environ;

static double NowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int Less(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double Median(double* v, int n) {
  qsort(v, n, sizeof *v, Less);
  return v[n / 2];
}

static double RunMs(char** argv, posix_spawn_file_actions_t* quiet) {
  double t = NowMs();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], quiet, NULL, argv, environ) != 0) {
    fprintf(stderr, "start_pairs: cannot run %s\n", argv[0]);
    exit(1);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "start_pairs: %s failed\n", argv[0]);
    exit(1);
  }
  return NowMs() - t;
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 0;
  int b = 3;
  while (b < argc && strcmp(argv[b], "--") != 0) ++b;
  if (rounds <= 0 || argc < 5 || strcmp(argv[2], "--") != 0 || b >= argc - 1 || b == 3) {
    fprintf(stderr, "usage: start_pairs ROUNDS -- A [ARGS...] -- B [ARGS...]\n");
    return 2;
  }
  argv[b] = NULL;
  char** cmd_a = argv + 3;
  char** cmd_b = argv + b + 1;
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
  double* a = calloc(rounds, sizeof *a);
  double* u = calloc(rounds, sizeof *u);
  double* d = calloc(rounds, sizeof *d);
  double* r = calloc(rounds, sizeof *r);
  for (int i = 0; i < rounds; ++i) {
    double a1 = RunMs(cmd_a, &quiet);
    u[i] = RunMs(cmd_b, &quiet);
    double a2 = RunMs(cmd_a, &quiet);
    a[i] = (a1 + a2) / 2;
    d[i] = u[i] - a[i];
    r[i] = u[i] / a[i];
  }
  printf("%.3f %.3f %.3f %.4f\n", Median(a, rounds), Median(u, rounds), Median(d, rounds), Median(r, rounds));
  return 0;
}
