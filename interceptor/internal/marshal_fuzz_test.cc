// Fuzzes what the shim reads from another machine: the deputy's decoding of forwarded calls
// (ServeCall, with the call made by a fake instead of the kernel), the remote part's applying
// of replies to the program's buffers (ApplyReturn, every buffer exactly its declared size, so
// ASan sees one byte too many), and the link's message framing (RecvMessage).
//   MOSIX_FUZZ_ITERATIONS=1000000 bazel test --config=asan //interceptor:marshal_fuzz_test
#include "interceptor/internal/marshal.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "interceptor/forward_protocol.h"
#include "interceptor/internal/raw.h"
#include "interceptor/shim_info.h"
#include "interceptor/syscall_table.h"
#include "test/util/fuzz.h"

extern "C" {
mosix_shim_info mosix_shim_info = {};
}

namespace mosix::shim {
namespace {

std::mt19937_64* g_rng = nullptr;

// The kernel, as far as the deputy can tell: any result, errors included, and nothing written.
long FakeRun(long, long*) {
  uint64_t r = (*g_rng)();
  switch (r % 4) {
    case 0:
      return -static_cast<long>(r % 4096);
    case 1:
      return static_cast<long>(r % 64);
    case 2:
      return static_cast<long>(r % (2u << 20));
    default:
      return static_cast<long>(r >> 1);
  }
}

std::vector<const SyscallEntry*> Forwarded() {
  std::vector<const SyscallEntry*> out;
  for (size_t i = 0; i < kSyscallTableSize; ++i) {
    if (kSyscallTable[i].policy == kForward) out.push_back(&kSyscallTable[i]);
  }
  return out;
}

TEST_CASE("the deputy decodes any bytes as a forwarded call without harm") {
  auto rng = testing::FuzzRng("ServeCall");
  g_rng = &rng;
  auto entries = Forwarded();
  REQUIRE(!entries.empty());
  static char out[MOSIX_FWD_MAX_MSG];
  uint64_t n = testing::FuzzIterations(20000);
  for (uint64_t it = 0; it < n; ++it) {
    std::string payload;
    if (rng() % 4 == 0) {
      payload = testing::RandomBytes(rng, 256);
    } else {
      // A well-formed head for a real entry, then anything.
      mosix_fwd_call call{};
      const SyscallEntry* e = entries[rng() % entries.size()];
      call.nr = e->nr;
      for (auto& a : call.args) a = rng() % 3 == 0 ? static_cast<int64_t>(rng()) : static_cast<int64_t>(rng() % 4096);
      call.null_mask = static_cast<uint32_t>(rng() % 64);
      payload.assign(reinterpret_cast<const char*>(&call), sizeof call);
      payload += testing::RandomBytes(rng, rng() % 8 == 0 ? 70000 : 600);
    }
    size_t len = ServeCall(payload.data(), payload.size(), 7, out, sizeof out, 1020, 1021, &FakeRun);
    REQUIRE(len >= sizeof(mosix_fwd_header) + sizeof(mosix_fwd_return));
    REQUIRE(len <= sizeof out);
    mosix_fwd_header h;
    memcpy(&h, out, sizeof h);
    REQUIRE(h.magic == MOSIX_FWD_MAGIC);
    REQUIRE(h.type == MOSIX_FWD_RETURN);
    REQUIRE(h.len == len - sizeof h);
  }
}

TEST_CASE("the remote part applies any reply within the program's buffers") {
  auto rng = testing::FuzzRng("ApplyReturn");
  std::vector<const SyscallEntry*> entries;
  for (size_t i = 0; i < kSyscallTableSize; ++i) entries.push_back(&kSyscallTable[i]);
  uint64_t n = testing::FuzzIterations(20000);
  for (uint64_t it = 0; it < n; ++it) {
    const SyscallEntry* e = entries[rng() % entries.size()];
    long args[6];
    for (long& a : args) a = static_cast<long>(rng() % 2048);
    // Each buffer exactly as big as the call says it is.
    std::vector<std::unique_ptr<char[]>> owned;
    std::vector<std::unique_ptr<iovec[]>> iovs;
    uint32_t room = static_cast<uint32_t>(rng() % 256);
    auto buffer = [&](size_t size) {
      owned.emplace_back(new char[size ? size : 1]);
      return reinterpret_cast<long>(owned.back().get());
    };
    // First the arguments that others' sizes point to (a socklen_t, an iovec count), then the
    // buffers of the sizes the call now says.
    for (int i = 0; i < 6; ++i) {
      const ArgSpec& a = e->args[i];
      if (a.kind == kOutLen) {
        args[a.len] = reinterpret_cast<long>(&room);
        args[i] = buffer(room);
      } else if (a.kind == kIovIn || a.kind == kIovOut) {
        size_t count = rng() % 6;
        args[a.len] = static_cast<long>(count);
        iovs.emplace_back(new iovec[count ? count : 1]);
        for (size_t k = 0; k < count; ++k) {
          size_t l = rng() % 300;
          iovs.back()[k].iov_len = l;
          iovs.back()[k].iov_base = reinterpret_cast<void*>(buffer(l));
        }
        args[i] = reinterpret_cast<long>(iovs.back().get());
      }
    }
    bool sane = true;
    bool is_room[6] = {};
    for (int i = 0; i < 6; ++i) {
      if (e->args[i].kind == kOutLen) is_room[e->args[i].len] = true;
    }
    for (int i = 0; i < 6; ++i) {
      const ArgSpec& a = e->args[i];
      if (is_room[i]) continue;  // (the socklen_t above: the program's own, 4 bytes)
      if (a.kind != kPath && a.kind != kIn && a.kind != kOut && a.kind != kInOut && a.kind != kOutElems) continue;
      size_t count = a.len == kFixed ? 1 : static_cast<size_t>(args[a.len]);
      if (count > 4096) {  // (its length is another argument's pointer: no such call)
        sane = false;
        break;
      }
      size_t fixed = a.fixed;
      if (fixed == 0 && (e->nr == SYS_poll || e->nr == SYS_ppoll)) fixed = static_cast<size_t>(args[1]) * 8;  // (pollfds)
      if (fixed > (1u << 20)) {
        sane = false;
        break;
      }
      args[i] = buffer(a.len == kFixed ? fixed : a.kind == kOutElems ? count * a.fixed : count);
    }
    if (!sane) continue;
    std::string payload = testing::RandomBytes(rng, rng() % 4 == 0 ? 5000 : 300);
    if (payload.size() >= sizeof(mosix_fwd_return)) {
      // (No signals: ApplyReturn would raise them in this test.)
      memset(&payload[offsetof(mosix_fwd_return, signals)], 0, sizeof(uint64_t));
    }
    uint32_t outband = 0;
    (void)ApplyReturn(*e, args, payload.data(), payload.size(), &outband);
  }
}

TEST_CASE("the link's framing takes any byte stream without overrunning or hanging") {
  auto rng = testing::FuzzRng("RecvMessage");
  static char buf[4096];
  uint64_t n = testing::FuzzIterations(20000) / 10 + 1;  // (a socket pair each: slower)
  for (uint64_t it = 0; it < n; ++it) {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    std::string bytes;
    if (rng() % 2) {
      mosix_fwd_header h{rng() % 8 ? MOSIX_FWD_MAGIC : static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng() % 5),
                         static_cast<uint32_t>(rng() % 3 ? rng() % 3000 : rng()), static_cast<uint32_t>(rng())};
      bytes.assign(reinterpret_cast<const char*>(&h), sizeof h);
    }
    bytes += testing::RandomBytes(rng, 5000);
    REQUIRE(write(sv[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    close(sv[1]);  // then EOF: a message cut short must not wait forever
    for (int k = 0; k < 8; ++k) {
      long got = RecvMessage(sv[0], buf, sizeof buf, 1, /*block=*/true);
      REQUIRE(got <= static_cast<long>(sizeof buf));
      if (got < 0) break;
      REQUIRE(got >= static_cast<long>(sizeof(mosix_fwd_header)));
    }
    close(sv[0]);
  }
}

}  // namespace
}  // namespace mosix::shim
