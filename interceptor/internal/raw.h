// Freestanding helpers for the shim (see the rules at the top of shim.cc): raw system calls
// issued from the shim's own text, and byte copies that never call into libc (the deputy runs
// with libc unmapped). Internal to interceptor/.
#ifndef MOSIX_INTERCEPTOR_INTERNAL_RAW_H_
#define MOSIX_INTERCEPTOR_INTERNAL_RAW_H_

#include <stddef.h>
#include <stdint.h>

namespace mosix::shim {

inline long Syscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) {
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

inline void Copy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<volatile unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
}

inline void Zero(void* dst, size_t n) {
  auto* d = static_cast<volatile unsigned char*>(dst);
  for (size_t i = 0; i < n; ++i) d[i] = 0;
}

inline size_t StrLen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

// Sends/receives exactly n bytes on a stream fd; false on EOF or error.
bool SendAll(int fd, const void* buf, size_t n);
bool RecvAll(int fd, void* buf, size_t n);

// The link's messages. Both publish mosix_shim_info.link_phase while a message is part way
// (SENDING, RECEIVING) and leave it IDLE (interceptor/link_invariants.h, I2).
// Sends one whole message; false on EOF or error.
bool SendMessage(int fd, const void* msg, size_t n);
// Receives one framed message (a mosix_fwd_header then header.len bytes) into buf: polls the
// socket `spins` times without blocking first (a reply usually comes within microseconds, and
// sleeping and waking costs more than that), then blocks. Returns the total length, or -1 on
// EOF or error, -2 on bad magic or a message larger than cap. With block false it returns -EAGAIN
// instead of blocking when nothing came during the polls.
long RecvMessage(int fd, char* buf, size_t cap, int spins, bool block = true);

// Writes a message to fd (best effort); Say writes it to fd 2.
void SayTo(int fd, const char* a, const char* b = "", const char* c = "", const char* d = "");
inline void Say(const char* a, const char* b = "", const char* c = "", const char* d = "") { SayTo(2, a, b, c, d); }
// Decimal text of v into buf (at least 24 bytes); returns buf.
char* Decimal(long v, char* buf);

}  // namespace mosix::shim

#endif  // MOSIX_INTERCEPTOR_INTERNAL_RAW_H_
