#include "interceptor/internal/raw.h"

#include "interceptor/forward_protocol.h"
#include "interceptor/shim_info.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>

extern "C" mosix_shim_info mosix_shim_info;

namespace mosix::shim {

bool SendAll(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    long r = Syscall(SYS_sendto, fd, reinterpret_cast<long>(p), static_cast<long>(n), MSG_NOSIGNAL, 0, 0);
    if (r == -EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool RecvAll(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    long r = Syscall(SYS_recvfrom, fd, reinterpret_cast<long>(p), static_cast<long>(n), 0, 0, 0);
    if (r == -EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

namespace {

void Phase(uint32_t phase) { __atomic_store_n(&mosix_shim_info.link_phase, phase, __ATOMIC_SEQ_CST); }

long ReceiveWhole(int fd, char* buf, size_t cap, int spins, bool block) {
  constexpr size_t kHeader = sizeof(mosix_fwd_header);
  // The header alone first, then exactly its body: never a byte of the next message, which
  // may be a repeat of this one sent after a move (link_invariants.h, I1), and belongs to
  // whoever reads next.
  long got = -EAGAIN;
  for (int i = 0; i < spins && got == -EAGAIN; ++i) {
    got = Syscall(SYS_recvfrom, fd, reinterpret_cast<long>(buf), static_cast<long>(kHeader), MSG_DONTWAIT, 0, 0);
  }
  if (got == -EAGAIN && !block) return -EAGAIN;
  while (got == -EAGAIN || got == -EINTR) {
    got = Syscall(SYS_recvfrom, fd, reinterpret_cast<long>(buf), static_cast<long>(kHeader), 0, 0, 0);
  }
  if (got <= 0) return -1;
  size_t have = static_cast<size_t>(got);
  if (have < kHeader && !RecvAll(fd, buf + have, kHeader - have)) return -1;
  mosix_fwd_header h;
  Copy(&h, buf, kHeader);
  if (h.magic != MOSIX_FWD_MAGIC || kHeader + h.len > cap) return -2;
  if (h.len > 0 && !RecvAll(fd, buf + kHeader, h.len)) return -1;
  return static_cast<long>(kHeader + h.len);
}

}  // namespace

long RecvMessage(int fd, char* buf, size_t cap, int spins, bool block) {
  Phase(MOSIX_LINK_RECEIVING);
  long got = ReceiveWhole(fd, buf, cap, spins, block);
  Phase(MOSIX_LINK_IDLE);
  return got;
}

bool SendMessage(int fd, const void* msg, size_t n) {
  Phase(MOSIX_LINK_SENDING);
  bool ok = SendAll(fd, msg, n);
  Phase(MOSIX_LINK_IDLE);
  return ok;
}

void SayTo(int fd, const char* a, const char* b, const char* c, const char* d) {
  const char* parts[] = {a, b, c, d};
  for (const char* s : parts) {
    if (*s) Syscall(SYS_write, fd, reinterpret_cast<long>(s), static_cast<long>(StrLen(s)));
  }
}

char* Decimal(long v, char* buf) {
  char tmp[24];
  int n = 0;
  bool neg = v < 0;
  unsigned long u = neg ? -static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  int k = 0;
  if (neg) buf[k++] = '-';
  while (n) buf[k++] = tmp[--n];
  buf[k] = 0;
  return buf;
}

}  // namespace mosix::shim

// The compiler may emit calls to memcpy/memset for struct copies; inside the shim they must
// resolve to the shim's own copies, not libc's (unmapped in the deputy). They are hidden at
// the assembler level (a C++ visibility attribute on a builtin is ignored): the program never
// sees them.
extern "C" void* mosix_memcpy(void* d, const void* s, size_t n) {
  mosix::shim::Copy(d, s, n);
  return d;
}
extern "C" void* mosix_memset(void* d, int c, size_t n) {
  auto* p = static_cast<volatile unsigned char*>(d);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(c);
  return d;
}
#ifndef MOSIX_SHIM_IN_TEST  // (a test links these files into an ordinary program, libc and all)
asm(".globl memcpy\n.hidden memcpy\n.set memcpy, mosix_memcpy\n"
    ".globl memset\n.hidden memset\n.set memset, mosix_memset\n");
#endif
