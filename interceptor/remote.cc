// The shim away from home: Syscall User Dispatch sends every system call made outside the
// shim's text here (SIGSYS), and the syscall table decides: run it locally, answer it (getpid),
// forward it to the deputy at home over the link, or refuse it. Freestanding: see shim.cc.
#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>

#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/internal/marshal.h"
#include "interceptor/internal/raw.h"
#include "interceptor/shim_info.h"
#include "interceptor/syscall_table.h"

extern "C" mosix_shim_info mosix_shim_info;

// The restorer of the shim's SIGSYS handler, and the `syscall` a program's own rt_sigreturn is
// re-issued from (it must come from the shim's text, which the dispatch lets through).
asm(".text\n"
    ".globl mosix_restorer\n.hidden mosix_restorer\n.type mosix_restorer,@function\n"
    "mosix_restorer:\n"
    "  mov $15, %eax\n"
    ".globl mosix_syscall_gadget\n.hidden mosix_syscall_gadget\n"
    "mosix_syscall_gadget:\n"
    "  syscall\n"
    "  hlt\n"
    // A call that may block, made natively once the SIGSYS handler has returned, with the
    // program's signal mask. The handler leaves the return address in rcx (which the syscall
    // instruction clobbers anyway); it goes onto the stack below the red zone, so that a
    // restarted call (rip back by 2) still finds it.
    ".globl mosix_native_gadget\n.hidden mosix_native_gadget\n"
    "mosix_native_gadget:\n"
    "  lea -128(%rsp), %rsp\n"
    "  push %rcx\n"
    "  syscall\n"
    "  ret $128\n"
    // The same for rt_sigsuspend, whose mask (in r11, likewise clobbered) goes on the stack
    // too, without SIGSYS, and is passed instead of the program's.
    ".globl mosix_sigsuspend_gadget\n.hidden mosix_sigsuspend_gadget\n"
    "mosix_sigsuspend_gadget:\n"
    "  lea -128(%rsp), %rsp\n"
    "  push %rcx\n"
    "  push %r11\n"
    "  mov %rsp, %rdi\n"
    "  syscall\n"
    "  lea 8(%rsp), %rsp\n"
    "  ret $128\n");
// A call that runs with a signal mask of its own (pselect6, ppoll, epoll_pwait) and that a
// pending signal its mask lets through interrupts at once: as the kernel does, the handler runs
// with that mask and the program sees EINTR. A native ppoll of no fds and no time, with that
// mask (in r11, onto the stack), makes the kernel deliver the signal; the argument registers,
// which a system call preserves, are kept around it; rax is EINTR's.
asm(".text\n"
    ".globl mosix_interrupt_gadget\n.hidden mosix_interrupt_gadget\n"
    "mosix_interrupt_gadget:\n"
    "  lea -128(%rsp), %rsp\n"
    "  push %rcx\n"
    "  push %rdi\n"
    "  push %rsi\n"
    "  push %rdx\n"
    "  push %r10\n"
    "  push %r8\n"
    "  push %r11\n"
    "  push $0\n"
    "  push $0\n"
    "  xor %edi, %edi\n"
    "  xor %esi, %esi\n"
    "  mov %rsp, %rdx\n"
    "  lea 16(%rsp), %r10\n"
    "  mov $8, %r8d\n"
    "  mov $271, %eax\n"
    "  syscall\n"
    "  lea 24(%rsp), %rsp\n"
    "  pop %r8\n"
    "  pop %r10\n"
    "  pop %rdx\n"
    "  pop %rsi\n"
    "  pop %rdi\n"
    "  mov $-4, %rax\n"
    "  ret $128\n");
extern "C" void mosix_interrupt_gadget();
extern "C" void mosix_restorer();
extern "C" void mosix_syscall_gadget();
extern "C" void mosix_native_gadget();
extern "C" void mosix_sigsuspend_gadget();

