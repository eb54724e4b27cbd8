#include "checkpoint/restore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "base/parallel.h"
#include "base/status.h"
#include "checkpoint/image_stream.h"
#include "checkpoint/internal/classify.h"
#include "checkpoint/internal/kernel_abi.h"
#include "checkpoint/internal/layout.h"
#include "checkpoint/procfs.h"
#include "checkpoint/remote_syscalls.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/shim_info.h"

namespace mosix {
namespace {

using internal::Range;
using internal::SpecialMapping;

constexpr uint64_t kPage = 4096;
// One page of code (`syscall; int3`) and the rest scratch for arguments.
constexpr uint64_t kTrampolineSize = 16 * kPage;
constexpr uint64_t kSearchFrom = 0x10000000;
constexpr uint64_t kSearchLimit = 0x7ffffffff000;
// Offset of `tid` in glibc's struct pthread (x86_64, glibc 2.26 .. 2.40): the thread's cached
// kernel tid, used by raise() and recursive mutexes. A new pid must be written there.
constexpr uint64_t kGlibcTidOffset = 0x2d0;

using internal::KernelSigaction;

struct PrctlMmMap {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
  uint64_t arg_start, arg_end, env_start, env_end;
  uint64_t auxv;
  uint32_t auxv_size;
  uint32_t exe_fd;
};

user_regs_struct ToRegs(const image::GpRegs& g) {
  user_regs_struct r{};
  r.r15 = g.r15(); r.r14 = g.r14(); r.r13 = g.r13(); r.r12 = g.r12();
  r.rbp = g.rbp(); r.rbx = g.rbx(); r.r11 = g.r11(); r.r10 = g.r10();
  r.r9 = g.r9(); r.r8 = g.r8(); r.rax = g.rax(); r.rcx = g.rcx();
  r.rdx = g.rdx(); r.rsi = g.rsi(); r.rdi = g.rdi(); r.orig_rax = g.orig_rax();
  r.rip = g.rip(); r.cs = g.cs(); r.eflags = g.eflags(); r.rsp = g.rsp();
  r.ss = g.ss(); r.fs_base = g.fs_base(); r.gs_base = g.gs_base(); r.ds = g.ds();
  r.es = g.es(); r.fs = g.fs(); r.gs = g.gs();
  return r;
}

uint64_t Xcr0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

int64_t MtimeNs(const struct stat& st) { return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec; }

// Moves the target's [vvar]/[vvar_vclock]/[vdso] block to where the image had it.
absl::Status MoveSpecials(RemoteSyscalls& rs, const std::vector<SpecialMapping>& cur,
                          const std::vector<SpecialMapping>& want, std::vector<Range> used) {
  if (cur.empty() || cur[0].start == want[0].start) return absl::OkStatus();
  auto move_block = [&](const std::vector<SpecialMapping>& from, uint64_t to_start) -> absl::Status {
    for (const SpecialMapping& m : from) {
      uint64_t to = to_start + (m.start - from[0].start);
      RETURN_IF_ERROR(rs.Call("mremap", m.name, SYS_mremap, m.start, m.end - m.start, m.end - m.start,
                              MREMAP_MAYMOVE | MREMAP_FIXED, to).status());
    }
    return absl::OkStatus();
  };
  uint64_t cur_lo = cur.front().start, cur_hi = cur.back().end;
  uint64_t want_lo = want.front().start, want_hi = want.back().end;
  if (cur_lo < want_hi && want_lo < cur_hi) {
    // Overlapping: hop through a hole first.
    used.push_back({cur_lo, cur_hi});
    used.push_back({want_lo, want_hi});
    auto hole = internal::FindHole(used, cur_hi - cur_lo, kSearchFrom, kSearchLimit);
    if (!hole) return absl::ResourceExhaustedError("no room to move the vDSO");
    RETURN_IF_ERROR(move_block(cur, *hole));
    std::vector<SpecialMapping> moved = cur;
    for (auto& m : moved) {
      m.end = *hole + (m.end - cur_lo);
      m.start = *hole + (m.start - cur_lo);
    }
    return move_block(moved, want_lo);
  }
  return move_block(cur, want_lo);
}

// Puts `got` at e's fd, with e's close-on-exec flag, closing `got`.
absl::Status PlaceFd(RemoteSyscalls& rs, int got, const image::Fd& e, const std::string& what) {
  int fd = e.fd();
  if (got != fd) {
    RETURN_IF_ERROR(rs.Call("dup3", what, SYS_dup3, got, fd, e.cloexec() ? O_CLOEXEC : 0).status());
    RETURN_IF_ERROR(rs.Call("close", what, SYS_close, got).status());
  } else if (e.cloexec()) {
    RETURN_IF_ERROR(rs.Call("fcntl", what, SYS_fcntl, fd, F_SETFD, FD_CLOEXEC).status());
  }
  return absl::OkStatus();
}

// PlaceFd for an end of a pipe or socket made anew (made blocking): e's O_NONBLOCK too.
absl::Status PlaceEnd(RemoteSyscalls& rs, int got, const image::Fd& e, const std::string& what) {
  RETURN_IF_ERROR(PlaceFd(rs, got, e, what));
  if (!(e.flags() & O_NONBLOCK)) return absl::OkStatus();
  return rs.Call("fcntl", what, SYS_fcntl, e.fd(), F_SETFL, O_NONBLOCK).status();
}

// A new pipe (or, for a socket, a connected pair of them) in the target: its two fds.
// A new pipe (socket_type 0) or Unix socketpair of that type in the target.
absl::StatusOr<std::pair<int, int>> MakePair(RemoteSyscalls& rs, int socket_type, const std::string& what) {
  ASSIGN_OR_RETURN(uint64_t pair, rs.PutString(std::string(8, '\0')));
  if (socket_type != 0) {
    RETURN_IF_ERROR(rs.Call("socketpair", what, SYS_socketpair, AF_UNIX, socket_type, 0, pair).status());
  } else {
    RETURN_IF_ERROR(rs.Call("pipe2", what, SYS_pipe2, pair, 0).status());
  }
  ASSIGN_OR_RETURN(uint64_t both, rs.task()->Read(RemotePtr<uint64_t>(pair)));
  return std::make_pair(static_cast<int>(both & 0xffffffff), static_cast<int>(both >> 32));
}

// The type of socketpair to make for an image's socket (a stream when the image does not say).
int SocketType(const image::Fd& e) {
  int t = e.socket_type();
  return t == SOCK_STREAM || t == SOCK_DGRAM || t == SOCK_SEQPACKET ? t : SOCK_STREAM;
}

// A pipe whose both ends the process held (the same pipe:[inode]), or a socketpair (each end the
// other's peer): one new pipe or socketpair for them (its queued bytes are not in the image).
absl::Status RestorePairWithin(RemoteSyscalls& rs, const internal::WholePair& p, const image::Fd& first, const image::Fd& second) {
  std::string what = absl::StrCat("fds ", first.fd(), " and ", second.fd(), " (", first.path(), p.socket ? " and " : "",
                                  p.socket ? second.path() : "", ")");
  ASSIGN_OR_RETURN(auto ends, MakePair(rs, p.socket ? SocketType(first) : 0, what));
  auto [a, b] = ends;
  // (Moved out of the way first, should either number be the other's target.)
  ASSIGN_OR_RETURN(long a_high, rs.Call("fcntl", what, SYS_fcntl, a, F_DUPFD_CLOEXEC, 4096));
  ASSIGN_OR_RETURN(long b_high, rs.Call("fcntl", what, SYS_fcntl, b, F_DUPFD_CLOEXEC, 4096));
  RETURN_IF_ERROR(rs.Call("close", what, SYS_close, a).status());
  RETURN_IF_ERROR(rs.Call("close", what, SYS_close, b).status());
  RETURN_IF_ERROR(PlaceEnd(rs, static_cast<int>(a_high), first, what));
  return PlaceEnd(rs, static_cast<int>(b_high), second, what);
}

// A pipe or socket whose other end stayed behind: a new one at fd, its other end closed.
absl::Status RestoreOrphan(RemoteSyscalls& rs, const image::Fd& e) {
  bool socket = absl::StartsWith(e.path(), "socket:");
  std::string what = absl::StrCat("fd ", e.fd(), " (", e.path(), ")");
  ASSIGN_OR_RETURN(auto ends, MakePair(rs, socket ? SocketType(e) : 0, what));
  // Which end it held: a pipe's read end is opened O_RDONLY.
  bool first = socket || (e.flags() & O_ACCMODE) == O_RDONLY;
  RETURN_IF_ERROR(rs.Call("close", what, SYS_close, first ? ends.second : ends.first).status());
  return PlaceEnd(rs, first ? ends.first : ends.second, e, what);
}

// v's bytes, to put into the target (rs.PutString) for a call that takes a pointer to it.
template <typename T>
std::string BytesOf(const T& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

bool IsKernelObject(const image::Fd& e) {
  return e.kind() == image::Fd::EVENTFD || e.kind() == image::Fd::SIGNALFD || e.kind() == image::Fd::TIMERFD ||
         e.kind() == image::Fd::EPOLL || e.kind() == image::Fd::INOTIFY;
}

// An inotify's watches, each under its own number: a new instance numbers its watches 1, 2, ...
// (and never reuses one soon), so a watch is added and taken off again until it gets its number.
constexpr long kMostWatchNumbersSkipped = 100000;

absl::Status RestoreWatches(RemoteSyscalls& rs, long fd, const image::Fd& e) {
  for (const image::Inotify::Watch& w : e.inotify().watches()) {
    std::string what = absl::StrCat("fd ", e.fd(), " (inotify) watch ", w.wd(), " on ", w.path());
    ASSIGN_OR_RETURN(uint64_t path, rs.PutString(w.path()));
    for (long tries = 0;; ++tries) {
      ASSIGN_OR_RETURN(long wd, rs.Call("inotify_add_watch", what, SYS_inotify_add_watch, static_cast<uint64_t>(fd), path, w.mask()));
      if (wd == w.wd()) break;
      if (wd > w.wd() || tries > kMostWatchNumbersSkipped) {
        return absl::FailedPreconditionError(absl::StrCat(what, ": the new watch got number ", wd));
      }
      RETURN_IF_ERROR(rs.Call("inotify_rm_watch", what, SYS_inotify_rm_watch, static_cast<uint64_t>(fd), static_cast<uint64_t>(wd)).status());
    }
  }
  return absl::OkStatus();
}

// What an epoll watched, added again once every fd is back (an epoll may watch another).
absl::Status RestoreEpollTargets(RemoteSyscalls& rs, const image::Fd& e) {
  for (const image::Epoll::Target& t : e.epoll().targets()) {
    std::string what = absl::StrCat("fd ", e.fd(), " (epoll) watching fd ", t.fd());
    struct __attribute__((packed)) {
      uint32_t events;
      uint64_t data;
    } event{t.events(), t.data()};  // (struct epoll_event, packed on x86-64)
    ASSIGN_OR_RETURN(uint64_t ev, rs.PutString(BytesOf(event)));
    RETURN_IF_ERROR(rs.Call("epoll_ctl", what, SYS_epoll_ctl, e.fd(), EPOLL_CTL_ADD, t.fd(), ev).status());
  }
  return absl::OkStatus();
}

// An eventfd, signalfd, timerfd, inotify or epoll made again at e's fd, in the state the image
// tells (an epoll's targets come later: RestoreEpollTargets).
absl::Status RestoreKernelObject(RemoteSyscalls& rs, const image::Fd& e) {
  std::string what = absl::StrCat("fd ", e.fd(), " (", e.path(), ")");
  const uint64_t nonblock = e.flags() & O_NONBLOCK;
  long got = -1;
  switch (e.kind()) {
    case image::Fd::EVENTFD: {
      const image::EventFd& ev = e.eventfd();
      uint64_t flags = nonblock | (ev.semaphore() ? EFD_SEMAPHORE : 0);
      bool fits = ev.count() <= UINT32_MAX;
      ASSIGN_OR_RETURN(got, rs.Call("eventfd2", what, SYS_eventfd2, fits ? ev.count() : 0, flags));
      if (!fits) {
        ASSIGN_OR_RETURN(uint64_t count, rs.PutString(BytesOf(ev.count())));
        RETURN_IF_ERROR(rs.Call("write", what, SYS_write, static_cast<uint64_t>(got), count, 8).status());
      }
      break;
    }
    case image::Fd::SIGNALFD: {
      ASSIGN_OR_RETURN(uint64_t mask, rs.PutString(BytesOf(e.signalfd().mask())));
      ASSIGN_OR_RETURN(got, rs.Call("signalfd4", what, SYS_signalfd4, static_cast<uint64_t>(-1), mask, 8, nonblock));
      break;
    }
    case image::Fd::TIMERFD: {
      const image::TimerFd& t = e.timerfd();
      ASSIGN_OR_RETURN(got, rs.Call("timerfd_create", what, SYS_timerfd_create, static_cast<uint64_t>(t.clock_id()), nonblock));
      auto ts = [](uint64_t ns) { return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)}; };
      // (Relative: the clocks of another node do not agree with this one's. A periodic timer
      // that has expired shows no time left until its expirations are read: its next is
      // one interval on.)
      auto arm = [&](const itimerspec& its) -> absl::Status {
        ASSIGN_OR_RETURN(uint64_t spec, rs.PutString(BytesOf(its)));
        return rs.Call("timerfd_settime", what, SYS_timerfd_settime, static_cast<uint64_t>(got), 0, spec, 0).status();
      };
      uint64_t value = t.value_ns() > 0 ? t.value_ns() : t.interval_ns();
      if (value > 0) RETURN_IF_ERROR(arm(itimerspec{ts(t.interval_ns()), ts(value)}));
      if (t.ticks() > 0) {
        // Expirations not read yet: set as they were (TFD_IOC_SET_TICKS, a kernel with
        // CONFIG_CHECKPOINT_RESTORE), or else one expiry at once, so a read does not block.
        ASSIGN_OR_RETURN(uint64_t ticks, rs.PutString(BytesOf(t.ticks())));
        auto set = rs.Raw(SYS_ioctl, static_cast<uint64_t>(got), _IOW('T', 0, uint64_t), ticks);
        if (!set.ok() || *set < 0) RETURN_IF_ERROR(arm(itimerspec{ts(t.interval_ns()), timespec{0, 1}}));
      }
      break;
    }
    case image::Fd::INOTIFY: {
      ASSIGN_OR_RETURN(got, rs.Call("inotify_init1", what, SYS_inotify_init1, nonblock));
      RETURN_IF_ERROR(RestoreWatches(rs, got, e));
      break;
    }
    case image::Fd::EPOLL: {
      ASSIGN_OR_RETURN(got, rs.Call("epoll_create1", what, SYS_epoll_create1, 0));
      break;
    }
    default:
      return absl::InternalError(absl::StrCat(what, " is not a kernel object"));
  }
  return PlaceFd(rs, static_cast<int>(got), e, what);
}

absl::Status RestoreFds(RemoteSyscalls& rs, const image::Core& core, const RestoreOptions& options) {
  std::map<int, image::Fd> wanted;
  for (const image::Fd& fd : core.files().fds()) wanted[fd.fd()] = fd;
  for (const auto& [fd, path] : options.fd_overrides) {
    image::Fd& e = wanted[fd];
    bool same_file = e.path() == path && !path.empty() && path[0] == '/';
    if (e.kind() == image::Fd::ORPHANED) {
      // Something else for a pipe or socket that cannot come back: created or appended to.
      e.set_kind(image::Fd::REGULAR);
      e.set_flags(fd == 0 ? O_RDONLY : (O_WRONLY | O_CREAT | O_APPEND));
      e.set_pos(-1);
    } else if (e.kind() == image::Fd::STDIO && same_file) {
      // stdio that was this very file (dd's of=, a shell redirection): reopened as it was,
      // at its offset, instead of being taken from the recovering mosrun.
      e.set_kind(image::Fd::REGULAR);
    } else if (e.path().empty() || e.kind() == image::Fd::STDIO) {
      // A new file for stdio (or an fd that was not open): read for 0, create/append for others.
      e.set_fd(fd);
      e.set_kind(image::Fd::REGULAR);
      e.set_flags(fd == 0 ? O_RDONLY : (O_WRONLY | O_CREAT | O_APPEND));
      e.set_pos(-1);
    }
    e.set_path(path);
  }
  // Pipes and socketpairs with both ends here are one again (one end each, by the first fd of
  // each).
  image::Files orphans;
  for (const auto& [fd, e] : wanted) *orphans.add_fds() = e;  // (overrides applied)
  std::set<int> paired;
  for (const internal::WholePair& p : internal::WholePairs(orphans)) {
    RETURN_IF_ERROR(RestorePairWithin(rs, p, wanted[p.first], wanted[p.second]));
    paired.insert(p.first);
    paired.insert(p.second);
  }
  std::vector<const image::Fd*> epolls;
  for (const auto& [fd, e] : wanted) {
    if (e.kind() == image::Fd::STDIO || paired.count(fd)) continue;  // (stdio: the recovering mosrun's own)
    if (options.keep_fds.count(fd)) {
      // Overriding a kept fd (stdio): the kept one is replaced.
      RETURN_IF_ERROR(rs.Call("close", absl::StrCat("fd ", fd), SYS_close, fd).status());
    }
    if (e.kind() == image::Fd::ORPHANED) {
      RETURN_IF_ERROR(RestoreOrphan(rs, e));
      continue;
    }
    if (IsKernelObject(e)) {
      RETURN_IF_ERROR(RestoreKernelObject(rs, e));
      if (e.kind() == image::Fd::EPOLL) epolls.push_back(&e);
      continue;
    }
    int flags = static_cast<int>(e.flags()) & ~(O_EXCL | O_TRUNC | O_NOCTTY);
    if (e.kind() == image::Fd::DIRECTORY) flags |= O_DIRECTORY;
    ASSIGN_OR_RETURN(uint64_t path, rs.PutString(e.path()));
    ASSIGN_OR_RETURN(long got, rs.Call("open", e.path(), SYS_openat, static_cast<uint64_t>(AT_FDCWD), path,
                                       static_cast<uint64_t>(flags), 0644));
    RETURN_IF_ERROR(PlaceFd(rs, static_cast<int>(got), e, e.path()));
    if (e.kind() == image::Fd::REGULAR && e.pos() > 0 && !(flags & O_APPEND)) {
      RETURN_IF_ERROR(rs.Call("lseek", e.path(), SYS_lseek, fd, static_cast<uint64_t>(e.pos()), SEEK_SET).status());
    }
  }
  for (const image::Fd* e : epolls) RETURN_IF_ERROR(RestoreEpollTargets(rs, *e));
  return absl::OkStatus();
}

// Maps every region of the image at its address, with its protection.
// Where in the restore trampoline the batch loop and its table go (page 0 holds the syscall
// gadget at its start; the scratch area is pages 1.. of which the upper half is the table).
constexpr uint64_t kBatchCodeOffset = 64;
constexpr uint64_t kBatchTableOffset = 8 * kPage;
constexpr size_t kBatchMax = (kTrampolineSize - kBatchTableOffset) / 64;

// The image's regions, mapped at their addresses: the files they map opened first (a call
// each), then every mmap in batches (one stop for all, instead of two per call).
// The madvise advice each mapping had. What changes a program's behaviour (fork, core dumps)
// must be given back; performance hints are given back where this kernel takes them.
absl::Status ApplyAdvice(RemoteSyscalls& rs, const image::Core& core) {
  struct Kind {
    uint32_t bit;
    int advice;
    bool must;
  };
  static const Kind kKinds[] = {
      {image::Vma::DONTFORK, MADV_DONTFORK, true},    {image::Vma::WIPEONFORK, MADV_WIPEONFORK, true},
      {image::Vma::DONTDUMP, MADV_DONTDUMP, true},    {image::Vma::HUGEPAGE, MADV_HUGEPAGE, false},
      {image::Vma::NOHUGEPAGE, MADV_NOHUGEPAGE, false}, {image::Vma::MERGEABLE, MADV_MERGEABLE, false},
      {image::Vma::SEQUENTIAL, MADV_SEQUENTIAL, false}, {image::Vma::RANDOM, MADV_RANDOM, false},
  };
  for (const image::Vma& v : core.mm().vmas()) {
    for (const Kind& k : kKinds) {
      if (!(v.advice() & k.bit)) continue;
      std::string what = absl::StrFormat("%#x-%#x", v.start(), v.end());
      if (k.must) {
        RETURN_IF_ERROR(rs.Call("madvise", what, SYS_madvise, v.start(), v.end() - v.start(), k.advice).status());
      } else {
        (void)rs.Raw(SYS_madvise, v.start(), v.end() - v.start(), k.advice);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status MapRegions(RemoteSyscalls& rs, const image::Core& core, uint64_t tramp) {
  std::map<std::string, long> files;  // path -> fd in the target
  auto close_files = [&] {
    for (const auto& [path, fd] : files) (void)rs.Raw(SYS_close, fd);
  };
  std::vector<RemoteSyscalls::BatchCall> maps;
  std::vector<const image::Vma*> of;
  for (const image::Vma& v : core.mm().vmas()) {
    uint64_t len = v.end() - v.start();
    long fd = -1;
    int flags = MAP_FIXED;
    switch (v.kind()) {
      case image::Vma::VDSO:
      case image::Vma::VVAR:
      case image::Vma::VSYSCALL:
        continue;
      case image::Vma::ANON:
        flags |= MAP_PRIVATE | MAP_ANONYMOUS;
        break;
      case image::Vma::STACK:
        flags |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN;
        break;
      case image::Vma::ANON_SHARED:
        flags |= MAP_SHARED | MAP_ANONYMOUS;
        break;
      case image::Vma::FILE_PRIVATE:
      case image::Vma::FILE_SHARED: {
        flags |= v.kind() == image::Vma::FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
        auto it = files.find(v.path());
        if (it == files.end()) {
          auto path = rs.PutString(v.path());
          auto got = path.ok() ? rs.Call("open", v.path(), SYS_openat, static_cast<uint64_t>(AT_FDCWD), *path,
                                         O_RDONLY | O_CLOEXEC)
                               : absl::StatusOr<long>(path.status());
          if (!got.ok()) {
            close_files();
            return got.status();
          }
          it = files.emplace(v.path(), *got).first;
        }
        fd = it->second;
        break;
      }
      default:
        close_files();
        return absl::DataLossError(absl::StrFormat("image has a region of unknown kind: %#x-%#x %s", v.start(), v.end(), v.path()));
    }
    bool file = v.kind() == image::Vma::FILE_PRIVATE || v.kind() == image::Vma::FILE_SHARED;
    maps.push_back({SYS_mmap, {v.start(), len, v.prot(), static_cast<uint64_t>(flags), static_cast<uint64_t>(fd), file ? v.pgoff() : 0}});
    of.push_back(&v);
  }
  absl::Status status;
  for (size_t first = 0; first < maps.size() && status.ok(); first += kBatchMax) {
    std::vector<RemoteSyscalls::BatchCall> part(maps.begin() + first, maps.begin() + std::min(maps.size(), first + kBatchMax));
    auto got = rs.Batch(tramp + kBatchCodeOffset, tramp + kBatchTableOffset, part);
    if (!got.ok()) {
      status = got.status();
      break;
    }
    for (size_t i = 0; i < got->size(); ++i) {
      long r = (*got)[i];
      const image::Vma& v = *of[first + i];
      if (r < 0 && r > -4096) {
        status = ErrnoStatus(static_cast<int>(-r), "mmap", absl::StrFormat("%#x-%#x %s", v.start(), v.end(), v.path()));
        break;
      }
    }
  }
  close_files();
  return status;
}

// Pages: straight from the mapped image into the (mapped) regions, PAGES frames spread over
// CPUs; the target's fresh memory is faulted in by the copying threads.
absl::Status WritePages(Task& target, const LoadedImage& image) {
  return ParallelFor(image.chunks().size(), CopyThreads(), [&](size_t i) {
    const PageChunk& chunk = image.chunks()[i];
    std::vector<RemoteRange> ranges;
    ranges.reserve(chunk.batch.runs_size());
    for (const auto& run : chunk.batch.runs()) ranges.push_back({run.vaddr(), run.npages() * kPage});
    return target.WriteRanges(ranges, chunk.data);
  });
}

absl::Status RestoreMm(RemoteSyscalls& rs, const image::Core& core) {
  const image::Mm& mm = core.mm();
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage * 4));
  long exe_fd = -1;
  if (!core.process().exe_path().empty()) {
    ASSIGN_OR_RETURN(uint64_t path, rs.PutString(core.process().exe_path(), 2 * kPage));
    ASSIGN_OR_RETURN(long r, rs.Raw(SYS_openat, static_cast<uint64_t>(AT_FDCWD), path, O_RDONLY | O_CLOEXEC));
    if (r >= 0) exe_fd = r;
  }
  PrctlMmMap map{mm.start_code(), mm.end_code(), mm.start_data(), mm.end_data(), mm.start_brk(), mm.brk(),
                 mm.start_stack(), mm.arg_start(), mm.arg_end(), mm.env_start(), mm.env_end(),
                 scratch + kPage, static_cast<uint32_t>(mm.auxv().size()), static_cast<uint32_t>(exe_fd)};
  if (mm.auxv().size() > kPage) return absl::DataLossError("image auxv is too large");
  RETURN_IF_ERROR(rs.task()->WriteMem(scratch, &map, sizeof map));
  RETURN_IF_ERROR(rs.task()->WriteMem(scratch + kPage, mm.auxv().data(), mm.auxv().size()));
  auto r = rs.Call("prctl(PR_SET_MM_MAP)", "", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, scratch, sizeof map);
  if (!r.ok() && exe_fd >= 0) {
    // Retry without changing /proc/PID/exe (needs more privilege than the rest).
    map.exe_fd = static_cast<uint32_t>(-1);
    RETURN_IF_ERROR(rs.task()->WriteMem(scratch, &map, sizeof map));
    r = rs.Call("prctl(PR_SET_MM_MAP)", "", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, scratch, sizeof map);
  }
  if (exe_fd >= 0) (void)rs.Raw(SYS_close, exe_fd);
  return r.status();
}

constexpr uint64_t kSigsysBit = 1ull << (SIGSYS - 1);

// The image's POSIX timers, each with its own id again (PR_TIMER_CREATE_RESTORE_IDS, Linux
// 6.15), armed with the time it had left. Timers the target has are deleted first (a deputy's:
// they went with the process).
absl::Status RestorePosixTimers(Task* task, RemoteSyscalls& rs, uint64_t scratch, const image::Timers& timers) {
  ASSIGN_OR_RETURN(std::vector<PosixTimerInfo> existing, ReadPosixTimers(task->pid()));
  for (const PosixTimerInfo& t : existing) (void)rs.Raw(SYS_timer_delete, t.id);
  if (timers.posix_timers().empty()) return absl::OkStatus();
  constexpr int kPrTimerCreateRestoreIds = 77;
  auto on = rs.Call("prctl(PR_TIMER_CREATE_RESTORE_IDS)", "on", SYS_prctl, kPrTimerCreateRestoreIds, 1, 0, 0, 0);
  if (!on.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the image has ", timers.posix_timers_size(),
                                                      " POSIX timers, and this kernel cannot give them their ids back "
                                                      "(Linux 6.15 or later can): ", on.status().message()));
  }
  absl::Status status;
  for (const image::PosixTimer& t : timers.posix_timers()) {
    sigevent ev{};
    ev.sigev_value.sival_ptr = reinterpret_cast<void*>(t.sigev_value());
    ev.sigev_signo = t.signo();
    ev.sigev_notify = t.notify();
    if (t.notify() & SIGEV_THREAD_ID) ev._sigev_un._tid = task->pid();  // (glibc: sigev_notify_thread_id)
    int id = t.id();
    status = task->Write(RemotePtr<sigevent>(scratch), ev);
    if (status.ok()) status = task->Write(RemotePtr<int>(scratch + 256), id);
    if (status.ok()) {
      status = rs.Call("timer_create", absl::StrCat("timer ", id), SYS_timer_create, t.clock_id(), scratch, scratch + 256).status();
    }
    if (status.ok() && t.value_ns() > 0) {
      itimerspec its{};
      its.it_interval.tv_sec = t.interval_ns() / 1000000000;
      its.it_interval.tv_nsec = t.interval_ns() % 1000000000;
      its.it_value.tv_sec = t.value_ns() / 1000000000;
      its.it_value.tv_nsec = t.value_ns() % 1000000000;
      status = task->Write(RemotePtr<itimerspec>(scratch + 512), its);
      if (status.ok()) status = rs.Call("timer_settime", absl::StrCat("timer ", id), SYS_timer_settime, id, 0, scratch + 512, 0).status();
    }
    if (!status.ok()) break;
  }
  (void)rs.Raw(SYS_prctl, kPrTimerCreateRestoreIds, 0, 0, 0, 0);
  return status;
}

absl::Status RestoreSignalsAndMisc(RemoteSyscalls& rs, const image::Core& core, uint64_t tramp, bool requeue_pending,
                                   bool keep_cwd_umask, bool remote, bool restore_posix_timers) {
  Task* task = rs.task();
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage));
  // The image lists the actions that are not the default; whatever else the target catches or
  // ignores now (a deputy catches everything) goes back to the default. All in one batch.
  ASSIGN_OR_RETURN(uint64_t to_reset, CaughtOrIgnoredSignals(task->pid()));
  for (const image::SigAction& a : core.signals().actions()) to_reset &= ~(1ull << (a.signo() - 1));
  std::vector<std::pair<int, KernelSigaction>> actions;
  for (int s = 1; s <= 64; ++s) {
    if (s != SIGKILL && s != SIGSTOP && (to_reset & (1ull << (s - 1)))) actions.push_back({s, KernelSigaction{}});
  }
  for (const image::SigAction& a : core.signals().actions()) {
    // Away from home SIGSYS is the shim's: blocked inside a handler it would kill the process.
    actions.push_back({static_cast<int>(a.signo()), {a.handler(), a.flags(), a.restorer(), remote ? a.mask() & ~kSigsysBit : a.mask()}});
  }
  static_assert(64 * 2 * sizeof(KernelSigaction) <= kPage);
  std::vector<KernelSigaction> structs;
  std::vector<RemoteSyscalls::BatchCall> calls;
  for (size_t i = 0; i < actions.size(); ++i) {
    structs.push_back(actions[i].second);
    calls.push_back({SYS_rt_sigaction, {static_cast<uint64_t>(actions[i].first), scratch + i * sizeof(KernelSigaction), 0, 8, 0, 0}});
  }
  if (!structs.empty()) RETURN_IF_ERROR(task->WriteMem(scratch, structs.data(), structs.size() * sizeof(KernelSigaction)));
  ASSIGN_OR_RETURN(std::vector<long> set, rs.Batch(tramp + kBatchCodeOffset, tramp + kBatchTableOffset, calls));
  for (size_t i = 0; i < set.size(); ++i) {
    if (set[i] < 0 && set[i] > -4096) {
      return ErrnoStatus(static_cast<int>(-set[i]), absl::StrCat("rt_sigaction in ", DescribePid(task->pid())),
                         absl::StrCat("signal ", actions[i].first));
    }
  }
  stack_t ss{};
  ss.ss_sp = reinterpret_cast<void*>(core.signals().altstack_sp());
  ss.ss_size = core.signals().altstack_size();
  ss.ss_flags = core.signals().altstack_flags() & ~SS_ONSTACK;
  if (!(ss.ss_flags & SS_DISABLE) || ss.ss_size) {
    RETURN_IF_ERROR(task->Write(RemotePtr<stack_t>(scratch), ss));
    RETURN_IF_ERROR(rs.Call("sigaltstack", "", SYS_sigaltstack, scratch, 0).status());
  }
  for (const image::Itimer& t : core.timers().itimers()) {
    itimerval it{};
    it.it_interval.tv_sec = t.interval_us() / 1000000;
    it.it_interval.tv_usec = t.interval_us() % 1000000;
    // A real-time timer whose SIGALRM is pending (it expired, the signal not yet taken) reads as
    // "value 0, interval N": the kernel arms it again only when the signal is taken. Restored
    // as it reads, it would be disarmed for good; it is armed one interval on instead (and the
    // pending SIGALRM comes back with the other pending signals).
    int64_t value_us = t.value_us();
    if (t.which() == ITIMER_REAL && value_us == 0 && t.interval_us() > 0) value_us = t.interval_us();
    it.it_value.tv_sec = value_us / 1000000;
    it.it_value.tv_usec = value_us % 1000000;
    RETURN_IF_ERROR(task->Write(RemotePtr<itimerval>(scratch), it));
    RETURN_IF_ERROR(rs.Call("setitimer", "", SYS_setitimer, t.which(), scratch, 0).status());
  }
  if (restore_posix_timers) RETURN_IF_ERROR(RestorePosixTimers(task, rs, scratch, core.timers()));
  const image::Process& p = core.process();
  if (!keep_cwd_umask) {  // away from home, and back, they are the deputy's
    RETURN_IF_ERROR(rs.Call("umask", "", SYS_umask, p.umask()).status());
    ASSIGN_OR_RETURN(uint64_t cwd, rs.PutString(p.cwd()));
    RETURN_IF_ERROR(rs.Call("chdir", p.cwd(), SYS_chdir, cwd).status());
  }
  RETURN_IF_ERROR(rs.Call("personality", "", SYS_personality, p.personality()).status());
  // Its nice value (the restoring process may have another: an agent's stub, say). Where the
  // restoring process may not lower its own (a user's `nice mosrun -R`), it keeps its own.
  int nice = std::clamp(p.nice(), core.creds().uid() == 0 ? -20 : 0, 19);
  RETURN_IF_ERROR(rs.Raw(SYS_setpriority, PRIO_PROCESS, 0, static_cast<uint64_t>(static_cast<int64_t>(nice))).status());
  if (p.clear_child_tid()) RETURN_IF_ERROR(rs.Call("set_tid_address", "", SYS_set_tid_address, p.clear_child_tid()).status());
  if (p.robust_list_head()) {
    RETURN_IF_ERROR(rs.Call("set_robust_list", "", SYS_set_robust_list, p.robust_list_head(), p.robust_list_len()).status());
  }
  ASSIGN_OR_RETURN(uint64_t comm, rs.PutString(p.comm().substr(0, 15)));
  RETURN_IF_ERROR(rs.Call("prctl(PR_SET_NAME)", p.comm(), SYS_prctl, PR_SET_NAME, comm).status());
  const image::Rseq& rseq = core.rseq();
  if (rseq.address()) {
    RETURN_IF_ERROR(rs.Call("rseq", "register", SYS_rseq, rseq.address(), rseq.length(), 0, rseq.signature()).status());
  }
  // By the process itself, and no higher than it may (see SetRlimits).
  RETURN_IF_ERROR(SetRlimits(rs, tramp + kBatchCodeOffset, tramp + kBatchTableOffset, scratch, core.rlimits()));
  pid_t pid = task->pid();
  if (!requeue_pending) return absl::OkStatus();
  for (const std::string& si : core.signals().pending()) {
    siginfo_t info;
    memcpy(&info, si.data(), std::min(si.size(), sizeof info));
    RETURN_IF_ERROR(task->WriteMem(scratch, &info, sizeof info));
    RETURN_IF_ERROR(rs.Call("rt_tgsigqueueinfo", "", SYS_rt_tgsigqueueinfo, pid, pid, info.si_signo, scratch).status());
  }
  for (const std::string& si : core.signals().shared_pending()) {
    siginfo_t info;
    memcpy(&info, si.data(), std::min(si.size(), sizeof info));
    RETURN_IF_ERROR(task->WriteMem(scratch, &info, sizeof info));
    RETURN_IF_ERROR(rs.Call("rt_sigqueueinfo", "", SYS_rt_sigqueueinfo, pid, info.si_signo, scratch).status());
  }
  return absl::OkStatus();
}

