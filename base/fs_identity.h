// Acting on files as another user: for the time a ScopedFsIdentity lives, this thread's file
// system uid and gid and its supplementary groups are a user's, so opens, creates, renames and
// unlinks are checked against her rights, and what is created is hers. Other threads of the
// process are untouched (raw system calls: glibc would change every thread), but a thread
// started inside the scope inherits the identity: start none there. As knfsd does.
#pragma once

#include <sys/types.h>

#include <vector>

#include "absl/status/status.h"

namespace mosix {

struct FsIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

class ScopedFsIdentity {
 public:
  // Takes on `who` (nullptr: stays as it is). status() says whether that worked; on failure
  // the thread is as before.
  explicit ScopedFsIdentity(const FsIdentity* who);
  ~ScopedFsIdentity();
  ScopedFsIdentity(const ScopedFsIdentity&) = delete;
  ScopedFsIdentity& operator=(const ScopedFsIdentity&) = delete;

  const absl::Status& status() const { return status_; }

 private:
  void Restore();

  bool active_ = false;
  uid_t old_uid_ = 0;
  gid_t old_gid_ = 0;
  std::vector<gid_t> old_groups_;
  absl::Status status_;
};

}  // namespace mosix
