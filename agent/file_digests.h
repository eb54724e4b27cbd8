// Checksums of whole files, remembered while a file keeps its identity (device, inode, size,
// mtime, ctime). A move tells the target which files the process maps; the target says which
// of them it has byte for byte, and those are mapped from there instead of being sent.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/agent.pb.h"

namespace mosix::agent {

class FileDigests {
 public:
  // The file at `path` as this node sees it: size, mtime and CRC-32C of all its bytes.
  absl::StatusOr<MappedFile> Describe(const std::string& path);

  // Whether this node has `file` (described here earlier, or on another node) with the same
  // size, mtime and contents. A file that cannot be read here is not.
  bool IsHere(const MappedFile& file);
  // The paths of `files` that are here.
  std::vector<std::string> SameHere(const google::protobuf::RepeatedPtrField<MappedFile>& files);

 private:
  using Key = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;  // dev, inode, size, mtime, ctime
  absl::Mutex mu_;
  std::map<Key, uint32_t> crcs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mosix::agent