namespace mosix::shim {
namespace {

constexpr int kLink = MOSIX_CHANNEL_FD;  // away from home the channel is the link to the deputy
constexpr int kSpins = 64;               // non-blocking polls for a reply before sleeping on it
constexpr uint64_t kSigsysBit = 1ull << (SIGSYS - 1);

char g_req[MOSIX_FWD_MAX_MSG];
char g_rep[MOSIX_FWD_MAX_MSG];

// A row for forwarding a call with integer arguments only (kill of another process, ...).
constexpr SyscallEntry kIntsOnly = {0, kForward, {{kInt, 0, 0}, {kInt, 0, 0}, {kInt, 0, 0}, {kInt, 0, 0}, {kInt, 0, 0}, {kInt, 0, 0}}, "", ""};

// What Forward returns when the process came home before its call was made there (the agent
// saw to that): the caller re-issues the call natively. Never a system call's result.
constexpr long kCameHome = -(1l << 62);

// How the process ends, while it tells home (SendExit): what it ends with if home cannot hear.
struct {
  bool telling;
  int status, sig;
} g_exit;

// Said into the node agent's log (MOSIX_DIAG_FD): home cannot be told any more. A process that
// was telling home how it ends ends so (its node's agent keeps that for home, I4); any other
// with 112.
[[noreturn]] void LinkLost(const char* why) {
  char pid[24];
  SayTo(MOSIX_DIAG_FD, "mosix: home pid ", Decimal(mosix_shim_info.home_pid, pid), ": the link to the home node is lost (", why);
  SayTo(MOSIX_DIAG_FD, "); this remote part of the process ends\n");
  if (g_exit.telling && g_exit.sig > 0 && g_exit.sig < 65) {
    long self = Syscall(SYS_getpid);
    Syscall(SYS_tgkill, self, Syscall(SYS_gettid), g_exit.sig);  // (SIGKILL from Unsupported: no handler)
  }
  Syscall(SYS_exit_group, g_exit.telling && g_exit.sig == 0 ? g_exit.status : MOSIX_EXIT_LOST);
  __builtin_unreachable();
}

long Exchange(const SyscallEntry& e, long args[6], long n, uint32_t id);

long Forward(const SyscallEntry& e, long nr, long args[6]) {
  // The flag first, then the mode: a process caught with the flag up is not moved (the agent
  // waits for its reply); one caught before may have come home since, where the call is simply
  // made (its arguments are in its own memory).
  mosix_shim_info.forwarding = 1;
  asm volatile("" ::: "memory");
  if (mosix_shim_info.mode != MOSIX_MODE_REMOTE) {
    mosix_shim_info.forwarding = 0;
    return Syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  }
  uint32_t id = ++mosix_shim_info.call_id;
  long n = EncodeCall(e, nr, args, id, g_req, sizeof g_req);
  if (n < 0) {
    mosix_shim_info.forwarding = 0;
    return -E2BIG;
  }
  return Exchange(e, args, n, id);
}

// The link closed under a call: its home agent stopped (its node's agent, alive, says so when
// it relays). A restarted home agent gives this process a new link and bumps link_epoch
// (link_invariants.h, I5); this waits for that, IDLE, up to MOSIX_RELINK_WAIT_S. Returns at
// once if the process is brought home meanwhile.
void AwaitNewLink(uint32_t* epoch, const char* why) {
  for (int i = 0; i < MOSIX_RELINK_WAIT_S * 20; ++i) {
    if (mosix_shim_info.mode != MOSIX_MODE_REMOTE) return;
    uint32_t now = __atomic_load_n(&mosix_shim_info.link_epoch, __ATOMIC_ACQUIRE);
    if (now != *epoch) {
      *epoch = now;
      return;
    }
    timespec wait = {0, 50 * 1000 * 1000};
    Syscall(SYS_nanosleep, reinterpret_cast<long>(&wait), 0);
  }
  LinkLost(why);
}

// Sends the request (n bytes of g_req) on the link, on a new one if this one is gone; false if
// the process came home meanwhile.
bool SendRequest(long n, uint32_t* epoch) {
  while (!SendMessage(kLink, g_req, static_cast<size_t>(n))) {
    AwaitNewLink(epoch, "a request could not be sent");
    if (mosix_shim_info.mode != MOSIX_MODE_REMOTE) return false;
  }
  return true;
}

long ReceiveReply(int spins, bool block) { return RecvMessage(kLink, g_rep, sizeof g_rep, spins, block); }

// What Dispatch returns when signals wait to be handled before the call is made: the handler
// goes back onto the call's instruction, the signals are delivered, and the call is made then.
constexpr long kAfterSignals = kCameHome + 1;

// The call was not made because signals were sent to this process out of band before it
// (link_invariants.h, I4): wait (a little) for them to arrive, then have them handled first.
long AwaitOutbandSignals(uint32_t seq) {
  for (int i = 0; i < 2000; ++i) {
    if (static_cast<int32_t>(seq - __atomic_load_n(&mosix_shim_info.signals_seen, __ATOMIC_ACQUIRE)) <= 0) {
      return kAfterSignals;
    }
    timespec ms = {0, 1000000};
    Syscall(SYS_nanosleep, reinterpret_cast<long>(&ms), 0);
  }
  // They were lost on the way (an agent failed): not waited for again.
  __atomic_store_n(&mosix_shim_info.signals_seen, seq, __ATOMIC_RELEASE);
  return kAfterSignals;
}

// Sends the request in g_req (n bytes, call `id`) and waits for its reply, which it applies to
// args by e; the wait is where the process may be caught to move on, or to come home. The
// rules of both are link_invariants.h's (I1-I3).
long Exchange(const SyscallEntry& e, long args[6], long n, uint32_t id) {
  uint32_t epoch = mosix_shim_info.link_epoch;
  auto came_home = [] {
    if (mosix_shim_info.mode == MOSIX_MODE_REMOTE) return false;
    mosix_shim_info.forwarding = 0;
    return true;
  };
  if (!SendRequest(n, &epoch) && came_home()) return kCameHome;
  for (;;) {
    // If the process was moved meanwhile (a new link: its restore makes the poll return at
    // once), the request may not have reached the deputy; it is sent again (same id: the deputy
    // never runs it twice). Brought home instead, where the kLink fd is no longer the link, it
    // makes the call itself.
    if (came_home()) return kCameHome;
    long got = ReceiveReply(kSpins, /*block=*/false);  // usually here
    while (got == -EAGAIN) {
      pollfd p{kLink, POLLIN, 0};
      long ready = Syscall(SYS_poll, reinterpret_cast<long>(&p), 1, 1000);  // caught here to come home
      if (came_home()) return kCameHome;
      if (mosix_shim_info.link_epoch != epoch) {
        epoch = mosix_shim_info.link_epoch;
        if (!SendRequest(n, &epoch) && came_home()) return kCameHome;
      }
      if (ready > 0) {
        got = ReceiveReply(1, /*block=*/true);
      } else if (ready < 0 && ready != -EINTR) {
        got = -1;
      }
    }
    if (got == -2) LinkLost("a reply came malformed");
    if (got < 0) {  // (closed: sent again on the new link, I5)
      AwaitNewLink(&epoch, "it closed");
      if (came_home()) return kCameHome;
      if (!SendRequest(n, &epoch) && came_home()) return kCameHome;
      continue;
    }
    mosix_fwd_header h;
    Copy(&h, g_rep, sizeof h);
    if (h.type == MOSIX_FWD_RETURN && h.id == id) {
      uint32_t outband = 0;
      long r = ApplyReturn(e, args, g_rep + sizeof h, h.len, &outband);
      mosix_shim_info.forwarding = 0;
      return outband ? AwaitOutbandSignals(outband) : r;
    }
    // Anything else is a reply to a call made before the process moved: already answered.
  }
}

// A message of the shim's own (not a system call) sent as a call is: with an id, its answer
// awaited (Exchange), sent again on a new link. kCameHome if the process is home (or comes
// home meanwhile); else the answer's ret.
long Ask(uint32_t type, const void* payload, uint32_t len) {
  mosix_shim_info.forwarding = 1;
  asm volatile("" ::: "memory");
  if (mosix_shim_info.mode != MOSIX_MODE_REMOTE) {
    mosix_shim_info.forwarding = 0;
    return kCameHome;
  }
  uint32_t id = ++mosix_shim_info.call_id;
  mosix_fwd_header h{MOSIX_FWD_MAGIC, type, len, id};
  Copy(g_req, &h, sizeof h);
  Copy(g_req + sizeof h, payload, len);
  long args[6] = {0, 0, 0, 0, 0, 0};
  return Exchange(kIntsOnly, args, sizeof h + len, id);
}

// A call that is made at home (fork, exec, SysV IPC, ...): the process asks to be brought
// home and waits, like for a reply; once home, it makes the call itself (kCameHome). If it
// cannot be brought home, the call fails with EAGAIN (the deputy said why on stderr).
long ComeHome(long nr) {
  int64_t call = nr;
  return Ask(MOSIX_FWD_HOME, &call, sizeof call);
}

long ForwardInts(long nr, long a0, long a1 = 0, long a2 = 0, long a3 = 0) {
  long args[6] = {a0, a1, a2, a3, 0, 0};
  SyscallEntry e = kIntsOnly;
  e.nr = static_cast<uint16_t>(nr);
  return Forward(e, nr, args);
}

// Tells the deputy how this process ends, and waits until it has it (link_invariants.h, I6):
// an end sent while the node's agent restarts, or a move catches it, goes again on the new
// link; if none comes in time, the process ends as it would (LinkLost). Returns at once if the
// process came home meanwhile: the caller ends it natively there.
void SendExit(int status, int sig) {
  g_exit = {true, status, sig};  // (read only by LinkLost, which only a process away reaches)
  mosix_fwd_exit x{status, sig};
  (void)Ask(MOSIX_FWD_EXIT, &x, sizeof x);
}

long Unsupported(const SyscallEntry* e, long nr) {
  if (mosix_shim_info.flags & MOSIX_SHIM_ERROR_ON_UNSUPPORTED) return -ENOSYS;
  char num[24];
  const char* name = e ? e->name : Decimal(nr, num);
  const char* note = e ? e->note : "unknown system call";
  static char msg[512];
  size_t k = 0;
  const char* parts[] = {"mosix: system call ", name, " is not supported away from home (", note,
                         "); the process is killed. Run it with mosrun -e to make such calls fail with ENOSYS instead.\n"};
  for (const char* s : parts) {
    for (size_t i = 0; s[i] && k < sizeof msg - 1; ++i) msg[k++] = s[i];
  }
  long args[6] = {2, reinterpret_cast<long>(msg), static_cast<long>(k), 0, 0, 0};
  while (Forward(*LookupSyscall(SYS_write), SYS_write, args) == kAfterSignals) {
  }  // on the home's stderr
  SendExit(0, SIGKILL);
  Syscall(SYS_kill, Syscall(SYS_getpid), SIGKILL);
  __builtin_unreachable();
}

// write/pwrite bigger than one message go in pieces, as the kernel would do them.
long ForwardWrite(const SyscallEntry& e, long nr, long args[6]) {
  long total = 0;
  long left = args[2];
  for (;;) {
    long chunk[6] = {args[0], args[1] + total, left, nr == SYS_pwrite64 ? args[3] + total : args[3], args[4], args[5]};
    long r = Forward(e, nr, chunk);
    if (r < 0) return total > 0 ? total : r;
    total += r;
    left -= r;
    if (left <= 0 || r < chunk[2] || r == 0) return total;
  }
}

// A file mapping: the contents come from the home's file into an anonymous mapping here.
long MapFile(long args[6]) {
  long addr = args[0], len = args[1], prot = args[2], flags = args[3], fd = args[4], off = args[5];
  if ((flags & MAP_SHARED) && (prot & PROT_WRITE)) {
    return Unsupported(nullptr, SYS_mmap);  // writable shared file mappings cannot be kept coherent
  }
  long anon_flags = (flags & ~(MAP_SHARED | MAP_SHARED_VALIDATE)) | MAP_PRIVATE | MAP_ANONYMOUS;
  long at = Syscall(SYS_mmap, addr, len, PROT_READ | PROT_WRITE, anon_flags, -1, 0);
  if (at < 0 && at > -4096) return at;
  for (long done = 0; done < len;) {
    long piece[6] = {fd, at + done, len - done, off + done, 0, 0};
    long r = Forward(*LookupSyscall(SYS_pread64), SYS_pread64, piece);
    if (r < 0) {
      Syscall(SYS_munmap, at, len);
      return r;
    }
    if (r == 0) break;  // past the end of the file: zeros, as the kernel gives up to the page end
    done += r;
  }
  if (prot != (PROT_READ | PROT_WRITE)) Syscall(SYS_mprotect, at, len, prot);
  return at;
}

// sendmsg/recvmsg without ancillary data are sendto/recvfrom of the gathered bytes: the
// deputy needs no msghdr. Ancillary data (fds, credentials) cannot cross nodes: unsupported.
char g_gather[MOSIX_FWD_MAX_DATA];
constexpr SyscallEntry kAncillary = {SYS_sendmsg, kUnsupported, {}, "sendmsg/recvmsg",
                                     "ancillary data (fds, credentials) cannot cross nodes"};

long SendMsg(const msghdr* m, long fd, long flags) {
  if (m->msg_controllen != 0) return Unsupported(&kAncillary, SYS_sendmsg);
  size_t total = 0;
  for (size_t k = 0; k < m->msg_iovlen && total < sizeof g_gather; ++k) {
    size_t n = m->msg_iov[k].iov_len;
    if (n > sizeof g_gather - total) n = sizeof g_gather - total;  // a short send, as on a stream
    Copy(g_gather + total, m->msg_iov[k].iov_base, n);
    total += n;
  }
  long a[6] = {fd, reinterpret_cast<long>(g_gather), static_cast<long>(total), flags,
               reinterpret_cast<long>(m->msg_name), static_cast<long>(m->msg_namelen)};
  return Forward(*LookupSyscall(SYS_sendto), SYS_sendto, a);
}

long RecvMsg(msghdr* m, long fd, long flags) {
  if (m->msg_controllen != 0) return Unsupported(&kAncillary, SYS_recvmsg);
  size_t room = 0;
  for (size_t k = 0; k < m->msg_iovlen; ++k) room += m->msg_iov[k].iov_len;
  if (room > sizeof g_gather) room = sizeof g_gather;
  uint32_t namelen = m->msg_name ? m->msg_namelen : 0;
  long a[6] = {fd, reinterpret_cast<long>(g_gather), static_cast<long>(room), flags,
               reinterpret_cast<long>(m->msg_name), m->msg_name ? reinterpret_cast<long>(&namelen) : 0};
  long r = Forward(*LookupSyscall(SYS_recvfrom), SYS_recvfrom, a);
  if (r < 0) return r;
  size_t left = static_cast<size_t>(r), at = 0;
  for (size_t k = 0; k < m->msg_iovlen && left > 0; ++k) {
    size_t n = m->msg_iov[k].iov_len < left ? m->msg_iov[k].iov_len : left;
    Copy(m->msg_iov[k].iov_base, g_gather + at, n);
    at += n;
    left -= n;
  }
  if (m->msg_name) m->msg_namelen = namelen;
  m->msg_flags = 0;
  return r;
}

// sendmmsg as one sendmsg after another: the count sent, or the first one's error.
long SendMMsg(long fd, mmsghdr* v, long n, long flags) {
  long sent = 0;
  for (; sent < n; ++sent) {
    long r = SendMsg(&v[sent].msg_hdr, fd, flags);
    if (r < 0) return sent > 0 ? sent : r;
    v[sent].msg_len = static_cast<unsigned>(r);
  }
  return sent;
}

struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

long Local(long nr, long args[6]) {
  switch (nr) {
    case SYS_exit_group:
    case SYS_exit:
      SendExit(static_cast<int>(args[0]), 0);
      return Syscall(nr, args[0]);
    case SYS_mmap:
      if (!(args[3] & MAP_ANONYMOUS) && static_cast<int>(args[4]) >= 0) return MapFile(args);
      break;
    case SYS_rt_sigaction:
      if (args[0] == SIGSYS) {
        // SIGSYS belongs to the shim while away: the program's wish is kept aside.
        auto* keep = reinterpret_cast<KernelSigaction*>(mosix_shim_info.program_sigsys);
        KernelSigaction old = *keep;
        if (args[1]) *keep = *reinterpret_cast<const KernelSigaction*>(args[1]);
        if (args[2]) *reinterpret_cast<KernelSigaction*>(args[2]) = old;
        return 0;
      }
      if (args[1]) {
        KernelSigaction act = *reinterpret_cast<const KernelSigaction*>(args[1]);
        act.mask &= ~kSigsysBit;  // SIGSYS blocked in a handler would kill the process
        return Syscall(nr, args[0], reinterpret_cast<long>(&act), args[2], args[3]);
      }
      break;
    case SYS_rt_sigprocmask:
      if (args[1]) {
        uint64_t set = *reinterpret_cast<const uint64_t*>(args[1]);
        if (args[0] != SIG_UNBLOCK) set &= ~kSigsysBit;
        return Syscall(nr, args[0], reinterpret_cast<long>(&set), args[2], args[3]);
      }
      break;
    default:
      break;
  }
  return Syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
}

long Virtual(long nr, long args[6]) {
  long home = mosix_shim_info.home_pid;
  long self = Syscall(SYS_getpid);
  switch (nr) {
    case SYS_getpid:
    case SYS_gettid:
      return home;
    case SYS_kill:
      return args[0] == home ? Syscall(SYS_kill, self, args[1]) : ForwardInts(nr, args[0], args[1]);
    case SYS_tkill:
      return args[0] == home ? Syscall(SYS_tkill, self, args[1]) : ForwardInts(nr, args[0], args[1]);
    case SYS_tgkill:
      return args[0] == home ? Syscall(SYS_tgkill, self, self, args[2]) : ForwardInts(nr, args[0], args[1], args[2]);
    case SYS_rt_sigqueueinfo:
      return args[0] == home ? Syscall(nr, self, args[1], args[2]) : -EPERM;
    case SYS_rt_tgsigqueueinfo:
      return args[0] == home ? Syscall(nr, self, self, args[2], args[3]) : -EPERM;
    default:
      return -ENOSYS;
  }
}

long ForwardCall(const SyscallEntry& e, long nr, long args[6]) {
  switch (nr) {
    case SYS_close:
      if (args[0] == kLink) return -EBADF;
      break;
    case SYS_dup2:
    case SYS_dup3:
      if (args[1] == kLink) return -EBADF;
      break;
    case SYS_write:
    case SYS_pwrite64:
      if (static_cast<unsigned long>(args[2]) > MOSIX_FWD_MAX_DATA) return ForwardWrite(e, nr, args);
      break;
    case SYS_ioctl:
    case SYS_fcntl: {
      // The layout of the third argument depends on the command (syscall_table.h).
      const SyscallEntry* v = EntryForCall(nr, args);
      if (!v) return -ENOTTY;  // an ioctl whose argument cannot be described
      return Forward(*v, nr, args);
    }
    case SYS_sendmsg:
      return SendMsg(reinterpret_cast<const msghdr*>(args[1]), args[0], args[2]);
    case SYS_recvmsg:
      return RecvMsg(reinterpret_cast<msghdr*>(args[1]), args[0], args[2]);
    case SYS_sendmmsg:
      return SendMMsg(args[0], reinterpret_cast<mmsghdr*>(args[1]), args[2], args[3]);
    default:
      break;
  }
  return Forward(e, nr, args);
}

// The program's signal mask where it made the call being dispatched (the handler runs with
// every signal blocked).
uint64_t g_program_mask = 0;

// Signals pending here (SIGSYS aside: the shim's own).
uint64_t PendingSignals() {
  uint64_t pending = 0;  // (everything is blocked in here: all pending signals show)
  if (Syscall(SYS_rt_sigpending, reinterpret_cast<long>(&pending), 8) != 0) return 0;
  return pending & ~kSigsysBit;
}

// Signals pending here that the program does not block.
uint64_t DeliverableSignals() { return PendingSignals() & ~g_program_mask; }

// A forwarded call interrupted at home by a signal (which is now pending here) restarts, as the
// kernel would restart it, when every deliverable pending signal's handler asked for
// SA_RESTART; one interrupted by a signal the program blocks restarts too (the kernel would
// not have interrupted it).
bool ShouldRestart() {
  uint64_t pending = DeliverableSignals();
  for (int sig = 1; sig < 65; ++sig) {
    if (!(pending & (1ull << (sig - 1)))) continue;
    KernelSigaction act{};
    Syscall(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&act), 8);
    bool handled = act.handler > 1;
    if (handled && !(act.flags & SA_RESTART)) return false;
  }
  return true;
}

// What Dispatch returns for a kLocalWait call: made natively, outside the handler, where
// signals interrupt it as they would at home (I4): see mosix_native_gadget.
constexpr long kRunNative = kCameHome + 2;

// Reads 8 bytes of this process's memory at a pointer the program gave: false (not a crash)
// where nothing is mapped.
bool ReadOwn(long addr, uint64_t* out) {
  iovec here{out, sizeof *out};
  iovec there{reinterpret_cast<void*>(addr), sizeof *out};
  return Syscall(SYS_process_vm_readv, Syscall(SYS_getpid), reinterpret_cast<long>(&here), 1,
                 reinterpret_cast<long>(&there), 1, 0) == static_cast<long>(sizeof *out);
}

// What Dispatch returns for a call with a mask of its own that a pending signal interrupts at
// once (mosix_interrupt_gadget); the mask is in g_call_mask.
constexpr long kInterrupt = kCameHome + 3;
uint64_t g_call_mask = 0;

// The signal mask the call runs with, when it has one of its own (pselect6, ppoll, epoll_pwait,
// epoll_pwait2): make's jobserver waits in pselect6 with SIGCHLD let through only there.
bool CallMask(long nr, const long args[6], uint64_t* mask) {
  long ptr = 0, size = 0;
  switch (nr) {
    case SYS_pselect6: {
      uint64_t pair[2];
      if (!args[5] || !ReadOwn(args[5], &pair[0]) || !ReadOwn(args[5] + 8, &pair[1])) return false;
      ptr = static_cast<long>(pair[0]);
      size = static_cast<long>(pair[1]);
      break;
    }
    case SYS_ppoll:
      ptr = args[3];
      size = args[4];
      break;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      ptr = args[4];
      size = args[5];
      break;
    default:
      return false;
  }
  return ptr != 0 && size == 8 && ReadOwn(ptr, mask);
}

// Of the `pending` signals, those that would interrupt a call made with `mask`: not blocked
// by it, and neither ignored nor ignored by default (the kernel drops those).
uint64_t InterruptingSignals(uint64_t pending, uint64_t mask) {
  pending &= ~mask;
  for (int sig = 1; sig < 65; ++sig) {
    uint64_t bit = 1ull << (sig - 1);
    if (!(pending & bit)) continue;
    KernelSigaction act{};
    Syscall(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&act), 8);
    bool ignored = act.handler == 1 || (act.handler == 0 && (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT));
    if (ignored) pending &= ~bit;
  }
  return pending;
}

