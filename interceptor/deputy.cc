// The deputy: what the home process runs while its user context is away. Its memory holds
// little more than this library; libc is unmapped, there is no TLS: only raw calls and the
// shim's own buffers. It executes the calls the remote part forwards, and ends as it ends.
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <poll.h>
#include <ucontext.h>

#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/internal/marshal.h"
#include "interceptor/internal/raw.h"
#include "interceptor/shim_info.h"

extern "C" mosix_shim_info mosix_shim_info;

namespace mosix::shim {
namespace {

char g_msg[MOSIX_FWD_MAX_MSG + sizeof(mosix_fwd_header)];
// Two reply buffers, used in turn: the one not being written holds the last reply sent, with
// its call's id. A call sent again after a move (the remote part could not know whether it
// arrived) is answered from it, never run twice; taking turns keeps that copy-free.
char g_reply_a[MOSIX_FWD_MAX_MSG];
char g_reply_b[MOSIX_FWD_MAX_MSG];
char* g_last = g_reply_a;
size_t g_last_len = 0;
uint32_t g_last_id = 0;

[[noreturn]] void DieBySignal(int sig) {
  long dfl[4] = {0, 0, 0, 0};  // SIG_DFL
  Syscall(SYS_rt_sigaction, sig, reinterpret_cast<long>(dfl), 0, 8);
  uint64_t unblock = 1ull << (sig - 1);
  Syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&unblock), 0, 8);
  long self = Syscall(SYS_getpid);
  Syscall(SYS_tgkill, self, self, sig);
  Syscall(SYS_exit_group, 128 + sig);
  __builtin_unreachable();
}

[[noreturn]] void Lost() {
  Say("mosix: the remote part of this process is gone (its node or agent stopped); the process is lost\n");
  Syscall(SYS_exit_group, MOSIX_EXIT_LOST);
  __builtin_unreachable();
}

bool SendChannel(const void* msg, size_t len) {
  return Syscall(SYS_sendto, MOSIX_CHANNEL_FD, reinterpret_cast<long>(msg), static_cast<long>(len), MSG_NOSIGNAL, 0, 0) ==
         static_cast<long>(len);
}

// Both the link and the channel are gone: the home agent stopped. A restarted one gives this
// deputy a new link and channel and bumps link_epoch (link_invariants.h, I5); it waits for
// that, IDLE, up to MOSIX_RELINK_WAIT_S. False if none came.
bool AwaitRelink() {
  uint32_t epoch = __atomic_load_n(&mosix_shim_info.link_epoch, __ATOMIC_ACQUIRE);
  for (int i = 0; i < MOSIX_RELINK_WAIT_S * 20; ++i) {
    timespec wait = {0, 50 * 1000 * 1000};
    Syscall(SYS_nanosleep, reinterpret_cast<long>(&wait), 0);
    if (__atomic_load_n(&mosix_shim_info.link_epoch, __ATOMIC_ACQUIRE) != epoch) return true;
  }
  return false;
}

// The link closed without an exit message: the remote part died (by a signal), or its node
// did, or the home agent that relays the link stopped. The agent knows which, and has 30 s
// to say; if the agent itself is gone, a restarted one relinks this deputy (and it returns).
void LinkClosed() {
  uint32_t epoch = __atomic_load_n(&mosix_shim_info.link_epoch, __ATOMIC_ACQUIRE);
  mosix_msg_header ask{MOSIX_MSG_WAIT_END, 0};
  if (SendChannel(&ask, sizeof ask)) {
    long timeout[2] = {1, 0};
    Syscall(SYS_setsockopt, MOSIX_CHANNEL_FD, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<long>(timeout), sizeof timeout);
    int waited = 0;
    while (waited < 30) {
      struct {
        mosix_msg_header h;
        mosix_end end;
      } reply;
      long n = Syscall(SYS_recvfrom, MOSIX_CHANNEL_FD, reinterpret_cast<long>(&reply), sizeof reply, 0, 0, 0);
      if (n == -EINTR) continue;
      if (n == -EAGAIN) {
        // (A restarted agent may have relinked it just before it asked: then it goes on.)
        if (__atomic_load_n(&mosix_shim_info.link_epoch, __ATOMIC_ACQUIRE) != epoch) return;
        ++waited;
        continue;
      }
      if (n == 0 || n == -ECONNRESET) break;  // the agent stopped while it was asked
      if (n != static_cast<long>(sizeof reply) || reply.h.type != MOSIX_MSG_END) Lost();
      if (reply.end.signo > 0 && reply.end.signo < 65) DieBySignal(reply.end.signo);
      if (reply.end.signo < 0) Lost();
      Syscall(SYS_exit_group, reply.end.status);
      __builtin_unreachable();
    }
    if (waited == 30) Lost();  // the agent is there and could not say
  }
  if (!AwaitRelink()) Lost();
}

