// Address-space arithmetic for the restore: holes, and the kernel's special mappings.
// Internal to checkpoint/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "checkpoint/procfs.h"
#include "proto/image/mm.pb.h"

namespace mosix::internal {

struct Range {
  uint64_t start, end;
};

// The lowest address >= from where `size` bytes fit without touching any of `used`.
std::optional<uint64_t> FindHole(std::vector<Range> used, uint64_t size, uint64_t from, uint64_t limit);

// The parts of [from.start, from.end) outside every range of `minus`, in address order.
std::vector<Range> Subtract(Range from, std::vector<Range> minus);

// The special mappings ([vvar], [vvar_vclock], [vdso]) in address order.
struct SpecialMapping {
  std::string name;
  uint64_t start, end;
};
std::vector<SpecialMapping> SpecialsOf(const std::vector<MapEntry>& maps);
std::vector<SpecialMapping> SpecialsOf(const image::Mm& mm);

// OK when two layouts have the same special mappings with the same sizes and the same
// distances between them (so the vDSO's relative references to its data still hold).
absl::Status SameSpecialLayout(const std::vector<SpecialMapping>& here, const std::vector<SpecialMapping>& image);

}  // namespace mosix::internal
