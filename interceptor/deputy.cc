// The deputy: what the home process runs while its user context is away. Its memory holds
// little more than this library; libc is unmapped, there is no TLS: only raw calls and the
// shim's own buffers. It executes the calls the remote part forwards, and ends as it ends.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/internal/marshal.h"
#include "interceptor/internal/raw.h"
#include "interceptor/shim_info.h"

extern "C" mosix_shim_info mosix_shim_info;

namespace mosix::shim {
namespace {

char g_in[MOSIX_FWD_MAX_MSG];
char g_out[MOSIX_FWD_MAX_MSG];

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

}  // namespace
}  // namespace mosix::shim

extern "C" __attribute__((visibility("hidden"), noreturn)) void mosix_deputy_main(long link) {
  using namespace mosix::shim;
  mosix_shim_info.mode = MOSIX_MODE_DEPUTY;
  for (;;) {
    mosix_fwd_header h;
    if (!RecvAll(static_cast<int>(link), &h, sizeof h) || h.magic != MOSIX_FWD_MAGIC || h.len > sizeof g_in) Lost();
    if (!RecvAll(static_cast<int>(link), g_in, h.len)) Lost();
    if (h.type == MOSIX_FWD_EXIT && h.len >= sizeof(mosix_fwd_exit)) {
      mosix_fwd_exit x;
      Copy(&x, g_in, sizeof x);
      if (x.signal > 0 && x.signal < 65) DieBySignal(x.signal);
      Syscall(SYS_exit_group, x.status);
    }
    if (h.type != MOSIX_FWD_CALL) continue;
    size_t n = ServeCall(g_in, h.len, h.id, g_out, sizeof g_out, static_cast<int>(link), MOSIX_CHANNEL_FD);
    if (!SendAll(static_cast<int>(link), g_out, n)) Lost();
  }
}