// The remote part asks to come home (to make a call that is made here): the agent brings it,
// which replaces this deputy by the process while it waits here. Returns only if the agent
// could not: its reason goes to the home's stderr, and -EAGAIN to the remote part.
long AskToComeHome(int64_t nr) {
  struct {
    mosix_msg_header h;
    mosix_go_home go;
  } ask = {{MOSIX_MSG_GO_HOME, sizeof(mosix_go_home)}, {nr}};
  if (!SendChannel(&ask, sizeof ask)) return -EAGAIN;
  static char reply[1024];
  for (;;) {
    long n = Syscall(SYS_recvfrom, MOSIX_CHANNEL_FD, reinterpret_cast<long>(reply), sizeof reply - 1, 0, 0, 0);
    if (n == -EINTR) continue;
    mosix_msg_header h;
    if (n < static_cast<long>(sizeof h)) return -EAGAIN;
    Copy(&h, reply, sizeof h);
    if (h.type != MOSIX_MSG_ERROR) continue;
    Say("mosix: the process could not come home to make a call that is made there: ");
    Syscall(SYS_write, 2, reinterpret_cast<long>(reply + sizeof h), n - static_cast<long>(sizeof h));
    Say("\n");
    return -EAGAIN;
  }
}

// Signals sent to the home pid belong to the remote part (link_invariants.h, I4): one that
// interrupts a call goes back with its result; any other, through the agent, counted. A stop
// signal also stops the deputy itself, so that the shell sees the job stopped.
void OnSignal(int sig, siginfo_t*, void* ctx) {
  if (__atomic_load_n(&mosix_shim_info.in_call, __ATOMIC_SEQ_CST)) {  // it goes back with the call's result (see mosix_fwd_return)
    __atomic_or_fetch(&g_signals_while_serving, 1ull << (sig - 1), __ATOMIC_SEQ_CST);
    auto* rip = reinterpret_cast<uint64_t*>(&static_cast<ucontext_t*>(ctx)->uc_mcontext.gregs[REG_RIP]);
    CancelCallIfStarting(rip);
    return;
  }
  uint32_t seq = __atomic_add_fetch(&g_outband_sent, 1, __ATOMIC_SEQ_CST);
  struct {
    mosix_msg_header h;
    mosix_signal s;
  } msg = {{MOSIX_MSG_SIGNAL, sizeof(mosix_signal)}, {sig, seq}};
  SendChannel(&msg, sizeof msg);
  if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) Syscall(SYS_kill, Syscall(SYS_getpid), SIGSTOP);
}

// The next message from the remote part into g_msg: its length, or -1 when the link closed.
// Between messages it waits in poll(), IDLE, never inside a read.
long Received(int link) {
  long got = RecvMessage(link, g_msg, sizeof g_msg, 64, /*block=*/false);
  while (got == -EAGAIN) {
    pollfd p{link, POLLIN, 0};
    long ready = Syscall(SYS_poll, reinterpret_cast<long>(&p), 1, -1);
    if (ready < 0 && ready != -EINTR) return -1;
    if (ready > 0) got = RecvMessage(link, g_msg, sizeof g_msg, 1, /*block=*/true);
  }
  return got;
}

void CatchSignals() {
  // SA_SIGINFO: the handler sees where it interrupted a call that was about to be made.
  struct {
    uint64_t handler, flags, restorer, mask;
  } act = {reinterpret_cast<uint64_t>(&OnSignal), 0x04000000 /* SA_RESTORER */ | SA_SIGINFO, mosix_shim_info.sigreturn, ~0ull};
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    Syscall(SYS_rt_sigaction, sig, reinterpret_cast<long>(&act), 0, 8);
  }
  uint64_t none = 0;
  Syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, 8);
}

}  // namespace
}  // namespace mosix::shim