// Switches the restored process's shim to remote mode: the shim's SIGSYS handler (every signal
// blocked while it runs), the mode in mosix_shim_info, and Syscall User Dispatch for all code
// outside the shim's text. The calls go through a `syscall` inside that text, so that once the
// dispatch is on they are not trapped themselves.
absl::Status EnableRemote(Task& target, const RestoreOptions::Remote& r, user_regs_struct* regs) {
  ASSIGN_OR_RETURN(uint64_t gadget, FindSyscallInstruction(&target, r.text_start, r.text_end, "the shim's text"));
  ASSIGN_OR_RETURN(mosix_shim_info info, target.Read(RemotePtr<mosix_shim_info>(r.shim_info)));
  if (info.version != MOSIX_SHIM_INFO_VERSION) {
    return absl::FailedPreconditionError(absl::StrCat("the process's shim is version ", info.version, ", this agent speaks ",
                                                      MOSIX_SHIM_INFO_VERSION));
  }
  ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::Create(&target, gadget));
  info.mode = MOSIX_MODE_REMOTE;
  if (r.home_pid) info.home_pid = r.home_pid;
  info.selector = 1;  // SYSCALL_DISPATCH_FILTER_BLOCK
  ++info.link_epoch;  // a call in flight is sent again on this link (link_invariants.h, I3) ...
  if (info.forwarding && regs->rax == SYS_poll) regs->rdx = 0;  // ... at once: its wait does not wait
  RETURN_IF_ERROR(target.Write(RemotePtr<mosix_shim_info>(r.shim_info), info));
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage));
  KernelSigaction ka{info.sigsys_handler, SA_SIGINFO | internal::kSaRestorer, info.sigreturn, ~0ull};
  RETURN_IF_ERROR(target.Write(RemotePtr<KernelSigaction>(scratch), ka));
  RETURN_IF_ERROR(rs.Call("rt_sigaction", "SIGSYS", SYS_rt_sigaction, SIGSYS, scratch, 0, 8).status());
  RETURN_IF_ERROR(rs.Call("munmap", "scratch", SYS_munmap, scratch, kPage).status());
  // PR_SET_SYSCALL_USER_DISPATCH = 59, PR_SYS_DISPATCH_ON = 1
  RETURN_IF_ERROR(rs.Call("prctl(PR_SET_SYSCALL_USER_DISPATCH)", "", SYS_prctl, 59, 1, r.text_start,
                          r.text_end - r.text_start, r.shim_info + offsetof(mosix_shim_info, selector)).status());
  rs.Forget();
  return absl::OkStatus();
}

