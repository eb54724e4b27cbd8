// libmosix.so: the shim preloaded (LD_PRELOAD) into every program started by mosrun.
//
// RULES for this file and everything it includes, because it runs inside arbitrary programs,
// at any instant, including in a process restored from an image or stopped while holding a
// libc lock:
//   1. No gRPC, no protobuf, no Abseil, no C++ standard library, no exceptions, no RTTI.
//   2. System calls are raw (`Syscall` below, issued from this library's own text), never
//      through libc wrappers: libc's may be interposed, and later remote mode tells the
//      shim's own calls from the program's by their address.
//   3. No malloc and no stdio on any path after the constructor; buffers are on the stack
//      or static.
//   4. errno is set only where the function being replaced sets it.
//   5. At home the per-call cost is a compare or two: a process that never leaves home must
//      not be measurably slower.
//
// What it does:
//   - at home (this file): registers the process with its agent over the channel
//     (SOCK_SEQPACKET), kept on the reserved fd MOSIX_CHANNEL_FD, which close/close_range/
//     dup2/dup3 cannot take away and which stays open across fork and exec (the programs
//     after the first greet on the channel they inherited); turns relative sleeps into
//     sleeps until an absolute CLOCK_MONOTONIC deadline, so a checkpoint taken mid-sleep
//     restarts the very same sleep;
//   - away from home (remote.cc): the SIGSYS handler of Syscall User Dispatch, which runs,
//     answers, forwards or refuses every system call by the syscall table;
//   - as the deputy (deputy.cc): the loop the home process runs while its context is away.
// The agent finds `mosix_shim_info` (shim_info.h) by symbol and switches the mode.
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "interceptor/channel_protocol.h"
#include "interceptor/internal/raw.h"
#include "interceptor/shim_info.h"

#define SHIM_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
__attribute__((visibility("default"))) mosix_shim_info mosix_shim_info = {
    MOSIX_SHIM_INFO_VERSION, MOSIX_MODE_HOME, 0, 0, 0, {}, 0, 0, 0, {}, 0, 0, 0, 0, 0, 0, 0, 0};
}

extern "C" void mosix_sigsys_handler(int, siginfo_t*, void*);
extern "C" long mosix_dispatch(long nr, long a0, long a1, long a2, long a3);
extern "C" void mosix_restorer();
extern "C" void mosix_deputy_main(long, const uint64_t (*)[2], long);

