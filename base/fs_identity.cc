#include "base/fs_identity.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace mosix {
namespace {

// setfsuid/setfsgid answer the previous value and never fail visibly: asking again with an
// invalid id (-1) reads the current one back.
long FsUid(uid_t uid) { return syscall(SYS_setfsuid, uid); }
long FsGid(gid_t gid) { return syscall(SYS_setfsgid, gid); }

}  // namespace

ScopedFsIdentity::ScopedFsIdentity(const FsIdentity* who) {
  if (!who) return;
  int n = static_cast<int>(syscall(SYS_getgroups, 0, nullptr));
  if (n < 0) {
    status_ = ErrnoStatus("getgroups", "this thread");
    return;
  }
  old_groups_.resize(n);
  if (n > 0 && syscall(SYS_getgroups, n, old_groups_.data()) != n) {
    status_ = ErrnoStatus("getgroups", "this thread");
    return;
  }
  old_gid_ = static_cast<gid_t>(FsGid(static_cast<gid_t>(-1)));
  old_uid_ = static_cast<uid_t>(FsUid(static_cast<uid_t>(-1)));
  std::vector<gid_t> want = who->groups, have = old_groups_;
  std::sort(want.begin(), want.end());
  std::sort(have.begin(), have.end());
  if (who->uid == old_uid_ && who->gid == old_gid_ && want == have) return;  // already so
  active_ = true;
  // Groups and gid first: once the fsuid is not root, changing them may be refused.
  if (syscall(SYS_setgroups, who->groups.size(), who->groups.data()) != 0) {
    status_ = ErrnoStatus("setgroups", absl::StrCat("uid ", who->uid));
    Restore();
    return;
  }
  FsGid(who->gid);
  FsUid(who->uid);
  if (static_cast<uid_t>(FsUid(static_cast<uid_t>(-1))) != who->uid ||
      static_cast<gid_t>(FsGid(static_cast<gid_t>(-1))) != who->gid) {
    status_ = absl::PermissionDeniedError(absl::StrCat("cannot act as uid ", who->uid, " gid ", who->gid));
    Restore();
  }
}

void ScopedFsIdentity::Restore() {
  if (!active_) return;
  FsUid(old_uid_);
  FsGid(old_gid_);
  (void)syscall(SYS_setgroups, old_groups_.size(), old_groups_.data());
  active_ = false;
}

ScopedFsIdentity::~ScopedFsIdentity() { Restore(); }

}  // namespace mosix
