#include "checkpoint/process_memory.h"

#include <sys/uio.h>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace mosix {

absl::Status ReadProcessMemory(pid_t pid, uint64_t addr, void* buf, size_t len) {
  iovec here{buf, len};
  iovec there{reinterpret_cast<void*>(addr), len};
  ssize_t n = ::process_vm_readv(pid, &here, 1, &there, 1, 0);
  if (n < 0) return ErrnoStatus("process_vm_readv", absl::StrCat("pid ", pid));
  if (static_cast<size_t>(n) != len) return absl::DataLossError(absl::StrCat("pid ", pid, ": short read of its memory"));
  return absl::OkStatus();
}

absl::Status WriteProcessMemory(pid_t pid, uint64_t addr, const void* buf, size_t len) {
  iovec here{const_cast<void*>(buf), len};
  iovec there{reinterpret_cast<void*>(addr), len};
  ssize_t n = ::process_vm_writev(pid, &here, 1, &there, 1, 0);
  if (n < 0) return ErrnoStatus("process_vm_writev", absl::StrCat("pid ", pid));
  if (static_cast<size_t>(n) != len) return absl::DataLossError(absl::StrCat("pid ", pid, ": short write of its memory"));
  return absl::OkStatus();
}

}  // namespace mosix
