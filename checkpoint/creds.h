// A process's credentials: read from /proc, and taken on by a process being restored. Every
// change is made by the process to itself, through injected calls: the agent never needs a
// privilege it lacks for another uid (root here has no CAP_SYS_RESOURCE), and nothing in the
// process's own memory decides who it is.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "base/fs_identity.h"
#include "checkpoint/remote_syscalls.h"
#include "proto/image/core.pb.h"
#include "proto/image/creds.pb.h"

namespace mosix {

// The Uid/Gid/Groups/Cap*/NoNewPrivs lines of /proc/PID/status.
absl::StatusOr<image::Credentials> ParseCredentials(const std::string& status_text);
absl::StatusOr<image::Credentials> ReadCredentials(pid_t pid);

// Whether a caller whose (effective) uid is `uid` may act on a process with these
// credentials: the kernel's rule for kill(2), which MOSIX's is ("if you can kill it, you can
// migrate it"): root, or the caller's uid is the process's real or saved uid.
bool MayControl(uid_t uid, const image::Credentials& target);

// Who files of a process are created as: its fs uid and gid and its groups.
FsIdentity FileIdentity(const image::Credentials& c);

// Whether all of the process's uids are one and all its gids are one (not a set-user-ID or
// set-group-ID program between identities).
bool SingleIdentity(const image::Credentials& c);

// What a restore does about the target's identity.
enum class Identity {
  // The target keeps its own (the recovering user's mosrun, or the deputy coming home);
  // only what can only take rights away (no_new_privs) comes from the image.
  kTargetsOwn,
  // The target, a root-owned stub, becomes the image's owner: groups, gids, uids, then
  // capabilities no more than the image's (none unless the owner is root), no_new_privs,
  // dumpable again. Checked afterwards from /proc.
  kImageOwner,
};

// Applies `identity` to the seized target through rs, with scratch memory at `scratch`.
absl::Status TakeIdentity(RemoteSyscalls& rs, uint64_t scratch, const image::Credentials& creds, Identity identity);

// Sets the image's resource limits from inside the target, no higher than the target may:
// a hard limit above the target's current one is held at it (the soft one too). `code` and
// `table` are the batch areas (see RemoteSyscalls::Batch); scratch holds the structs.
absl::Status SetRlimits(RemoteSyscalls& rs, uint64_t code, uint64_t table, uint64_t scratch, const image::Rlimits& limits);

}  // namespace mosix