long Dispatch(long nr, long args[6]) {
  const SyscallEntry* e = LookupSyscall(nr);
  if (!e) return Unsupported(nullptr, nr);
  switch (e->policy) {
    case kLocal: return Local(nr, args);
    case kLocalWait: return kRunNative;
    case kVirtual: return Virtual(nr, args);
    case kForward:
    case kHome:
      // As at home, a signal that came before the call is handled before it is made; and one
      // that the call's own mask lets through interrupts it (a forwarded call interrupted at
      // home comes back here too, through ShouldRestart).
      {
        uint64_t pending = PendingSignals();
        if (pending & ~g_program_mask) return kAfterSignals;
        if (pending && CallMask(nr, args, &g_call_mask) && InterruptingSignals(pending, g_call_mask)) return kInterrupt;
      }
      return e->policy == kHome ? ComeHome(nr) : ForwardCall(*e, nr, args);
    default: return Unsupported(e, nr);
  }
}

}  // namespace
}  // namespace mosix::shim

// The shim's own libc replacements (close, dup2, ...) call this away from home: their raw calls
// come from the shim's text, which the dispatch lets through, so they must be routed by hand.
// Signals are blocked meanwhile: a handler's system call would reuse the forwarding buffers.
extern "C" __attribute__((visibility("hidden"))) long mosix_dispatch(long nr, long a0, long a1, long a2, long a3) {
  using namespace mosix::shim;
  for (;;) {
    uint64_t all = ~0ull, old = 0;
    Syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&all), reinterpret_cast<long>(&old), 8);
    g_program_mask = old;
    long args[6] = {a0, a1, a2, a3, 0, 0};
    long r = Dispatch(nr, args);
    Syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&old), 0, 8);  // signals are handled here
    if (r == kAfterSignals) continue;
    if (r == kInterrupt) r = -EINTR;  // (none of the shim's own calls has a mask of its own)
    if (r == kCameHome || r == kRunNative) r = Syscall(nr, a0, a1, a2, a3);
    if (r == -EINTR && ShouldRestart()) continue;
    return r;
  }
}