// A process back home: the link goes, the shim is in home mode again, and SIGSYS is the
// program's own again. One caught waiting for the reply to a forwarded call (in its poll on
// the link: the agent saw to that) finds at once that it is home, and makes the call itself.
absl::Status BackHome(RemoteSyscalls& rs, Task& target, uint64_t info_addr, user_regs_struct* regs) {
  ASSIGN_OR_RETURN(mosix_shim_info info, target.Read(RemotePtr<mosix_shim_info>(info_addr)));
  if (info.forwarding && regs->rax == SYS_poll) regs->rdx = 0;  // the poll, re-issued, does not wait
  info.mode = MOSIX_MODE_HOME;
  info.selector = 0;
  RETURN_IF_ERROR(target.Write(RemotePtr<mosix_shim_info>(info_addr), info));
  (void)rs.Raw(SYS_close, MOSIX_LINK_FD);
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage));
  KernelSigaction program{info.program_sigsys[0], info.program_sigsys[1], info.program_sigsys[2], info.program_sigsys[3]};
  RETURN_IF_ERROR(target.Write(RemotePtr<KernelSigaction>(scratch), program));
  return rs.Call("rt_sigaction", "SIGSYS", SYS_rt_sigaction, SIGSYS, scratch, 0, 8).status();
}

