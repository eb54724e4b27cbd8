// Kernel structures the checkpointer reads and writes in a tracee, as the kernel lays them
// out (not as glibc's wrappers present them). Internal to checkpoint/.
#pragma once

#include <cstdint>

namespace mosix::internal {

// struct sigaction as rt_sigaction(2) takes it on x86_64 (8-byte signal mask).
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

// SA_RESTORER: not in glibc's headers.
constexpr uint64_t kSaRestorer = 0x04000000;

}  // namespace mosix::internal
