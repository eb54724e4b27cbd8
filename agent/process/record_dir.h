// A directory of small records, one file per process (DIR/PID), each replaced whole (written
// beside, then renamed), as the agent's process table and its guests keep them on disk. What is
// read back is untrusted: the caller parses and checks it; a damaged file loses one record.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"

namespace mosix::agent {

class RecordDir {
 public:
  explicit RecordDir(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Open();  // makes the directory (0700)
  absl::Status Write(pid_t pid, const google::protobuf::MessageLite& record);
  void Remove(pid_t pid);
  // Each file named by a pid, with its bytes (files of more than max_bytes, or that cannot be
  // read, are reported in `skipped` and removed, as is anything not named by a pid: a file a
  // crash left half written).
  std::vector<std::pair<pid_t, std::string>> ReadAll(size_t max_bytes, std::vector<std::string>* skipped);
  std::string PathOf(pid_t pid) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace mosix::agent