// Everything after the target's own memory is gone.
absl::Status RestoreInto(Task& target, RemoteSyscalls& rs, const image::Core& core, const PageWriter& write_pages,
                         const RestoreOptions& options,
                         const std::vector<MapEntry>& cur_maps, uint64_t tramp, std::vector<Range> used) {
  RETURN_IF_ERROR(MoveSpecials(rs, internal::SpecialsOf(cur_maps), internal::SpecialsOf(core.mm()), used));
  RETURN_IF_ERROR(MapRegions(rs, core, tramp));
  RETURN_IF_ERROR(ApplyAdvice(rs, core));
  // Other threads fill the pages while this (the tracer) thread restores the rest.
  absl::Status pages_status;
  std::thread pages([&] { pages_status = write_pages(target); });
  bool remote = options.remote.enabled;
  bool keep_fds = options.same_process || remote || options.home.enabled;
  absl::Status status = keep_fds ? absl::OkStatus() : RestoreFds(rs, core, options);
  if (status.ok()) status = RestoreMm(rs, core);
  if (status.ok()) {
    status = RestoreSignalsAndMisc(rs, core, tramp, /*requeue_pending=*/!options.same_process,
                                   /*keep_cwd_umask=*/remote || options.home.enabled, /*strip_sigsys=*/remote,
                                   /*restore_posix_timers=*/!options.same_process);
  }
  pages.join();
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(pages_status);
  user_regs_struct regs = ToRegs(core.cpu().regs());
  regs.orig_rax = static_cast<uint64_t>(-1);
  if (core.process().pid() != target.pid() && regs.fs_base && !remote) {
    // glibc caches the thread's tid in its TCB; a recovered process has a new one.
    RemotePtr<int32_t> tid(regs.fs_base + kGlibcTidOffset);
    auto old = target.Read(tid);
    if (old.ok() && *old == core.process().pid()) RETURN_IF_ERROR(target.Write(tid, static_cast<int32_t>(target.pid())));
  }
  // A process caught away from home (its image says where its shim is) is home again here,
  // whether in its deputy or recovered into another process.
  uint64_t shim_home = options.home.enabled ? options.home.shim_info : remote ? 0 : core.process().shim_info();
  if (shim_home) RETURN_IF_ERROR(BackHome(rs, target, shim_home, &regs));
  // The trampoline unmaps itself; we are stopped at its exit.
  RETURN_IF_ERROR(rs.Call("munmap", "trampoline", SYS_munmap, tramp, kTrampolineSize).status());
  rs.Forget();
  if (remote) RETURN_IF_ERROR(EnableRemote(target, options.remote, &regs));
  RETURN_IF_ERROR(target.SetRegs(regs));
  RETURN_IF_ERROR(target.SetXstate(core.cpu().xsave()));
  RETURN_IF_ERROR(target.SetSigmask(remote ? core.signals().blocked() & ~kSigsysBit : core.signals().blocked()));
  return target.Detach();
}

}  // namespace

