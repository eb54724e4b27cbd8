#include "agent/process/guest_store.h"

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {
namespace {

absl::Status Check(const GuestRecord& r, int pid) {
  if (r.version() != GuestStore::kVersion) {
    return absl::FailedPreconditionError(absl::StrCat("record version ", r.version(), ", this agent reads ", GuestStore::kVersion));
  }
  if (r.local_pid() != pid) return absl::DataLossError(absl::StrCat("it names pid ", r.local_pid()));
  if (r.home_node().empty() || r.home_pid() <= 0) return absl::InvalidArgumentError("it names no home node or pid");
  if (r.shim_info() == 0 || r.shim_text_end() <= r.shim_text_start()) return absl::InvalidArgumentError("it names no shim");
  return absl::OkStatus();
}

}  // namespace

absl::Status GuestStore::Open() { return MakeDirs(dir_, 0700); }

absl::Status GuestStore::Save(const GuestRecord& r) {
  std::string bytes;
  if (!r.SerializeToString(&bytes)) return absl::InternalError(absl::StrCat("cannot encode the record of guest ", r.local_pid()));
  return WriteFileAtomically(absl::StrCat(dir_, "/", r.local_pid()), bytes, 0600);
}

void GuestStore::Remove(pid_t local_pid) { ::unlink(absl::StrCat(dir_, "/", local_pid).c_str()); }

std::vector<GuestRecord> GuestStore::LoadAll(std::vector<std::string>* skipped) {
  std::vector<GuestRecord> out;
  auto names = NumberedEntries(dir_);
  if (!names.ok()) return out;
  for (int pid : *names) {
    std::string path = absl::StrCat(dir_, "/", pid);
    auto bytes = ReadFileToString(path);
    GuestRecord r;
    absl::Status s = absl::DataLossError("unreadable");
    if (bytes.ok() && bytes->size() < (1u << 16) && r.ParseFromString(*bytes)) s = Check(r, pid);
    if (!s.ok()) {
      skipped->push_back(absl::StrCat(path, ": ", s.message()));
      ::unlink(path.c_str());
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mosix::agent