namespace {

using mosix::shim::Syscall;

// -1 until the channel is up.
int g_channel = -1;

long Fail(long r) {
  errno = static_cast<int>(-r);
  return -1;
}

size_t Strlen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

const char* GetEnv(char** envp, const char* name) {
  size_t n = Strlen(name);
  for (char** e = envp; e && *e; ++e) {
    const char* s = *e;
    size_t i = 0;
    while (i < n && s[i] == name[i]) ++i;
    if (i == n && s[n] == '=') return s + n + 1;
  }
  return nullptr;
}

// The agent's channel socket, from the environment at start. In .data, on the page that
// mosix_shim_info and g_channel share, which every program writes at start anyway: in .bss it
// lay 7 MB further (beyond the buffers for life away from home), and its first touch cost every
// program a page fault of its own (15 us on these VMs).
__attribute__((section(".data"))) char g_channel_path[sizeof(sockaddr_un::sun_path)];

// HELLO on the channel: this process runs under mosrun. Whether it went.
bool SayHello(int flags) {
  struct {
    mosix_msg_header h;
    mosix_hello hello;
  } msg = {{MOSIX_MSG_HELLO, sizeof(mosix_hello)},
           {static_cast<int32_t>(Syscall(SYS_getpid)), MOSIX_CHANNEL_VERSION}};
  return Syscall(SYS_sendto, MOSIX_CHANNEL_FD, reinterpret_cast<long>(&msg), sizeof msg, MSG_NOSIGNAL | flags, 0, 0) ==
         static_cast<long>(sizeof msg);
}

// Connects to the agent's channel socket on MOSIX_CHANNEL_FD and greets. The channel stays
// open across exec (no O_CLOEXEC): the programs a process execs, and those its children exec,
// greet on it (InheritedChannel).
void ConnectChannel() {
  const char* path = g_channel_path;
  long fd = Syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr;
  for (size_t i = 0; i < sizeof addr; ++i) reinterpret_cast<char*>(&addr)[i] = 0;
  addr.sun_family = AF_UNIX;
  size_t len = Strlen(path);
  if (len >= sizeof addr.sun_path) {
    Syscall(SYS_close, fd);
    return;
  }
  for (size_t i = 0; i < len; ++i) addr.sun_path[i] = path[i];
  if (Syscall(SYS_connect, fd, reinterpret_cast<long>(&addr), sizeof addr) != 0 ||
      Syscall(SYS_dup3, fd, MOSIX_CHANNEL_FD, 0) != MOSIX_CHANNEL_FD) {
    Syscall(SYS_close, fd);
    return;
  }
  Syscall(SYS_close, fd);
  g_channel = MOSIX_CHANNEL_FD;
  SayHello(0);
}

// Whether MOSIX_CHANNEL_FD is a channel to this agent that the process inherited: from the
// program it was before exec, or from the parent that forked it and exec'd (a shell's command,
// a make's job, a posix_spawn). Its peer is the agent's channel socket, which nothing else is.
bool InheritedChannel() {
  sockaddr_un peer;
  socklen_t len = sizeof peer;
  if (Syscall(SYS_getpeername, MOSIX_CHANNEL_FD, reinterpret_cast<long>(&peer), reinterpret_cast<long>(&len)) != 0 ||
      peer.sun_family != AF_UNIX) {
    return false;
  }
  size_t n = Strlen(g_channel_path);
  if (len != offsetof(sockaddr_un, sun_path) + n + 1) return false;
  for (size_t i = 0; i < n; ++i) {
    if (peer.sun_path[i] != g_channel_path[i]) return false;
  }
  return true;
}

// A child forked by the program (fork, not exec: a program it execs starts its own shim and
// greets) is a process of its own under mosix, with its own home pid, that borrows its parent's
// channel; the agent gives it one of its own before it first leaves home (the deputy needs one
// no other process reads), and tells it its home pid then (RestoreOptions::Remote::home_pid).
// The agent learns of it from the kernel (its fork watch), so a fork costs the program nothing:
// a hello from each child cost every fork 50-110 us on these VMs (its send, and the copy of the
// page it wrote). Only where the agent cannot see forks (mosrun sets MOSIX_GREET_FORKS_ENV) does
// the child greet, on the channel it inherited, never waiting: if that is full (an agent slow to
// read) or dead (the agent restarted), it connects on its own, as a program does.
void AfterForkInChild() {
  if (g_channel >= 0 && !SayHello(MSG_DONTWAIT)) ConnectChannel();
}

// Runs before main, with the process's argc/argv/envp (glibc passes them to init functions).
__attribute__((constructor)) void ShimInit(int, char**, char** envp) {
  mosix_shim_info.home_pid = static_cast<int32_t>(Syscall(SYS_getpid));
  mosix_shim_info.sigsys_handler = reinterpret_cast<uint64_t>(&mosix_sigsys_handler);
  mosix_shim_info.sigreturn = reinterpret_cast<uint64_t>(&mosix_restorer);
  const char* e = GetEnv(envp, "MOSIX_ERROR_ON_UNSUPPORTED");
  if (e && *e == '1') mosix_shim_info.flags |= MOSIX_SHIM_ERROR_ON_UNSUPPORTED;
  const char* path = GetEnv(envp, MOSIX_CHANNEL_ENV);
  if (path && Strlen(path) < sizeof g_channel_path) {
    for (size_t i = 0; path[i]; ++i) g_channel_path[i] = path[i];
    // A program greets on the channel it inherited, without waiting, as a forked child does:
    // a shell or a make under mosrun starts many short programs, and a connection each would
    // cost every one of them a connect and the agent an accept, for nothing. On a full or
    // dead channel (the agent restarted) it connects by itself.
    if (InheritedChannel()) {
      g_channel = MOSIX_CHANNEL_FD;
      if (!SayHello(MSG_DONTWAIT)) {
        g_channel = -1;
        ConnectChannel();
      }
    } else {
      ConnectChannel();
    }
    // (libc's atfork list: registered here, in the constructor, where libc may be called.)
    const char* greet = GetEnv(envp, MOSIX_GREET_FORKS_ENV);
    if (greet && *greet == '1') pthread_atfork(nullptr, nullptr, &AfterForkInChild);
  }
  // Last: the agent moves a process only once this is set (it may be asked to as soon as the
  // hello above arrives, while this runs).
  __atomic_store_n(&mosix_shim_info.deputy_entry, reinterpret_cast<uint64_t>(&mosix_deputy_main), __ATOMIC_RELEASE);
}

bool IsChannel(long fd) { return g_channel >= 0 && fd == g_channel; }

// A system call of the shim's libc replacements: raw at home, dispatched by the table away.
long Sys(long nr, long a0, long a1 = 0, long a2 = 0, long a3 = 0) {
  if (mosix_shim_info.mode == MOSIX_MODE_REMOTE) return mosix_dispatch(nr, a0, a1, a2, a3);
  return Syscall(nr, a0, a1, a2, a3);
}

constexpr long kNsPerSec = 1000000000L;

void Add(timespec* t, const timespec& d) {
  t->tv_sec += d.tv_sec;
  t->tv_nsec += d.tv_nsec;
  if (t->tv_nsec >= kNsPerSec) {
    t->tv_nsec -= kNsPerSec;
    t->tv_sec += 1;
  }
}

// Remaining time from now to deadline, never negative.
void Remaining(const timespec& deadline, timespec* rem) {
  timespec now;
  Syscall(SYS_clock_gettime, CLOCK_MONOTONIC, reinterpret_cast<long>(&now));
  long sec = deadline.tv_sec - now.tv_sec;
  long nsec = deadline.tv_nsec - now.tv_nsec;
  if (nsec < 0) {
    nsec += kNsPerSec;
    sec -= 1;
  }
  if (sec < 0) sec = nsec = 0;
  rem->tv_sec = sec;
  rem->tv_nsec = nsec;
}

// clock_nanosleep's contract: returns 0 or a positive error number, errno untouched.
int SleepRelative(clockid_t clock, int flags, const timespec* req, timespec* rem) {
  bool relative = !(flags & TIMER_ABSTIME) &&
                  (clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME);
  if (!relative) {
    return static_cast<int>(-Syscall(SYS_clock_nanosleep, clock, flags, reinterpret_cast<long>(req),
                                     reinterpret_cast<long>(rem)));
  }
  if (!req) return EFAULT;
  if (req->tv_nsec < 0 || req->tv_nsec >= kNsPerSec || req->tv_sec < 0) return EINVAL;
  timespec deadline;
  Syscall(SYS_clock_gettime, CLOCK_MONOTONIC, reinterpret_cast<long>(&deadline));
  Add(&deadline, *req);
  long r = Syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, reinterpret_cast<long>(&deadline), 0);
  if (r == -EINTR && rem) Remaining(deadline, rem);
  return static_cast<int>(-r);
}

}  // namespace