absl::Status CheckRestorable(const LoadedImage& image, const RestoreOptions& options) {
  return CheckRestorable(image.manifest(), image.core(), options);
}

absl::Status CheckRestorable(const image::Manifest& m, const image::Core& core, const RestoreOptions& options) {
  if (!m.arch().empty() && m.arch() != "x86_64") {
    return absl::FailedPreconditionError(absl::StrCat("image is for ", m.arch(), ", this node is x86_64"));
  }
  if (m.page_size() != kPage) return absl::FailedPreconditionError("image has another page size");
  ASSIGN_OR_RETURN(std::vector<MapEntry> self, ReadMaps(getpid()));
  RETURN_IF_ERROR(internal::SameSpecialLayout(internal::SpecialsOf(self), internal::SpecialsOf(core.mm())));
  for (const MapEntry& e : self) {
    if (e.path != "[vdso]") continue;
    if (core.mm().vdso().size() != e.size() || memcmp(core.mm().vdso().data(), reinterpret_cast<const void*>(e.start), e.size()) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the image was written under kernel ", m.kernel_release(), " whose vDSO differs from this kernel's; it cannot run here"));
    }
  }
  uint64_t missing = core.cpu().xfeatures() & ~Xcr0();
  if (missing) {
    return absl::FailedPreconditionError(absl::StrFormat("this CPU lacks register state the image uses (XCR0 bits %#x)", missing));
  }
  for (const image::Vma& v : core.mm().vmas()) {
    if (v.kind() != image::Vma::FILE_PRIVATE && v.kind() != image::Vma::FILE_SHARED) continue;
    struct stat st;
    if (::stat(v.path().c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("mapped file ", v.path(), " is missing on this node"));
    }
    if (static_cast<uint64_t>(st.st_size) != v.file_size() || MtimeNs(st) != v.file_mtime_ns()) {
      return absl::FailedPreconditionError(absl::StrCat("mapped file ", v.path(), " changed since the checkpoint"));
    }
  }
  for (const image::Fd& fd : core.files().fds()) {
    if (options.same_process || options.remote.enabled || options.home.enabled) break;  // real fds stay home
    if (fd.kind() == image::Fd::STDIO || options.fd_overrides.count(fd.fd())) continue;
    if (fd.fd() >= 3 && options.keep_fds.count(fd.fd())) {
      return absl::FailedPreconditionError(absl::StrCat("fd ", fd.fd(), " of the image collides with the recovery channel"));
    }
    for (const image::Inotify::Watch& w : fd.inotify().watches()) {
      if (::access(w.path().c_str(), F_OK) != 0) {
        return absl::NotFoundError(absl::StrCat("file ", w.path(), " (watched by fd ", fd.fd(), ", an inotify) is missing"));
      }
    }
    if (fd.kind() == image::Fd::ORPHANED || IsKernelObject(fd)) continue;  // made anew
    if (fd.kind() == image::Fd::HOME) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fd ", fd.fd(), " (", fd.path(), ") stayed open in the process at home and is not in the image: ",
          "only that process can continue from it"));
    }
    struct stat st;
    if (::stat(fd.path().c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("file ", fd.path(), " (fd ", fd.fd(), ") is missing; use -O ", fd.fd(), "=PATH"));
    }
  }
  for (const auto& [fd, path] : options.fd_overrides) {
    if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("-O: bad fd ", fd));
  }
  struct stat st;
  if (!options.remote.enabled && !options.home.enabled &&
      (::stat(core.process().cwd().c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    return absl::NotFoundError(absl::StrCat("working directory ", core.process().cwd(), " is missing"));
  }
  return absl::OkStatus();
}

absl::Status Restore(Task& target, const LoadedImage& image, const RestoreOptions& options) {
  return Restore(target, image.manifest(), image.core(), [&](Task& t) { return WritePages(t, image); }, options);
}

// Workers take turns reading the next batch from the stream (under a lock) and write their
// batches into the target side by side: writing into the target's fresh memory is the slow
// part, and it spreads over CPUs.
absl::Status RestoreFromStream(Task& target, StreamImageReader& reader, const RestoreOptions& options) {
  return Restore(target, reader.manifest(), reader.core(),
                 [&](Task& t) -> absl::Status {
                   absl::Mutex mu;
                   bool done = false;
                   return ParallelFor(CopyThreads(), CopyThreads(), [&](size_t) -> absl::Status {
                     image::PageBatch batch;
                     std::string data;
                     for (;;) {
                       {
                         absl::MutexLock lock(&mu);
                         if (done) return absl::OkStatus();
                         auto more = reader.Next(&batch, &data);
                         if (!more.ok() || !*more) {
                           done = true;
                           return more.status();
                         }
                       }
                       std::vector<RemoteRange> ranges;
                       ranges.reserve(batch.runs_size());
                       for (const auto& run : batch.runs()) ranges.push_back({run.vaddr(), run.npages() * kPage});
                       RETURN_IF_ERROR(t.WriteRanges(ranges, data.data()));
                     }
                   });
                 },
                 options);
}

absl::Status Restore(Task& target, const image::Manifest& manifest, const image::Core& core, const PageWriter& write_pages,
                     const RestoreOptions& options) {
  RETURN_IF_ERROR(CheckRestorable(manifest, core, options));
  ASSIGN_OR_RETURN(std::vector<MapEntry> cur_maps, ReadMaps(target.pid()));
  std::vector<Range> used;
  for (const image::Vma& v : core.mm().vmas()) used.push_back({v.start(), v.end()});
  for (const MapEntry& e : cur_maps) used.push_back({e.start, e.end});
  auto hole = internal::FindHole(used, kTrampolineSize, kSearchFrom, kSearchLimit);
  if (!hole) return absl::ResourceExhaustedError("no hole for the restore trampoline");
  uint64_t tramp = *hole;
  used.push_back({tramp, tramp + kTrampolineSize});
  {
    ASSIGN_OR_RETURN(RemoteSyscalls rs0, RemoteSyscalls::Create(&target));
    ASSIGN_OR_RETURN(long at, rs0.Call("mmap", "trampoline", SYS_mmap, tramp, kTrampolineSize,
                                       PROT_READ | PROT_WRITE | PROT_EXEC,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0));
    if (static_cast<uint64_t>(at) != tramp) return absl::InternalError("trampoline landed elsewhere");
  }
  const unsigned char code[] = {0x0f, 0x05, 0xcc, 0xcc};
  RETURN_IF_ERROR(target.WriteMem(tramp, code, sizeof code));
  ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::Create(&target, tramp));
  rs.UseScratch(tramp + kPage, kTrampolineSize - kPage);
  if (options.identity == Identity::kImageOwner && !core.has_creds()) {
    return absl::FailedPreconditionError("the image does not say whose process it is (written by an older mosix)");
  }
  RETURN_IF_ERROR(TakeIdentity(rs, tramp + kPage, core.creds(), options.identity));

  // The target's own fds (unless they are the real ones), rseq registration and memory go.
  ASSIGN_OR_RETURN(std::vector<int> fds, ListFds(target.pid()));
  for (int fd : fds) {
    if (options.same_process || options.home.enabled || options.keep_fds.count(fd)) continue;
    RETURN_IF_ERROR(rs.Call("close", absl::StrCat("fd ", fd), SYS_close, fd).status());
  }
  ASSIGN_OR_RETURN(RseqConfig rseq, target.GetRseq());
  if (rseq.address) {
    RETURN_IF_ERROR(rs.Call("rseq", "unregister", SYS_rseq, rseq.address, rseq.length, 1, rseq.signature).status());
  }
  std::vector<Range> doomed;
  for (const MapEntry& e : cur_maps) {
    if (e.IsSpecial()) continue;
    if (!doomed.empty() && doomed.back().end == e.start) {
      doomed.back().end = e.end;
    } else {
      doomed.push_back({e.start, e.end});
    }
  }
  for (const Range& r : doomed) {
    auto s = rs.Call("munmap", absl::StrFormat("%#x-%#x", r.start, r.end), SYS_munmap, r.start, r.end - r.start);
    if (!s.ok()) return absl::AbortedError(absl::StrCat("restore failed: ", s.status().message()));
  }
  absl::Status s = RestoreInto(target, rs, core, write_pages, options, cur_maps, tramp, used);
  if (!s.ok()) return absl::AbortedError(absl::StrCat("restore failed: ", s.message()));
  return absl::OkStatus();
}

}  // namespace mosix
