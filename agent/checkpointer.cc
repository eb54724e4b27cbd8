#include "agent/checkpointer.h"

#include "agent/mover.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "checkpoint/creds.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "base/status.h"
#include "interceptor/channel_protocol.h"

namespace mosix::agent {

Checkpointer::~Checkpointer() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<DumpResult> Checkpointer::Checkpoint(pid_t pid, const std::string& path) {
  ASSIGN_OR_RETURN(ProcessEntry entry, table_->Acquire(pid));
  if (entry.state == ProcState::kFrozen) {
    table_->Release(entry);
    return absl::FailedPreconditionError(
        absl::StrCat("pid ", pid, " is frozen; its image is ", entry.frozen_image, " (migrate ", pid, " continue first)"));
  }
  DumpOptions options;
  // Checkpoints are the owner's files, written with her rights (its home process, or its
  // deputy while it is away, has her credentials).
  auto creds = ReadCredentials(pid);
  if (!creds.ok()) {
    table_->Release(entry);
    return creds.status();
  }
  options.file_owner = FileIdentity(*creds);
  uint32_t n = entry.options.checkpoint_count() + 1;
  if (!path.empty()) {
    options.path = path;
  } else if (!entry.options.checkpoint_file().empty()) {
    options.path = absl::StrCat(entry.options.checkpoint_file(), ".", n);
  } else {
    auto dir = UserCheckpointDir(creds->uid(), creds->gid());
    if (!dir.ok()) {
      table_->Release(entry);
      return dir.status();
    }
    options.path = absl::StrCat(*dir, "/", pid, ".", n);
  }
  options.channel_fd = entry.ChannelFdInProcess();
  image::MosixOptions saved = entry.options;
  saved.set_checkpoint_count(n);
  options.mosix_options = saved;
  absl::StatusOr<DumpResult> result;
  if (entry.state == ProcState::kRemote) {
    // Taken where it runs and streamed here, with what its deputy holds (fds, cwd): its deputy
    // continues from it when that node is gone, and mosrun -R can recover it as any other.
    auto bytes = mover_ ? mover_->CheckpointRemote(entry, options.path, saved, *options.file_owner)
                        : absl::StatusOr<uint64_t>(absl::InternalError("no mover"));
    if (bytes.ok()) {
      DumpResult taken;
      taken.path = options.path;
      taken.bytes = *bytes;
      taken.syscall_note = "taken on " + entry.where;
      result = taken;
    } else {
      result = bytes.status();
    }
  } else {
    result = Dump(pid, options);
  }
  if (result.ok()) {
    entry.options.set_checkpoint_count(n);
    entry.last_checkpoint = result->path;
  }
  if (entry.options.checkpoint_interval_s() > 0) {
    entry.next_checkpoint = std::chrono::steady_clock::now() +
                            std::chrono::milliseconds(static_cast<int64_t>(entry.options.checkpoint_interval_s() * 1000));
  }
  table_->Release(entry);
  if (!result.ok()) return Annotate(result.status(), absl::StrCat("cannot checkpoint pid ", pid));
  return result;
}

absl::StatusOr<std::string> Checkpointer::UserCheckpointDir(uid_t uid, gid_t gid) {
  std::string top = absl::StrCat(state_dir_, "/checkpoints");
  RETURN_IF_ERROR(MakeDirs(top, 0711));
  std::string dir = absl::StrCat(top, "/", uid);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", dir);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return absl::InternalError(absl::StrCat(dir, " is not a directory"));
  if ((st.st_uid != uid || st.st_gid != gid) && ::chown(dir.c_str(), uid, gid) != 0) return ErrnoStatus("chown", dir);
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus("chmod", dir);
  return dir;
}

void Checkpointer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Checkpointer::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
    for (const ProcessEntry& e : table_->Reap()) {
      if (!e.frozen_image.empty()) ::unlink(e.frozen_image.c_str());
      if (mover_) mover_->DeputyGone(e);
    }
    table_->AdoptNewborns(std::chrono::steady_clock::now());
    table_->FlushRecords(std::chrono::steady_clock::now());
    for (pid_t pid : table_->Due(std::chrono::steady_clock::now())) {
      auto r = Checkpoint(pid);
      if (!r.ok()) {
        fprintf(stderr, "mosixd: periodic checkpoint: %s\n", std::string(r.status().message()).c_str());
      }
    }
  }
}

}  // namespace mosix::agent
