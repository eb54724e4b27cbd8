// Runs fn(0) .. fn(n-1) on up to `threads` threads; returns the first error (all still run).
#pragma once

#include <cstddef>
#include <functional>

#include "absl/status/status.h"

namespace mosix {

absl::Status ParallelFor(size_t n, int threads, const std::function<absl::Status(size_t)>& fn);

// Threads worth using for memory-bound copies on this machine (its CPUs, at most 4).
int CopyThreads();

}  // namespace mosix
