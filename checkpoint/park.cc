#include "checkpoint/park.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status.h"
#include "checkpoint/internal/layout.h"
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

absl::Status Park(Task& task) {
  ASSIGN_OR_RETURN(std::vector<MapEntry> maps, ReadMaps(task.pid()));
  std::vector<internal::Range> used;
  for (const MapEntry& e : maps) used.push_back({e.start, e.end});
  auto hole = internal::FindHole(used, kPage, 0x10000000, 0x7ffffffff000);
  if (!hole) return absl::ResourceExhaustedError("no room for the parking page");
  uint64_t park = *hole;
  ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::Create(&task));
  RETURN_IF_ERROR(rs.Call("mmap", "parking page", SYS_mmap, park, kPage, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0).status());
  RETURN_IF_ERROR(task.WriteMem(park, kParkCode, sizeof kParkCode));
  RETURN_IF_ERROR(rs.Call("mprotect", "parking page", SYS_mprotect, park, kPage, PROT_READ | PROT_EXEC).status());
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage));
  itimerval zero{};
  RETURN_IF_ERROR(task.Write(RemotePtr<itimerval>(scratch), zero));
  for (int which : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF}) {
    RETURN_IF_ERROR(rs.Call("setitimer", "stop", SYS_setitimer, which, scratch, 0).status());
  }
  ASSIGN_OR_RETURN(RseqConfig rseq, task.GetRseq());
  if (rseq.address) {
    RETURN_IF_ERROR(rs.Call("rseq", "unregister", SYS_rseq, rseq.address, rseq.length, 1, rseq.signature).status());
  }
  // From here on the process has no memory of its own to go back to.
  RETURN_IF_ERROR(rs.Call("munmap", "scratch", SYS_munmap, scratch, kPage).status());
  rs.Forget();
  for (const MapEntry& e : maps) {
    if (e.IsSpecial()) continue;
    auto r = rs.Call("munmap", absl::StrFormat("%#x-%#x", e.start, e.end), SYS_munmap, e.start, e.size());
    if (!r.ok()) return absl::AbortedError(absl::StrCat("parking failed: ", r.status().message()));
  }
  user_regs_struct regs = rs.saved_regs();
  regs.rip = park;
  regs.rsp = park + kPage;
  regs.rax = SYS_pause;
  regs.orig_rax = static_cast<uint64_t>(-1);
  absl::Status s = task.SetRegs(regs);
  if (s.ok()) s = task.SetSigmask(~0ull);
  if (s.ok()) s = task.Detach();
  if (!s.ok()) return absl::AbortedError(absl::StrCat("parking failed: ", s.message()));
  return absl::OkStatus();
}

bool IsParked(pid_t pid) {
  auto maps = ReadMaps(pid);
  if (!maps.ok()) return false;
  int own = 0;
  bool park = false;
  for (const MapEntry& e : *maps) {
    if (e.IsSpecial()) continue;
    ++own;
    park = park || IsParkPage(e);
  }
  return own == 1 && park;
}

}  // namespace mosix