SHIM_EXPORT int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
  return SleepRelative(clock, flags, req, rem);
}

SHIM_EXPORT int nanosleep(const timespec* req, timespec* rem) {
  int r = SleepRelative(CLOCK_MONOTONIC, 0, req, rem);
  if (r != 0) {
    errno = r;
    return -1;
  }
  return 0;
}

SHIM_EXPORT unsigned int sleep(unsigned int seconds) {
  timespec req = {static_cast<time_t>(seconds), 0}, rem = {0, 0};
  if (SleepRelative(CLOCK_MONOTONIC, 0, &req, &rem) == EINTR) {
    return static_cast<unsigned>(rem.tv_sec + (rem.tv_nsec > 0 ? 1 : 0));
  }
  return 0;
}

SHIM_EXPORT int usleep(useconds_t usec) {
  timespec req = {static_cast<time_t>(usec / 1000000), static_cast<long>(usec % 1000000) * 1000};
  int r = SleepRelative(CLOCK_MONOTONIC, 0, &req, nullptr);
  if (r != 0) {
    errno = r;
    return -1;
  }
  return 0;
}

// The channel fd is invisible: closing it "fails" as for an fd that is not open.
SHIM_EXPORT int close(int fd) {
  if (IsChannel(fd)) return static_cast<int>(Fail(-EBADF));
  long r = Sys(SYS_close, fd);
  return r < 0 ? static_cast<int>(Fail(r)) : 0;
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  if (g_channel >= 0 && first <= static_cast<unsigned>(g_channel) && static_cast<unsigned>(g_channel) <= last) {
    long r = 0;
    if (first < static_cast<unsigned>(g_channel)) r = Sys(SYS_close_range, first, g_channel - 1, flags);
    if (r == 0 && last > static_cast<unsigned>(g_channel)) r = Sys(SYS_close_range, g_channel + 1, last, flags);
    return r < 0 ? static_cast<int>(Fail(r)) : 0;
  }
  long r = Sys(SYS_close_range, first, last, flags);
  return r < 0 ? static_cast<int>(Fail(r)) : 0;
}

SHIM_EXPORT int dup2(int oldfd, int newfd) {
  if (IsChannel(newfd) || IsChannel(oldfd)) return static_cast<int>(Fail(-EBADF));
  long r = Sys(SYS_dup2, oldfd, newfd);
  return r < 0 ? static_cast<int>(Fail(r)) : static_cast<int>(r);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags) {
  if (IsChannel(newfd) || IsChannel(oldfd)) return static_cast<int>(Fail(-EBADF));
  long r = Sys(SYS_dup3, oldfd, newfd, flags);
  return r < 0 ? static_cast<int>(Fail(r)) : static_cast<int>(r);
}
