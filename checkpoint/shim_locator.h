// Where the shim (libmosix.so) sits in a process, and its exported descriptor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "checkpoint/procfs.h"

namespace mosix {

struct ShimLocation {
  std::string path;          // the library file
  uint64_t base = 0;         // load address (of file offset 0)
  uint64_t text_start = 0;   // its executable mapping
  uint64_t text_end = 0;
  uint64_t info = 0;         // address of mosix_shim_info
  std::vector<MapEntry> mappings;  // every mapping of the library, its bss included
};

// Finds libmosix.so in pid's address space and the address of `mosix_shim_info` in it.
// NotFound when the process has no shim (static programs, programs not under mosrun).
absl::StatusOr<ShimLocation> LocateShim(pid_t pid);

// The value of a dynamic symbol in an ELF shared object file (not relocated).
absl::StatusOr<uint64_t> DynamicSymbol(const std::string& path, const std::string& name);

}  // namespace mosix
