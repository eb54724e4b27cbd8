// Checkpoint: freezes a running process, writes its image, and lets it go on.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/fs_identity.h"
#include "checkpoint/image_format.h"
#include "proto/image/process.pb.h"

namespace mosix {

struct DumpOptions {
  std::string path;                  // the image file to write
  // ... created as this user, with her rights (the process's owner), where given.
  std::optional<FsIdentity> file_owner;
  std::string reason = "checkpoint";  // recorded in the manifest
  int channel_fd = -1;               // the shim's channel fd: exempt from the socket rule
  image::MosixOptions mosix_options;  // carried in the image
  // Leave the process stopped and traced-free (SIGSTOP'd) instead of running; for migration.
  bool leave_stopped = false;
  // Store the contents of file mappings too (as anonymous memory), so the image needs none of
  // the process's files where it is restored: for moves to other nodes.
  bool inline_files = false;
  // ... except these files, which the node it goes to has too (the same bytes): they stay
  // file mappings.
  std::set<std::string> files_there;
  // Address of a `syscall` instruction to inject through (0: find one). A process away from
  // home must be given one in its shim's text: Syscall User Dispatch traps any other.
  uint64_t syscall_gadget = 0;
  // Write into this sink (a stream) instead of the file at `path`.
  ImageSink* sink = nullptr;
  // More fds that are mosix's own, not the program's (the link, during a move).
  std::vector<int> skip_fds;
  // The fds stay open at home (a move: the deputy keeps them; a freeze: the parked process
  // does), so any kind is fine, pipes and sockets too; they are recorded as kind HOME.
  bool fds_stay_home = false;
  // Called on the core just before it is written (a stream writes it before the pages).
  std::function<void(image::Core*)> amend_core;
};

struct DumpResult {
  std::string path;
  uint64_t bytes = 0;
  uint64_t pages = 0;
  double seconds = 0;
  std::string syscall_note;
  bool itimers_armed = false;  // an interval timer (setitimer) was running
  int posix_timers = 0;        // POSIX timers it had (timer_create)
  // What will not come back as it was, one line each (fds whose other end stays behind,
  // children, a session it leads): for whoever asked for the checkpoint.
  std::vector<std::string> notes;
};

// Those lines, from an image's core.
std::vector<std::string> NotIncluded(const image::Core& core);

// Writes an image of pid. A process that cannot be checkpointed (multi-threaded, writable
// shared file mapping, SysV shared memory, a socket or pipe other than stdio, ...) is refused
// with FailedPrecondition and a one-line reason; no image is written and the process goes on.
absl::StatusOr<DumpResult> Dump(pid_t pid, const DumpOptions& options);

// The same for a process the caller has seized and keeps attached (freeze, migration).
class Task;
absl::StatusOr<DumpResult> DumpAttached(Task& task, const DumpOptions& options);

// The same refusal rules, checked from /proc alone without stopping the process: OK, or the
// reason it cannot be checkpointed now.
absl::Status CheckCheckpointable(pid_t pid, int channel_fd);

// The same for a move to another node, where the fds stay at home (a signalfd cannot: its
// reads would wait at home for signals that go to the process away).
absl::Status CheckMovable(pid_t pid, int channel_fd);

// What the home node knows of a process away, read from its deputy (held still by the
// caller): the fds (all but `skip`) with their offsets, cwd and umask, in image form. Fds that
// a recovery could not reopen (pipes, sockets, ...) are recorded as HOME: mosrun -R refuses
// such an image with a message naming the fd, but the deputy can still continue from it.
absl::StatusOr<image::Core> DescribeDeputy(pid_t deputy, const std::vector<int>& skip);

}  // namespace mosix
