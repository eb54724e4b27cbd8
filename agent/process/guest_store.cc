#include "agent/process/guest_store.h"

#include "absl/strings/str_cat.h"

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

absl::Status GuestStore::Open() { return records_.Open(); }

absl::Status GuestStore::Save(const GuestRecord& r) { return records_.Write(r.local_pid(), r); }

void GuestStore::Remove(pid_t local_pid) { records_.Remove(local_pid); }

std::vector<GuestRecord> GuestStore::LoadAll(std::vector<std::string>* skipped) {
  std::vector<GuestRecord> out;
  for (const auto& [pid, bytes] : records_.ReadAll(1u << 16, skipped)) {
    GuestRecord r;
    absl::Status s = r.ParseFromString(bytes) ? Check(r, pid) : absl::DataLossError("unreadable");
    if (!s.ok()) {
      skipped->push_back(absl::StrCat(records_.PathOf(pid), ": ", s.message()));
      records_.Remove(pid);
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mosix::agent
