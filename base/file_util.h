// Small file helpers with Status errors that name the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/fd.h"

namespace mosix {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);
absl::Status WriteAll(int fd, const void* data, size_t len, const std::string& what);
// Writes every byte of `parts`, one after the other, at `offset` of fd (pwritev, resumed after
// a short write or EINTR).
struct WritePart {
  const void* data;
  size_t len;
};
absl::Status PwriteAll(int fd, std::vector<WritePart> parts, uint64_t offset, const std::string& what);
absl::Status ReadAll(int fd, void* data, size_t len, const std::string& what);
absl::StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, int mode = 0644);
// Writes `data` to path.new, then renames it over path: a reader sees the old or the new file,
// never half of one.
absl::Status WriteFileAtomically(const std::string& path, const std::string& data, int mode = 0600);
// mkdir -p.
absl::Status MakeDirs(const std::string& path, int mode = 0755);

}  // namespace mosix
