// A few bytes of another process's memory, read or written without stopping it (the agent's
// small updates of a guest's shim_info: see interceptor/link_invariants.h).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace mosix {

absl::Status ReadProcessMemory(pid_t pid, uint64_t addr, void* buf, size_t len);
absl::Status WriteProcessMemory(pid_t pid, uint64_t addr, const void* buf, size_t len);

}  // namespace mosix
