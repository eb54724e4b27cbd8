#include "agent/process/table_store.h"

#include "absl/strings/str_cat.h"
#include "agent/process_table.h"
#include "base/status.h"

namespace mosix::agent {
namespace {

constexpr uint32_t kRecordVersion = 1;

ProcessRecord::State ToProto(ProcState s) {
  switch (s) {
    case ProcState::kHome:
      return ProcessRecord::HOME;
    case ProcState::kFrozen:
      return ProcessRecord::FROZEN;
    case ProcState::kRemote:
      return ProcessRecord::REMOTE;
  }
  return ProcessRecord::HOME;
}

}  // namespace

ProcessRecord ToRecord(const ProcessEntry& e) {
  ProcessRecord r;
  r.set_version(kRecordVersion);
  r.set_pid(e.pid);
  r.set_start_time(e.start_time);
  for (const std::string& a : e.argv) r.add_argv(a);
  *r.mutable_options() = e.options;
  r.set_state(ToProto(e.state));
  r.set_frozen_image(e.frozen_image);
  r.set_where(e.where);
  r.set_remote_pid(e.remote_pid);
  r.set_run_on(e.run_on);
  r.set_shim_info(e.shim_info);
  r.set_shim_text_start(e.shim_text_start);
  r.set_shim_text_end(e.shim_text_end);
  for (const auto& [start, end] : e.shim_ranges) {
    ProcessRecord::Range* range = r.add_shim_ranges();
    range->set_start(start);
    range->set_end(end);
  }
  for (const MappedFile& f : e.mapped_files) *r.add_mapped_files() = f;
  r.set_program(e.program);
  r.set_cpu_elsewhere(e.cpu_elsewhere);
  r.set_last_checkpoint(e.last_checkpoint);
  r.set_moves(e.moves);
  for (const ProcessEntry::Left& l : e.left) r.add_left_nodes(l.node);
  if (!e.left.empty()) r.set_left_node(e.left.back().node);
  return r;
}

absl::StatusOr<ProcessEntry> FromRecord(const ProcessRecord& r) {
  if (r.version() != kRecordVersion) {
    return absl::FailedPreconditionError(absl::StrCat("record version ", r.version(), ", this agent reads ", kRecordVersion));
  }
  if (r.pid() <= 0) return absl::InvalidArgumentError(absl::StrCat("bad pid ", r.pid()));
  ProcessEntry e;
  e.pid = r.pid();
  e.start_time = r.start_time();
  e.argv.assign(r.argv().begin(), r.argv().end());
  e.options = r.options();
  switch (r.state()) {
    case ProcessRecord::HOME:
      e.state = ProcState::kHome;
      break;
    case ProcessRecord::FROZEN:
      e.state = ProcState::kFrozen;
      if (r.frozen_image().empty()) return absl::InvalidArgumentError("frozen without an image");
      break;
    case ProcessRecord::REMOTE:
      e.state = ProcState::kRemote;
      if (r.where().empty() || r.remote_pid() <= 0 || r.shim_info() == 0) {
        return absl::InvalidArgumentError("away without its node, its pid there or its shim");
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown state ", r.state()));
  }
  e.frozen_image = r.frozen_image();
  e.where = r.where();
  e.remote_pid = r.remote_pid();
  e.run_on = r.run_on();
  e.shim_info = r.shim_info();
  e.shim_text_start = r.shim_text_start();
  e.shim_text_end = r.shim_text_end();
  for (const auto& range : r.shim_ranges()) {
    if (range.end() <= range.start()) return absl::InvalidArgumentError("an empty shim range");
    e.shim_ranges.emplace_back(range.start(), range.end());
  }
  e.mapped_files.assign(r.mapped_files().begin(), r.mapped_files().end());
  e.program = r.program();
  e.cpu_elsewhere = r.cpu_elsewhere();
  e.last_checkpoint = r.last_checkpoint();
  e.moves = r.moves();
  e.here_since = std::chrono::steady_clock::now();
  // (A record of an agent that kept only the last node has left_node alone.)
  if (r.left_nodes().empty() && !r.left_node().empty()) e.RememberLeft(r.left_node(), e.here_since);
  for (const std::string& node : r.left_nodes()) e.RememberLeft(node, e.here_since);
  return e;
}

absl::Status TableStore::Open() { return records_.Open(); }

absl::Status TableStore::Save(const ProcessEntry& e) { return records_.Write(e.pid, ToRecord(e)); }

void TableStore::Remove(pid_t pid) { records_.Remove(pid); }

std::vector<ProcessEntry> TableStore::LoadAll(std::vector<std::string>* skipped) {
  std::vector<ProcessEntry> out;
  for (const auto& [pid, bytes] : records_.ReadAll(1u << 20, skipped)) {
    ProcessRecord r;
    absl::StatusOr<ProcessEntry> e = absl::DataLossError("unreadable");
    if (r.ParseFromString(bytes)) e = FromRecord(r);
    if (e.ok() && e->pid != pid) e = absl::DataLossError(absl::StrCat("it names pid ", e->pid));
    if (!e.ok()) {
      skipped->push_back(absl::StrCat(records_.PathOf(pid), ": ", e.status().message()));
      records_.Remove(pid);
      continue;
    }
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace mosix::agent
