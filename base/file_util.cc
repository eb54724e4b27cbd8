#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace mosix {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_CLOEXEC));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path);
    }
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

absl::Status WriteAll(int fd, const void* data, size_t len, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", what);
    }
    p += n;
    len -= n;
  }
  return absl::OkStatus();
}

absl::Status PwriteAll(int fd, std::vector<WritePart> parts, uint64_t offset, const std::string& what) {
  size_t first = 0;  // parts before it are written
  while (first < parts.size()) {
    iovec iov[IOV_MAX];
    int n = 0;
    for (size_t k = first; k < parts.size() && n < IOV_MAX; ++k) iov[n++] = {const_cast<void*>(parts[k].data), parts[k].len};
    ssize_t w = ::pwritev(fd, iov, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pwritev", what);
    }
    if (w == 0) return absl::DataLossError(absl::StrCat("pwritev ", what, ": wrote nothing"));
    offset += static_cast<uint64_t>(w);
    for (size_t done = static_cast<size_t>(w); done > 0 && first < parts.size();) {
      size_t take = std::min(done, parts[first].len);
      parts[first].data = static_cast<const char*>(parts[first].data) + take;
      parts[first].len -= take;
      done -= take;
      if (parts[first].len == 0) ++first;
    }
    while (first < parts.size() && parts[first].len == 0) ++first;
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, void* data, size_t len, const std::string& what) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", what);
    }
    if (n == 0) return absl::OutOfRangeError(absl::StrCat("read ", what, ": unexpected end of file"));
    p += n;
    len -= n;
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) return ErrnoStatus("open", path);
  return UniqueFd(fd);
}

absl::Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", path);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& data, int mode) {
  std::string tmp = path + ".new";
  {
    auto fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (!fd.ok()) return fd.status();
    if (auto s = WriteAll(fd->get(), data.data(), data.size(), tmp); !s.ok()) return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", tmp);
  return absl::OkStatus();
}

}  // namespace mosix
