// A program that sets up every kind of state a checkpoint must carry, then loops checking
// that all of it is still there, until the file CONTROL_DIR/finish appears. Then it grows
// its heap with brk, checks once more and prints a verdict. Exit 0 on success, 3 on failure.
//
// usage: selfcheck CONTROL_DIR
// prints "ready" once everything is set up, "VERDICT OK" or "VERDICT FAIL: why" at the end.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static const char* g_dir;
static char* g_heap;
static size_t g_heap_len = 8 << 20;
static char* g_sparse;
static size_t g_sparse_len = 256 << 20;
static char* g_ro;
static char* g_brk0;
static int g_fd;
static volatile sig_atomic_t g_usr1;
static volatile sig_atomic_t g_vtalrm;
static char g_altstack[65536];
static long g_iter;

static void fail(const char* why) {
  printf("VERDICT FAIL: %s (iteration %ld)\n", why, g_iter);
  fflush(stdout);
  exit(3);
}

static void on_usr1(int sig) { (void)sig; g_usr1++; }
static void on_vtalrm(int sig) { (void)sig; g_vtalrm++; }
static volatile sig_atomic_t g_usr2;
static void on_usr2(int sig) { (void)sig; g_usr2++; }

static unsigned char pattern(size_t i) { return (unsigned char)(i * 2654435761u >> 13); }

// Loads ymm/xmm registers with a pattern and spins for a while checking nobody changed them.
// A checkpoint taken during the spin must bring them back exactly.
static int spin_with_vector_registers(long rounds) {
  int bad = 0;
#ifdef __AVX2__
  __asm__ volatile(
      "mov $0x1122334455667788, %%rax\n"
      "vmovq %%rax, %%xmm8\n"
      "vpbroadcastq %%xmm8, %%ymm8\n"
      "vpaddq %%ymm8, %%ymm8, %%ymm9\n"
      "vmovdqa %%ymm8, %%ymm10\n"
      "vmovdqa %%ymm9, %%ymm11\n"
      "1:\n"
      "vpcmpeqq %%ymm8, %%ymm10, %%ymm12\n"
      "vpcmpeqq %%ymm9, %%ymm11, %%ymm13\n"
      "vpand %%ymm12, %%ymm13, %%ymm12\n"
      "vpmovmskb %%ymm12, %%edx\n"
      "cmp $-1, %%edx\n"
      "jne 2f\n"
      "dec %1\n"
      "jnz 1b\n"
      "jmp 3f\n"
      "2: movl $1, %0\n"
      "3:\n"
      "vzeroupper\n"
      : "+r"(bad), "+r"(rounds)
      :
      : "rax", "rdx", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "cc");
#else
  __asm__ volatile(
      "mov $0x1122334455667788, %%rax\n"
      "movq %%rax, %%xmm8\n"
      "movdqa %%xmm8, %%xmm10\n"
      "1:\n"
      "movdqa %%xmm8, %%xmm12\n"
      "pcmpeqd %%xmm10, %%xmm12\n"
      "pmovmskb %%xmm12, %%edx\n"
      "cmp $0xffff, %%edx\n"
      "jne 2f\n"
      "dec %1\n"
      "jnz 1b\n"
      "jmp 3f\n"
      "2: movl $1, %0\n"
      "3:\n"
      : "+r"(bad), "+r"(rounds)
      :
      : "rax", "rdx", "xmm8", "xmm10", "xmm12", "cc");
#endif
  return bad;
}

// glibc registers an rseq area for the thread; it must still be registered with the kernel:
// registering the same area again then fails with EBUSY. (Skipped when glibc did not register.)
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
static int rseq_registered(void) {
  if (&__rseq_size == NULL || __rseq_size == 0) return 1;
  void* area = (char*)__builtin_thread_pointer() + __rseq_offset;
  long r = syscall(SYS_rseq, area, 32, 0, 0x53053053);
  return r == -1 && errno == EBUSY;
}

