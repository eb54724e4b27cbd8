#include "checkpoint/deputy.h"

#include <cstddef>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "checkpoint/internal/release.h"
#include "checkpoint/internal/syscall_restart.h"
#include "checkpoint/procfs.h"
#include "checkpoint/remote_syscalls.h"
#include "interceptor/link_invariants.h"
#include "interceptor/shim_info.h"

namespace mosix {
namespace {

constexpr uint64_t kStackSize = 256 * 1024;

}  // namespace

absl::Status InjectConnection(Task& task, const sockaddr* addr, socklen_t len, int fd, const std::string& first_bytes,
                              int type, uint64_t gadget) {
  if (first_bytes.size() > 1024) return absl::InvalidArgumentError("too many first bytes for an injected connection");
  ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::Create(&task, gadget));
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(4096));
  RETURN_IF_ERROR(task.WriteMem(scratch, addr, len));
  ASSIGN_OR_RETURN(long s, rs.Call("socket", "link", SYS_socket, addr->sa_family, type | SOCK_CLOEXEC, 0));
  auto connected = rs.Call("connect", "link", SYS_connect, s, scratch, len);
  absl::Status status = connected.status();
  if (status.ok() && addr->sa_family == AF_INET) {
    // Request/response traffic: no Nagle delay on the deputy's replies.
    int one = 1;
    RETURN_IF_ERROR(task.WriteMem(scratch + 512, &one, sizeof one));
    (void)rs.Raw(SYS_setsockopt, s, IPPROTO_TCP, TCP_NODELAY, scratch + 512, sizeof one);
  }
  if (status.ok() && !first_bytes.empty()) {
    RETURN_IF_ERROR(task.WriteMem(scratch + 1024, first_bytes.data(), first_bytes.size()));
    auto sent = rs.Call("write", "link", SYS_write, s, scratch + 1024, first_bytes.size());
    if (sent.ok() && *sent != static_cast<long>(first_bytes.size())) sent = absl::UnavailableError("link: short write of its first bytes");
    status = sent.status();
  }
  if (status.ok() && s != fd) status = rs.Call("dup3", "link", SYS_dup3, s, fd, O_CLOEXEC).status();
  if (s != fd) (void)rs.Raw(SYS_close, s);
  return status;
}

absl::Status Deputize(Task& task, const ShimLocation& shim, int link_fd, bool itimers_armed) {
  ASSIGN_OR_RETURN(mosix_shim_info info, task.Read(RemotePtr<mosix_shim_info>(shim.info)));
  if (info.version != MOSIX_SHIM_INFO_VERSION || info.deputy_entry < shim.text_start || info.deputy_entry >= shim.text_end) {
    return absl::FailedPreconditionError(absl::StrCat("pid ", task.pid(), ": its shim cannot act as a deputy (version ", info.version, ")"));
  }
  ASSIGN_OR_RETURN(std::vector<MapEntry> maps, ReadMaps(task.pid()));
  ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::CreateInVdso(&task));
  // Its POSIX timers went with the process (in its image): here they would fire twice.
  if (auto timers = ReadPosixTimers(task.pid()); timers.ok()) {
    for (const PosixTimerInfo& t : *timers) (void)rs.Raw(SYS_timer_delete, t.id);
  }
  ASSIGN_OR_RETURN(uint64_t stack, internal::MapHole(task, rs, maps, kStackSize, PROT_READ | PROT_WRITE));
  std::vector<internal::Range> keep = {{stack, stack + kStackSize}};
  for (const MapEntry& e : shim.mappings) keep.push_back({e.start, e.end});
  if (auto args = internal::ArgumentPages(task.pid()); args.ok()) keep.push_back(*args);
  // At a function's entry rsp + 8 is 16-byte aligned (as after a call).
  // The deputy frees the program's memory itself: a big process is running over there before
  // its memory here is gone.
  return internal::ReleaseAndJump(task, rs, maps, keep, info.deputy_entry, stack + kStackSize - 8, link_fd,
                                  internal::Releaser::kProcess, /*stop_itimers=*/itimers_armed);
}

absl::StatusOr<Task> HoldDeputy(pid_t pid, uint64_t shim_info, uint32_t* answered_id) {
  for (int attempt = 0; attempt < 400; ++attempt) {
    ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
    ASSIGN_OR_RETURN(mosix_shim_info info, task.Read(RemotePtr<mosix_shim_info>(shim_info)));
    bool restartable = false;
    if (info.serving_id != 0 && info.in_call) {
      user_regs_struct regs;
      RETURN_IF_ERROR(task.GetRegs(&regs));
      restartable = task.call_rewound() ||
                    (static_cast<long>(regs.orig_rax) >= 0 && internal::IsRestartReturn(static_cast<long>(regs.rax)));
    }
    if (link::DeputyMayHold(info, restartable)) {
      *answered_id = info.answered_id;
      return task;
    }
    RETURN_IF_ERROR(task.Detach());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::UnavailableError(absl::StrCat("pid ", pid, "'s deputy stays busy with a call; try again"));
}

absl::Status BumpLinkEpoch(Task& task, uint64_t shim_info) {
  RemotePtr<uint32_t> at(shim_info + offsetof(mosix_shim_info, link_epoch));
  ASSIGN_OR_RETURN(uint32_t epoch, task.Read(at));
  return task.Write(at, epoch + 1);
}

absl::StatusOr<Task> HoldDeputyForRelink(pid_t pid, uint64_t shim_info) {
  for (int attempt = 0; attempt < 400; ++attempt) {
    ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
    ASSIGN_OR_RETURN(mosix_shim_info info, task.Read(RemotePtr<mosix_shim_info>(shim_info)));
    if (link::DeputyMayRelink(info)) return task;
    RETURN_IF_ERROR(task.Detach());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::UnavailableError(absl::StrCat("pid ", pid, "'s deputy stays in the middle of a message on its link; try again"));
}

}  // namespace mosix
