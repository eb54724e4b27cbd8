// Recovery: turns a stopped, single-threaded process (the target) into the process of an
// image. The target keeps its pid, parent and the fds named in keep_fds; everything else it
// had (memory, handlers, other fds, ...) is replaced by what the image holds.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "checkpoint/creds.h"
#include "checkpoint/image_format.h"
#include "checkpoint/task.h"

namespace mosix {

struct RestoreOptions {
  // -O FD=PATH: open PATH for FD instead of what the image says (any fd, stdio included). For
  // an fd that was stdio, PATH naming the very file it was reopens it at its saved offset with
  // its saved flags; another PATH is created or appended to (read-only for fd 0).
  std::map<int, std::string> fd_overrides;
  // Target fds that stay as they are (stdio of the recovering mosrun, its channel).
  std::set<int> keep_fds = {0, 1, 2};
  // The target is the very process the image was taken from (continue after freeze, migration
  // home into the deputy): its fds are the real ones and stay all as they are, and the signals
  // pending at checkpoint time are still pending in it, so they are not queued again.
  bool same_process = false;
  // Restore as a process away from home: no fds but keep_fds (the link to the deputy), no
  // cwd, glibc's cached tid kept (it is the home pid), SIGSYS out of every mask, and at the
  // end the shim switched to remote mode with Syscall User Dispatch on.
  struct Remote {
    bool enabled = false;
    uint64_t shim_info = 0;  // address of mosix_shim_info in the image's address space
    uint64_t text_start = 0, text_end = 0;  // the shim's executable mapping
    int32_t home_pid = 0;  // what getpid() answers over there (the process may have been
                           // recovered under another pid than the one its shim started in)
  } remote;
  // Restore into the deputy of a process coming back home: its fds, cwd and umask are the real
  // ones and stay; the image's pending signals are queued; at the end the link to the remote
  // part is closed, the shim is back in home mode and the program's own SIGSYS action is back.
  struct Home {
    bool enabled = false;
    uint64_t shim_info = 0;  // address of mosix_shim_info
  } home;
  // Whose process the target is afterwards: its own (a user's recovering mosrun, a deputy), or
  // the image's owner (a stub started by root: an arrival, or a recovery that root asked for).
  // Taken on before anything of the image is opened, mapped or run.
  Identity identity = Identity::kTargetsOwn;
};

// Everything that can be checked without touching a target: the image fits this machine
// (architecture, vDSO, CPU features), mapped files and open files are there and unchanged,
// the cwd exists. A failure here means nothing was started.
absl::Status CheckRestorable(const LoadedImage& image, const RestoreOptions& options);
absl::Status CheckRestorable(const image::Manifest& manifest, const image::Core& core, const RestoreOptions& options);

// Restores image into target (seized and stopped by the caller) and detaches it, running.
// On failure after the target's memory was replaced the target cannot go on: the caller
// must kill it (the returned status says so with IsAborted).
absl::Status Restore(Task& target, const LoadedImage& image, const RestoreOptions& options);

// The same from an image stream: each batch of pages goes into the target as it arrives.
class StreamImageReader;
absl::Status RestoreFromStream(Task& target, StreamImageReader& reader, const RestoreOptions& options);

// The general form: write_pages(target) puts every page in place (on another thread, while
// the tracer thread restores the rest).
using PageWriter = std::function<absl::Status(Task& target)>;
absl::Status Restore(Task& target, const image::Manifest& manifest, const image::Core& core, const PageWriter& write_pages,
                     const RestoreOptions& options);

}  // namespace mosix