extern "C" __attribute__((visibility("hidden"), noreturn)) void mosix_deputy_main(long link, const uint64_t (*release)[2],
                                                                               long n) {
  using namespace mosix::shim;
  mosix_shim_info.mode = MOSIX_MODE_DEPUTY;
  // Out-of-band signals are counted from what the remote part has seen (its memory was this
  // process's when it left).
  g_outband_sent = mosix_shim_info.signals_seen;
  mosix_shim_info.link_phase = MOSIX_LINK_IDLE;
  // The program's memory (its user context runs elsewhere now); calls wait on the link meanwhile.
  for (long i = 0; i < n; ++i) Syscall(SYS_munmap, static_cast<long>(release[i][0]), static_cast<long>(release[i][1] - release[i][0]));
  // Without SA_RESTART: a signal interrupts the call the deputy is blocked in at home, and the
  // remote part decides, as the kernel would, whether the call restarts.
  CatchSignals();
  for (;;) {
    // Calls tend to come in runs: poll a little for the next one before sleeping; the sleep
    // is in poll(), with no byte of a message read (I2: the link may be replaced there).
    long got = Received(static_cast<int>(link));
    if (got < 0) {
      LinkClosed();  // (returns on a new link: the remote part sends its call again, I5)
      continue;
    }
    mosix_fwd_header h;
    Copy(&h, g_msg, sizeof h);
    const char* g_in = g_msg + sizeof h;
    if (h.type == MOSIX_FWD_EXIT && h.len >= sizeof(mosix_fwd_exit)) {
      mosix_fwd_exit x;
      Copy(&x, g_in, sizeof x);
      // The remote part ends once it hears that its end is here (I6). (If this cannot reach it,
      // its link is lost and it ends over there anyway: its status is here already.)
      struct {
        mosix_fwd_header h;
        mosix_fwd_return r;
      } got = {{MOSIX_FWD_MAGIC, MOSIX_FWD_RETURN, sizeof(mosix_fwd_return), h.id}, {0, 0, 0, 0}};
      (void)SendMessage(static_cast<int>(link), &got, sizeof got);
      if (x.signal > 0 && x.signal < 65) DieBySignal(x.signal);
      Syscall(SYS_exit_group, x.status);
    }
    if (h.type == MOSIX_FWD_HOME) {
      int64_t nr = -1;
      if (h.len >= sizeof nr) Copy(&nr, g_in, sizeof nr);
      long failed = AskToComeHome(nr);  // (the agent usually replaces this deputy meanwhile)
      struct {
        mosix_fwd_header h;
        mosix_fwd_return r;
      } no = {{MOSIX_FWD_MAGIC, MOSIX_FWD_RETURN, sizeof(mosix_fwd_return), h.id}, {failed, 0, 0, 0}};
      if (!SendMessage(static_cast<int>(link), &no, sizeof no)) LinkClosed();
      continue;
    }
    if (h.type != MOSIX_FWD_CALL) continue;
    if (g_last_len > 0 && h.id == g_last_id) {
      if (!SendMessage(static_cast<int>(link), g_last, g_last_len)) LinkClosed();
      continue;
    }
    char* reply = g_last == g_reply_a ? g_reply_b : g_reply_a;
    mosix_shim_info.serving_id = h.id;
    asm volatile("" ::: "memory");
    size_t n = ServeCall(g_in, h.len, h.id, reply, MOSIX_FWD_MAX_MSG, static_cast<int>(link), MOSIX_CHANNEL_FD);
    g_last = reply;
    g_last_len = n;
    g_last_id = h.id;
    mosix_fwd_return sent;
    Copy(&sent, reply + sizeof(mosix_fwd_header), sizeof sent);
    bool sent_ok = SendMessage(static_cast<int>(link), reply, n);
    asm volatile("" ::: "memory");
    mosix_shim_info.answered_id = h.id;
    mosix_shim_info.serving_id = 0;
    if (!sent_ok) {
      LinkClosed();  // (the call is answered again from g_last when it comes again, I1)
      continue;
    }
    // A stop signal that interrupted the call stops the remote part; the deputy stops too.
    constexpr uint64_t kStops = (1ull << (SIGTSTP - 1)) | (1ull << (SIGTTIN - 1)) | (1ull << (SIGTTOU - 1));
    if (sent.signals & kStops) Syscall(SYS_kill, Syscall(SYS_getpid), SIGSTOP);
  }
}
