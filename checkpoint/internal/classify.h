// Which memory regions and fds an image can hold, and how. Shared by the dumper and the
// checkpointability check. Internal to checkpoint/.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "checkpoint/procfs.h"
#include "proto/image/files.pb.h"
#include "proto/image/mm.pb.h"

namespace mosix::internal {

// The image kind of a mapping, or FailedPrecondition saying why it cannot be stored.
absl::StatusOr<image::Vma::Kind> ClassifyVma(const MapEntry& e);

// What becomes of the fds where the image is restored.
enum class FdFate {
  kReopened,  // reopened from the image (recovery): only files can be, so pipes etc. are refused
  kStayHome,  // kept by the process at home (a move or a freeze): every kind is fine, kind HOME
  kDeputy,    // a deputy's, for a checkpoint taken away: files as for kReopened, and what a
              // recovery could not reopen as HOME instead of a refusal
};

// Reads pid's fd table into image form; FailedPrecondition for an fd that cannot be stored.
// channel_fd (if >= 0) is skipped: the restore gives the process a new channel.
absl::StatusOr<std::vector<image::Fd>> ReadFdTable(pid_t pid, int channel_fd, const std::vector<int>& skip = {},
                                                   FdFate fate = FdFate::kReopened);

// What a kernel object's fdinfo says of the files it refers to, beside the image: the inode of
// each file an epoll watches, and the file handle of each file an inotify watches (in the order
// of the image's targets and watches).
struct KernelFdRefs {
  std::vector<uint64_t> inodes;
  struct Handle {
    uint32_t kernel_dev = 0;  // the filesystem's s_dev, as the kernel encodes it
    uint64_t ino = 0;
    int type = 0;
    std::string bytes;
  };
  std::vector<Handle> handles;
};

// An fd that is a kernel object a recovery can make again (eventfd, signalfd, timerfd, epoll,
// inotify): fills e's kind and state from its fdinfo text and returns true; false for other
// objects. An inotify's watches are left without their paths (see PathOfHandle).
absl::StatusOr<bool> ParseKernelFd(const std::string& target, const std::string& info, image::Fd* e,
                                   KernelFdRefs* refs = nullptr);

// The path, as pid sees it, of the file a handle names: by open_by_handle_at (the checkpointer
// needs CAP_DAC_READ_SEARCH), else among pid's open files and its cwd (tail -f has the file it
// watches open); an error if it is gone or cannot be found.
absl::StatusOr<std::string> PathOfHandle(pid_t pid, const KernelFdRefs::Handle& h);

// The pipes and socketpairs among an image's ORPHANED fds whose both ends the process held: a
// pipe by its path (the first fd of its read end, then the first of its write end), a socketpair
// by its two sockets naming each other as peer (the lower fd first). A recovery makes each one
// pipe or socketpair again, and neither end is "not in the image".
struct WholePair {
  int first, second;
  bool socket;  // (its type is the fds')
};
std::vector<WholePair> WholePairs(const image::Files& files);

// Number of threads, from /proc/PID/task.
absl::StatusOr<int> CountThreads(pid_t pid);

}  // namespace mosix::internal
