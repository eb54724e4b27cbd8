#include "agent/file_digests.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "base/fd.h"
#include "base/status.h"

namespace mosix::agent {
namespace {

int64_t Ns(const timespec& t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

absl::StatusOr<uint32_t> CrcOfFile(int fd, off_t size, const std::string& path) {
  if (size == 0) return 0u;
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return ErrnoStatus("mmap", path);
  uint32_t crc = Crc32c(0, p, static_cast<size_t>(size));
  ::munmap(p, static_cast<size_t>(size));
  return crc;
}

}  // namespace

absl::StatusOr<MappedFile> FileDigests::Describe(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path);
  if (!S_ISREG(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  MappedFile out;
  out.set_path(path);
  out.set_size(static_cast<uint64_t>(st.st_size));
  out.set_mtime_ns(Ns(st.st_mtim));
  Key key{st.st_dev, st.st_ino, st.st_size, Ns(st.st_mtim), Ns(st.st_ctim)};
  {
    absl::MutexLock lock(&mu_);
    auto it = crcs_.find(key);
    if (it != crcs_.end()) {
      out.set_crc32c(it->second);
      return out;
    }
  }
  ASSIGN_OR_RETURN(uint32_t crc, CrcOfFile(fd.get(), st.st_size, path));
  out.set_crc32c(crc);
  absl::MutexLock lock(&mu_);
  crcs_[key] = crc;
  return out;
}

bool FileDigests::IsHere(const MappedFile& f) {
  struct stat st;
  // The cheap refusal first: most files that differ differ in size or mtime.
  if (::stat(f.path().c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != f.size() || Ns(st.st_mtim) != f.mtime_ns()) {
    return false;
  }
  auto here = Describe(f.path());
  return here.ok() && here->size() == f.size() && here->mtime_ns() == f.mtime_ns() && here->crc32c() == f.crc32c();
}

std::vector<std::string> FileDigests::SameHere(const google::protobuf::RepeatedPtrField<MappedFile>& files) {
  std::vector<std::string> same;
  for (const MappedFile& f : files) {
    if (IsHere(f)) same.push_back(f.path());
  }
  return same;
}

}  // namespace mosix::agent
