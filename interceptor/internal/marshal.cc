#include "interceptor/internal/marshal.h"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "interceptor/forward_protocol.h"
#include "interceptor/internal/raw.h"
#include "interceptor/shim_info.h"

extern "C" mosix_shim_info mosix_shim_info;

// The deputy's system call for a forwarded call: between cancel_begin and cancel_end it checks
// g_signals_while_serving (its third argument) and enters the kernel only if no signal came;
// a handler that finds the thread inside that window sends it to `cancelled` (-EINTR).
// long mosix_cancellable_syscall(long nr, const long args[6], volatile uint64_t* signals)
asm(".text\n"
    ".globl mosix_cancellable_syscall\n.hidden mosix_cancellable_syscall\n"
    ".type mosix_cancellable_syscall,@function\n"
    "mosix_cancellable_syscall:\n"
    "  mov %rdi, %rax\n"
    "  mov %rdx, %r11\n"
    "  mov 0(%rsi), %rdi\n"
    "  mov 16(%rsi), %rdx\n"
    "  mov 24(%rsi), %r10\n"
    "  mov 32(%rsi), %r8\n"
    "  mov 40(%rsi), %r9\n"
    "  mov 8(%rsi), %rsi\n"
    ".globl mosix_cancel_begin\n.hidden mosix_cancel_begin\n"
    "mosix_cancel_begin:\n"
    "  cmpq $0, (%r11)\n"
    "  jne mosix_cancelled\n"
    "  syscall\n"
    ".globl mosix_cancel_end\n.hidden mosix_cancel_end\n"
    "mosix_cancel_end:\n"
    "  ret\n"
    ".globl mosix_cancelled\n.hidden mosix_cancelled\n"
    "mosix_cancelled:\n"
    "  mov $-4, %rax\n"
    "  ret\n");
extern "C" long mosix_cancellable_syscall(long nr, const long* args, volatile uint64_t* signals);
extern "C" char mosix_cancel_begin[], mosix_cancel_end[], mosix_cancelled[];