static void check_all(void) {
  if (!rseq_registered()) fail("rseq registration");
  for (size_t i = 0; i < g_heap_len; i += 4093)
    if ((unsigned char)g_heap[i] != pattern(i)) fail("heap pattern");
  for (size_t i = 0; i < g_sparse_len; i += 16 * 4096)
    if ((unsigned char)g_sparse[i] != pattern(i)) fail("sparse mapping pattern");
  if (g_sparse[4096] != 0) fail("untouched page not zero");
  for (size_t i = 0; i < 4096; i++)
    if ((unsigned char)g_ro[i] != pattern(i + 7)) fail("read-only page pattern");
  for (size_t i = 0; i < 65536; i++)
    if ((unsigned char)g_brk0[i] != pattern(i + 3)) fail("brk area pattern");
  if (fegetround() != FE_TOWARDZERO) fail("FP rounding mode");
  volatile double x = 1.0, y = 3.0;
  if (x / y * 3.0 == 1.0) fail("FP rounding mode has no effect");
  struct sigaction sa;
  sigaction(SIGUSR1, NULL, &sa);
  if (sa.sa_handler != on_usr1 || !(sa.sa_flags & SA_RESTART) || !sigismember(&sa.sa_mask, SIGHUP))
    fail("SIGUSR1 disposition");
  sigset_t mask;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  if (!sigismember(&mask, SIGUSR2) || sigismember(&mask, SIGUSR1)) fail("blocked mask");
  struct itimerval it;
  getitimer(ITIMER_REAL, &it);
  if (it.it_interval.tv_sec != 3600 || it.it_value.tv_sec == 0) fail("ITIMER_REAL");
  stack_t ss;
  sigaltstack(NULL, &ss);
  if (ss.ss_sp != g_altstack || ss.ss_size != sizeof g_altstack) fail("sigaltstack");
  off_t pos = lseek(g_fd, 0, SEEK_CUR);
  if (pos != 6) fail("file offset");
  int fl = fcntl(g_fd, F_GETFL);
  if ((fl & O_ACCMODE) != O_RDWR) fail("file access mode");
  if (!(fcntl(g_fd, F_GETFD) & FD_CLOEXEC)) fail("close-on-exec flag");
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, g_dir) != 0) fail("cwd");
  mode_t um = umask(0);
  umask(um);
  if (um != 027) fail("umask");
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != 512) fail("rlimit");
  if (spin_with_vector_registers(20000000)) fail("vector registers");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: selfcheck CONTROL_DIR\n");
    return 2;
  }
  g_dir = realpath(argv[1], NULL);
  if (!g_dir || chdir(g_dir) != 0) {
    perror("chdir");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  g_heap = malloc(g_heap_len);
  for (size_t i = 0; i < g_heap_len; i++) g_heap[i] = pattern(i);
  g_sparse = mmap(NULL, g_sparse_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < g_sparse_len; i += 16 * 4096) g_sparse[i] = pattern(i);
  g_ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < 4096; i++) g_ro[i] = pattern(i + 7);
  mprotect(g_ro, 4096, PROT_READ);
  g_brk0 = sbrk(65536);
  for (size_t i = 0; i < 65536; i++) g_brk0[i] = pattern(i + 3);
  fesetround(FE_TOWARDZERO);
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGHUP);
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_vtalrm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGVTALRM, &sa, NULL);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGALRM, &sa, NULL);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  struct itimerval it = {{3600, 0}, {3600, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct itimerval vt = {{0, 10000}, {0, 10000}};
  setitimer(ITIMER_VIRTUAL, &vt, NULL);
  stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  g_fd = open("state.txt", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (write(g_fd, "hello\n", 6) != 6) fail("write");
  umask(027);
  struct rlimit rl = {512, 4096};
  setrlimit(RLIMIT_NOFILE, &rl);
  check_all();
  printf("ready pid=%d\n", getpid());
  char finish[4200];
  snprintf(finish, sizeof finish, "%s/finish", g_dir);
  struct stat st;
  while (stat(finish, &st) != 0) {
    g_iter++;
    check_all();
  }
  // After recovery: signals reach handlers, timers tick, the heap can grow.
  int before = g_usr1;
  raise(SIGUSR1);
  if (g_usr1 != before + 1) fail("raise(SIGUSR1) did not reach the handler");
  int vt0 = g_vtalrm;
  while (g_vtalrm == vt0) spin_with_vector_registers(1000000);
  char* more = sbrk(1 << 20);
  if (more == (void*)-1) fail("sbrk after recovery");
  memset(more, 0x5a, 1 << 20);
  check_all();
  char buf[7] = {0};
  if (pread(g_fd, buf, 6, 0) != 6 || strcmp(buf, "hello\n") != 0) fail("file contents");
  // SIGUSR2 was blocked all along: one sent before the checkpoint is pending, and arrives now.
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_UNBLOCK, &usr2, NULL);
  printf("VERDICT OK iterations=%ld usr2=%d\n", g_iter, (int)g_usr2);
  return 0;
}
