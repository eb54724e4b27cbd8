#include "base/byte_stream.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status.h"

namespace mosix {

absl::Status ByteStream::Read(void* data, size_t len) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    absl::StatusOr<size_t> n = ReadSome(p, len);
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::DataLossError(absl::StrCat(what(), ": ended early"));
    p += *n;
    len -= *n;
  }
  return absl::OkStatus();
}

absl::Status FdStream::Write(const void* data, size_t len) { return WriteAll(fd_, data, len, what_); }

absl::StatusOr<size_t> FdStream::ReadSome(void* data, size_t len) {
  for (;;) {
    ssize_t n = ::read(fd_, data, len);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus("read", what_);
  }
}

}  // namespace mosix