namespace mosix::shim {
namespace {

constexpr size_t kMaxIov = 64;

// Bytes of a fixed-size argument (poll's pollfd array is sized by its count).
size_t FixedSize(long nr, const ArgSpec& a, const long args[6]) {
  if (a.fixed == 0 && (nr == SYS_poll || nr == SYS_ppoll)) return static_cast<size_t>(args[1]) * 8;
  return a.fixed;
}

size_t LenOf(long nr, const ArgSpec& a, const long args[6]) {
  if (a.kind == kOutElems) return static_cast<size_t>(args[a.len]) * a.fixed;
  return a.len == kFixed ? FixedSize(nr, a, args) : static_cast<size_t>(args[a.len]);
}

// Bytes of an out argument that come back with a call's result.
size_t OutBytes(long nr, const ArgSpec& a, const long args[6], long result) {
  if (a.kind == kOutElems) {
    size_t n = result > 0 ? static_cast<size_t>(result) : 0;
    if (n > static_cast<size_t>(args[a.len])) n = static_cast<size_t>(args[a.len]);
    return n * a.fixed;
  }
  if (a.len == kFixed) return result >= 0 ? FixedSize(nr, a, args) : 0;
  size_t n = result > 0 ? static_cast<size_t>(result) : 0;
  return n > static_cast<size_t>(args[a.len]) ? static_cast<size_t>(args[a.len]) : n;
}

bool IsPointer(uint8_t kind) { return kind != kNone && kind != kInt; }

struct Writer {
  char* p;
  size_t left;
  bool ok = true;
  void Put(const void* src, size_t n) {
    if (n > left) {
      ok = false;
      return;
    }
    Copy(p, src, n);
    p += n;
    left -= n;
  }
};

struct Reader {
  const char* p;
  size_t left;
  bool ok = true;
  const char* Take(size_t n) {
    if (n > left) {
      ok = false;
      return nullptr;
    }
    const char* r = p;
    p += n;
    left -= n;
    return r;
  }
};

}  // namespace

volatile uint64_t g_signals_while_serving = 0;
volatile uint32_t g_outband_sent = 0;

void CancelCallIfStarting(uint64_t* rip) {
  auto at = reinterpret_cast<uint64_t>(mosix_cancel_begin);
  if (*rip >= at && *rip < reinterpret_cast<uint64_t>(mosix_cancel_end)) *rip = reinterpret_cast<uint64_t>(mosix_cancelled);
}

long EncodeCall(const SyscallEntry& e, long nr, long args[6], uint32_t id, char* out, size_t cap) {
  // Clamp what would not fit: reads become short reads, writes are split by the caller.
  size_t budget = MOSIX_FWD_MAX_DATA;
  for (int i = 0; i < 6; ++i) {
    const ArgSpec& a = e.args[i];
    if ((a.kind == kIn || a.kind == kOut) && a.len != kFixed && args[i] != 0) {
      size_t n = static_cast<size_t>(args[a.len]);
      if (n > budget) args[a.len] = static_cast<long>(budget);
      budget -= static_cast<size_t>(args[a.len]);
    } else if (a.kind == kOutElems && args[i] != 0) {
      size_t most = budget / a.fixed;
      if (static_cast<size_t>(args[a.len]) > most) args[a.len] = static_cast<long>(most);
      budget -= static_cast<size_t>(args[a.len]) * a.fixed;
    }
  }
  Writer w{out + sizeof(mosix_fwd_header), cap - sizeof(mosix_fwd_header)};
  mosix_fwd_call call{};
  call.nr = nr;
  call.signals_seen = __atomic_load_n(&mosix_shim_info.signals_seen, __ATOMIC_ACQUIRE);
  for (int i = 0; i < 6; ++i) {
    call.args[i] = args[i];
    if (IsPointer(e.args[i].kind) && args[i] == 0) call.null_mask |= 1u << i;
  }
  w.Put(&call, sizeof call);
  for (int i = 0; i < 6 && w.ok; ++i) {
    const ArgSpec& a = e.args[i];
    if (!IsPointer(a.kind) || args[i] == 0) continue;
    const char* ptr = reinterpret_cast<const char*>(args[i]);
    switch (a.kind) {
      case kPath: {
        uint32_t n = static_cast<uint32_t>(StrLen(ptr) + 1);
        w.Put(&n, sizeof n);
        w.Put(ptr, n);
        break;
      }
      case kIn:
      case kInOut:
        w.Put(ptr, LenOf(nr, a, args));
        break;
      case kIovIn:
      case kIovOut: {
        size_t count = static_cast<size_t>(args[a.len]);
        if (count > kMaxIov) count = kMaxIov;
        args[a.len] = static_cast<long>(count);
        call.args[a.len] = static_cast<long>(count);
        const iovec* iov = reinterpret_cast<const iovec*>(ptr);
        size_t room = MOSIX_FWD_MAX_DATA;
        for (size_t k = 0; k < count; ++k) {
          uint64_t n = iov[k].iov_len < room ? iov[k].iov_len : room;
          room -= n;
          w.Put(&n, sizeof n);
        }
        if (a.kind == kIovIn) {
          room = MOSIX_FWD_MAX_DATA;
          for (size_t k = 0; k < count; ++k) {
            size_t n = iov[k].iov_len < room ? iov[k].iov_len : room;
            room -= n;
            w.Put(iov[k].iov_base, n);
          }
        }
        break;
      }
      default:
        break;
    }
  }
  if (!w.ok) return -1;
  // The iov counts may have been clamped after the call block was written: rewrite it.
  Copy(out + sizeof(mosix_fwd_header), &call, sizeof call);
  size_t len = cap - sizeof(mosix_fwd_header) - w.left;
  mosix_fwd_header h{MOSIX_FWD_MAGIC, MOSIX_FWD_CALL, static_cast<uint32_t>(len), id};
  Copy(out, &h, sizeof h);
  return static_cast<long>(sizeof h + len);
}

long ApplyReturn(const SyscallEntry& e, const long args[6], const char* payload, size_t len, uint32_t* outband) {
  Reader r{payload, len};
  mosix_fwd_return ret;
  const char* head = r.Take(sizeof ret);
  if (!head) return -EIO;
  Copy(&ret, head, sizeof ret);
  *outband = ret.outband;
  if (ret.signals) {
    // Raised here, with every signal blocked (we are in the SIGSYS handler or the dispatcher):
    // they are delivered when the program's own mask comes back.
    long self = Syscall(SYS_getpid);
    for (int sig = 1; sig < 65; ++sig) {
      if (ret.signals & (1ull << (sig - 1))) Syscall(SYS_tgkill, self, self, sig);
    }
  }
  long nr = e.nr;
  for (int i = 0; i < 6; ++i) {
    const ArgSpec& a = e.args[i];
    if (args[i] == 0) continue;
    char* ptr = reinterpret_cast<char*>(args[i]);
    if (a.kind == kOutLen) {
      // All of it came back; the caller's buffer takes what its length said it could.
      size_t n = ret.ret >= 0 ? a.fixed : 0;
      const char* data = r.Take(n);
      if (!data) return -EIO;
      const auto* room = reinterpret_cast<const uint32_t*>(args[a.len]);
      size_t fits = room ? *room : 0;
      Copy(ptr, data, n < fits ? n : fits);
    } else if (a.kind == kOut || a.kind == kOutElems) {
      size_t n = OutBytes(nr, a, args, ret.ret);
      const char* data = r.Take(n);
      if (!data) return -EIO;
      Copy(ptr, data, n);
    } else if (a.kind == kInOut) {
      size_t n = FixedSize(nr, a, args);
      const char* data = r.Take(n);
      if (!data) return -EIO;
      Copy(ptr, data, n);
    } else if (a.kind == kIovOut) {
      size_t left = ret.ret > 0 ? static_cast<size_t>(ret.ret) : 0;
      const iovec* iov = reinterpret_cast<const iovec*>(ptr);
      for (long k = 0; k < args[a.len] && left > 0; ++k) {
        size_t n = iov[k].iov_len < left ? iov[k].iov_len : left;
        const char* data = r.Take(n);
        if (!data) return -EIO;
        Copy(iov[k].iov_base, data, n);
        left -= n;
      }
    }
  }
  return ret.ret;
}

size_t ServeCall(const char* payload, size_t len, uint32_t id, char* out, size_t cap, int refused_a, int refused_b,
                 RunCall run) {
  static char outbuf[MOSIX_FWD_MAX_DATA + 4096];
  static iovec iovs[kMaxIov];
  Reader r{payload, len};
  mosix_fwd_call call;
  const char* head = r.Take(sizeof call);
  long result = -EINVAL;
  long args[6] = {0, 0, 0, 0, 0, 0};
  const SyscallEntry* e = nullptr;
  char* outs[6] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  uint32_t outband = 0;
  if (head) {
    Copy(&call, head, sizeof call);
    e = EntryForCall(call.nr, call.args);
    if (!e && call.nr == 16) result = -ENOTTY;
  }
  if (e && e->policy == kForward) {
    size_t used = 0;
    for (int i = 0; i < 6; ++i) args[i] = call.args[i];
    for (int i = 0; i < 6 && r.ok; ++i) {
      const ArgSpec& a = e->args[i];
      if (!IsPointer(a.kind)) continue;
      if (call.null_mask & (1u << i)) {
        args[i] = 0;
        continue;
      }
      switch (a.kind) {
        case kPath: {
          const char* n = r.Take(sizeof(uint32_t));
          uint32_t plen = 0;
          if (n) Copy(&plen, n, sizeof plen);
          const char* s = r.Take(plen);
          if (!s || plen == 0 || s[plen - 1] != 0) r.ok = false;
          args[i] = reinterpret_cast<long>(s);
          break;
        }
        case kIn:
          args[i] = reinterpret_cast<long>(r.Take(LenOf(call.nr, a, args)));
          break;
        case kInOut: {
          size_t n = LenOf(call.nr, a, args);
          const char* s = r.Take(n);
          if (!s || used + n > sizeof outbuf) {
            r.ok = false;
            break;
          }
          outs[i] = outbuf + used;
          Copy(outs[i], s, n);
          used += n;
          args[i] = reinterpret_cast<long>(outs[i]);
          break;
        }
        case kOut:
        case kOutElems:
        case kOutLen: {
          size_t n = a.kind == kOutLen ? a.fixed : LenOf(call.nr, a, args);
          if (used + n > sizeof outbuf) {
            r.ok = false;
            break;
          }
          outs[i] = outbuf + used;
          used += n;
          args[i] = reinterpret_cast<long>(outs[i]);
          break;
        }
        case kIovIn:
        case kIovOut: {
          size_t count = static_cast<size_t>(call.args[a.len]);
          if (count > kMaxIov) {
            r.ok = false;
            break;
          }
          for (size_t k = 0; k < count && r.ok; ++k) {
            const char* n = r.Take(sizeof(uint64_t));
            uint64_t l = 0;
            if (n) Copy(&l, n, sizeof l);
            iovs[k].iov_len = l;
          }
          for (size_t k = 0; k < count && r.ok; ++k) {
            if (a.kind == kIovIn) {
              iovs[k].iov_base = const_cast<char*>(r.Take(iovs[k].iov_len));
            } else if (used + iovs[k].iov_len <= sizeof outbuf) {
              iovs[k].iov_base = outbuf + used;
              used += iovs[k].iov_len;
            } else {
              r.ok = false;
            }
          }
          args[i] = reinterpret_cast<long>(iovs);
          if (a.kind == kIovOut) outs[i] = static_cast<char*>(iovs[0].iov_base);
          break;
        }
        default:
          break;
      }
    }
    bool own_fd = e->args[0].kind == kInt && (args[0] == refused_a || args[0] == refused_b);
    bool onto_own = (call.nr == SYS_dup2 || call.nr == SYS_dup3) && (args[1] == refused_a || args[1] == refused_b);
    if (!r.ok) {
      result = -EINVAL;
    } else if (own_fd || onto_own) {
      result = -EBADF;
    } else if (run) {
      result = run(call.nr, args);
    } else {
      // (Read by the deputy's signal handler, and by an agent that brings the process home.)
      __atomic_store_n(&mosix_shim_info.in_call, 1, __ATOMIC_SEQ_CST);
      // A signal sent out of band that the remote part had not seen when it made this call is
      // handled over there first (I4): the call is not made now.
      uint32_t sent = __atomic_load_n(&g_outband_sent, __ATOMIC_SEQ_CST);
      if (static_cast<int32_t>(sent - call.signals_seen) > 0) {
        outband = sent;
        result = -EINTR;
      } else {
        result = mosix_cancellable_syscall(call.nr, args, &g_signals_while_serving);
      }
      __atomic_store_n(&mosix_shim_info.in_call, 0, __ATOMIC_SEQ_CST);
    }
  } else if (e) {
    result = -ENOSYS;
  }
  Writer w{out + sizeof(mosix_fwd_header), cap - sizeof(mosix_fwd_header)};
  mosix_fwd_return ret{result, __atomic_exchange_n(&g_signals_while_serving, 0, __ATOMIC_SEQ_CST), outband, 0};
  w.Put(&ret, sizeof ret);
  if (e && e->policy == kForward) {
    for (int i = 0; i < 6; ++i) {
      const ArgSpec& a = e->args[i];
      if (!outs[i]) continue;
      if (a.kind == kOutLen) {
        w.Put(outs[i], result >= 0 ? a.fixed : 0);
      } else if (a.kind == kOut || a.kind == kOutElems) {
        w.Put(outs[i], OutBytes(call.nr, a, args, result));
      } else if (a.kind == kInOut) {
        w.Put(outs[i], FixedSize(call.nr, a, args));
      } else if (a.kind == kIovOut) {
        size_t left = result > 0 ? static_cast<size_t>(result) : 0;
        for (long k = 0; k < call.args[a.len] && left > 0; ++k) {
          size_t n = iovs[k].iov_len < left ? iovs[k].iov_len : left;
          w.Put(iovs[k].iov_base, n);
          left -= n;
        }
      }
    }
  }
  size_t plen = cap - sizeof(mosix_fwd_header) - w.left;
  mosix_fwd_header h{MOSIX_FWD_MAGIC, MOSIX_FWD_RETURN, static_cast<uint32_t>(plen), id};
  Copy(out, &h, sizeof h);
  return sizeof h + plen;
}

}  // namespace mosix::shim