// Runs with every signal blocked (the agent installs it so), on the program's stack.
extern "C" __attribute__((visibility("hidden"))) void mosix_sigsys_handler(int, siginfo_t* info, void* ctx) {
  greg_t* g = static_cast<ucontext_t*>(ctx)->uc_mcontext.gregs;
  long nr = info->si_syscall;
  if (nr == SYS_rt_sigreturn) {
    // The program's signal handler is done: reissue its sigreturn from the shim's text, on its
    // own stack, once this handler has returned.
    g[REG_RIP] = reinterpret_cast<greg_t>(&mosix_syscall_gadget);
    g[REG_RAX] = SYS_rt_sigreturn;
    return;
  }
  auto* uc = static_cast<ucontext_t*>(ctx);
  mosix::shim::Copy(&mosix::shim::g_program_mask, &uc->uc_sigmask, sizeof(uint64_t));
  long args[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
  long r = mosix::shim::Dispatch(nr, args);
  if (r == mosix::shim::kRunNative) {
    g[REG_RCX] = g[REG_RIP];
    g[REG_RIP] = reinterpret_cast<greg_t>(&mosix_native_gadget);
    g[REG_RAX] = nr;
    uint64_t mask = 0;
    if (nr == SYS_rt_sigsuspend && args[1] == 8 && mosix::shim::ReadOwn(args[0], &mask)) {
      g[REG_R11] = static_cast<greg_t>(mask & ~mosix::shim::kSigsysBit);  // SIGSYS stays the shim's
      g[REG_RIP] = reinterpret_cast<greg_t>(&mosix_sigsuspend_gadget);
    }
    return;
  }
  if (r == mosix::shim::kInterrupt) {
    g[REG_RCX] = g[REG_RIP];
    g[REG_R11] = static_cast<greg_t>(mosix::shim::g_call_mask & ~mosix::shim::kSigsysBit);  // SIGSYS stays the shim's
    g[REG_RIP] = reinterpret_cast<greg_t>(&mosix_interrupt_gadget);
    return;
  }
  if (r == mosix::shim::kCameHome || r == mosix::shim::kAfterSignals) {
    // Home again, with the call not made: the program's own instruction makes it, natively,
    // once this handler is done (with the program's signal mask, not this handler's).
    g[REG_RIP] -= 2;
    g[REG_RAX] = nr;
    return;
  }
  if (r == -EINTR && mosix::shim::ShouldRestart()) {
    // Back onto the syscall instruction: the pending signal is handled first, then it reruns.
    g[REG_RIP] -= 2;
    g[REG_RAX] = nr;
    return;
  }
  g[REG_RAX] = r;
}
