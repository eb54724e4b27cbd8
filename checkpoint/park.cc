#include "checkpoint/park.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status.h"
#include "checkpoint/internal/layout.h"
#include "checkpoint/internal/release.h"
#include "checkpoint/procfs.h"
#include "checkpoint/remote_syscalls.h"

namespace mosix {
namespace {

constexpr uint64_t kPage = 4096;
// loop: mov eax, 34 (pause); syscall; jmp loop
constexpr unsigned char kParkCode[] = {0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7};
// Marks the page so IsParked can tell it (a pause loop and nothing else).
constexpr char kParkPath[] = "";

bool IsParkPage(const MapEntry& e) {
  return e.size() == kPage && e.path == kParkPath && e.prot == (PROT_READ | PROT_EXEC) && !e.shared;
}

}  // namespace

namespace internal {

absl::Status ReleaseAndJump(Task& task, RemoteSyscalls& rs, const std::vector<MapEntry>& maps,
                            const std::vector<Range>& keep, uint64_t rip, uint64_t rsp, uint64_t rdi,
                            Releaser releaser, bool stop_itimers) {
  if (stop_itimers) {
    ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage));
    itimerval zero{};
    RETURN_IF_ERROR(task.Write(RemotePtr<itimerval>(scratch), zero));
    for (int which : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF}) {
      RETURN_IF_ERROR(rs.Call("setitimer", "stop", SYS_setitimer, which, scratch, 0).status());
    }
    RETURN_IF_ERROR(rs.Call("munmap", "scratch", SYS_munmap, scratch, kPage).status());
  }
  ASSIGN_OR_RETURN(RseqConfig rseq, task.GetRseq());
  if (rseq.address) {
    RETURN_IF_ERROR(rs.Call("rseq", "unregister", SYS_rseq, rseq.address, rseq.length, 1, rseq.signature).status());
  }
  // From here on the process has no memory of its own to go back to.
  rs.Forget();
  // Everything between the lowest and the highest mapping goes but the kept ranges and the
  // kernel's special mappings: a few munmaps over the gaps, instead of one per mapping.
  uint64_t lo = ~0ull, hi = 0;
  std::vector<Range> spared = keep;
  for (const MapEntry& e : maps) {
    if (e.IsSpecial()) {
      spared.push_back({e.start, e.end});
      continue;
    }
    lo = std::min(lo, e.start);
    hi = std::max(hi, e.end);
  }
  std::vector<Range> drop = lo < hi ? Subtract({lo, hi}, spared) : std::vector<Range>{};
  user_regs_struct regs = rs.saved_regs();
  if (releaser == Releaser::kProcess) {
    // The list goes on top of the new stack, and the stack starts below it (rsp + 8 16-byte
    // aligned, as at a function's entry).
    static_assert(sizeof(Range) == 16);
    uint64_t list = (rsp - drop.size() * sizeof(Range)) & ~15ull;
    if (!drop.empty()) {
      absl::Status put = task.WriteMem(list, drop.data(), drop.size() * sizeof(Range));
      if (!put.ok()) return absl::AbortedError(absl::StrCat("releasing memory failed: ", put.message()));
    }
    rsp = list - 8;
    regs.rsi = list;
    regs.rdx = drop.size();
  } else {
    for (const Range& d : drop) {
      auto r = rs.Call("munmap", absl::StrFormat("%#x-%#x", d.start, d.end), SYS_munmap, d.start, d.end - d.start);
      if (!r.ok()) return absl::AbortedError(absl::StrCat("releasing memory failed: ", r.status().message()));
    }
  }
  regs.rip = rip;
  regs.rsp = rsp;
  regs.rdi = rdi;
  regs.rax = 0;
  regs.orig_rax = static_cast<uint64_t>(-1);
  absl::Status s = task.SetRegs(regs);
  if (s.ok()) s = task.SetSigmask(~0ull);
  if (s.ok()) s = task.Detach();
  if (!s.ok()) return absl::AbortedError(absl::StrCat("releasing memory failed: ", s.message()));
  return absl::OkStatus();
}

absl::StatusOr<Range> ArgumentPages(pid_t pid) {
  ASSIGN_OR_RETURN(ProcStat st, ReadStat(pid));
  if (st.arg_start == 0 || st.env_end <= st.arg_start) return absl::NotFoundError("no argument area");
  return Range{st.arg_start & ~(kPage - 1), (st.env_end + kPage - 1) & ~(kPage - 1)};
}

absl::StatusOr<uint64_t> MapHole(Task& /*task*/, RemoteSyscalls& rs, const std::vector<MapEntry>& maps, uint64_t size,
                                 int prot) {
  std::vector<Range> used;
  for (const MapEntry& e : maps) used.push_back({e.start, e.end});
  auto hole = FindHole(used, size, 0x10000000, 0x7ffffffff000);
  if (!hole) return absl::ResourceExhaustedError("no room in the address space");
  RETURN_IF_ERROR(rs.Call("mmap", "private page", SYS_mmap, *hole, size, prot,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0).status());
  return *hole;
}

}  // namespace internal

absl::Status Park(Task& task) {
  ASSIGN_OR_RETURN(std::vector<MapEntry> maps, ReadMaps(task.pid()));
  ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::CreateInVdso(&task));
  ASSIGN_OR_RETURN(uint64_t park, internal::MapHole(task, rs, maps, kPage, PROT_READ | PROT_WRITE));
  RETURN_IF_ERROR(task.WriteMem(park, kParkCode, sizeof kParkCode));
  RETURN_IF_ERROR(rs.Call("mprotect", "parking page", SYS_mprotect, park, kPage, PROT_READ | PROT_EXEC).status());
  std::vector<internal::Range> keep = {{park, park + kPage}};
  if (auto args = internal::ArgumentPages(task.pid()); args.ok()) keep.push_back(*args);
  return internal::ReleaseAndJump(task, rs, maps, keep, park, park + kPage, 0);
}

bool IsParked(pid_t pid) {
  auto maps = ReadMaps(pid);
  if (!maps.ok()) return false;
  auto args = internal::ArgumentPages(pid);
  int own = 0;
  bool park = false;
  for (const MapEntry& e : *maps) {
    if (e.IsSpecial()) continue;
    if (args.ok() && e.start >= args->start && e.end <= args->end) continue;  // the command line
    ++own;
    park = park || IsParkPage(e);
  }
  return own == 1 && park;
}

}  // namespace mosix
