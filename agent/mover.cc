#include "agent/mover.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "agent/cluster_config.h"
#include "agent/internal/arrival_client.h"
#include "agent/peers.h"
#include "agent/transport/chunk_stream.h"
#include "base/file_util.h"
#include "base/net.h"
#include "base/fs_identity.h"
#include "base/status.h"
#include "checkpoint/deputy.h"
#include "checkpoint/dump.h"
#include "checkpoint/image_stream.h"
#include "checkpoint/remote_syscalls.h"
#include "checkpoint/shim_locator.h"
#include "checkpoint/image_format.h"
#include "checkpoint/park.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "interceptor/channel_protocol.h"
#include "interceptor/shim_info.h"
#include "interceptor/forward_protocol.h"
#include "proto/agent.grpc.pb.h"

namespace mosix::agent {

namespace {

using internal::Arrival;
using internal::FinishDeparture;
using internal::FromGrpc;
using internal::Unreachable;

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

absl::StatusOr<MoveResult> Mover::Move(pid_t pid, const std::string& target) {
  ASSIGN_OR_RETURN(ProcessEntry entry, table_->Acquire(pid));
  const std::string was_on = entry.state == ProcState::kRemote ? entry.where : map_.this_node();
  const ProcState was = entry.state;
  absl::StatusOr<MoveResult> result;
  if (target == "freeze") {
    if (entry.state == ProcState::kFrozen) {
      result = absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is frozen already"));
    } else if (entry.state == ProcState::kRemote) {
      result = absl::FailedPreconditionError(absl::StrCat("pid ", pid, " runs on ", entry.where, " (migrate ", pid, " home first)"));
    } else {
      result = Freeze(entry);
    }
  } else if (target == "continue" || target == "home" || target == map_.this_node()) {
    if (entry.state == ProcState::kFrozen) {
      result = Continue(entry);
    } else if (entry.state == ProcState::kRemote && target != "continue") {
      result = BackHome(entry);
    } else {
      result = absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is running at home already"));
    }
  } else if (const cluster::Node* node = FindNode(map_, target)) {
    if (entry.state == ProcState::kFrozen) {
      result = absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is frozen (migrate ", pid, " continue first)"));
    } else if (entry.state == ProcState::kRemote) {
      result = entry.where == target ? absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is on ", target, " already"))
                                     : OnToNode(entry, *node);
    } else {
      result = ToNode(entry, *node);
    }
  } else {
    std::vector<std::string> names;
    for (const auto& n : map_.nodes()) names.push_back(n.name());
    result = absl::NotFoundError(absl::StrCat("no node '", target, "' in the cluster (nodes: ", absl::StrJoin(names, " "),
                                              "; or freeze, continue, home, checkpoint)"));
  }
  // A move from one node to another (not a freeze or its undoing): counted, and remembered
  // for the decisions (decide/).
  std::string now_on = entry.state == ProcState::kRemote ? entry.where : map_.this_node();
  if (result.ok() && was != ProcState::kFrozen && entry.state != ProcState::kFrozen && now_on != was_on) {
    entry.moves++;
    entry.here_since = std::chrono::steady_clock::now();
    entry.RememberLeft(was_on, entry.here_since);
    if (observer_) observer_(entry.state == ProcState::kHome, *result);
  }
  table_->Release(entry);
  TellEndIfAny(pid);
  return result;
}

absl::StatusOr<MoveResult> Mover::MoveWhenFree(pid_t pid, const std::string& target) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<MoveResult> r = Move(pid, target);
    if (r.ok() || !absl::IsAborted(r.status()) || attempt == 200) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

absl::StatusOr<MoveResult> Mover::Freeze(ProcessEntry& entry) {
  auto t0 = std::chrono::steady_clock::now();
  std::string dir = state_dir_ + "/frozen";
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  DumpOptions options;
  options.path = absl::StrCat(dir, "/", entry.pid, ".img");
  options.reason = "freeze";
  options.fds_stay_home = true;
  options.channel_fd = entry.ChannelFdInProcess();
  options.mosix_options = entry.options;
  ASSIGN_OR_RETURN(Task task, Task::Seize(entry.pid));
  auto dumped = DumpAttached(task, options);
  if (!dumped.ok()) return Annotate(dumped.status(), absl::StrCat("cannot freeze pid ", entry.pid));
  absl::Status parked = Park(task);
  if (!parked.ok()) {
    if (absl::IsAborted(parked)) {
      task.Kill();
      ::unlink(options.path.c_str());
      return absl::InternalError(absl::StrCat("freezing pid ", entry.pid, " failed half-way and it was killed: ", parked.message()));
    }
    ::unlink(options.path.c_str());
    return Annotate(parked, absl::StrCat("cannot freeze pid ", entry.pid));
  }
  entry.state = ProcState::kFrozen;
  entry.frozen_image = options.path;
  return MoveResult{std::string(StateName(entry.state)), entry.frozen_image, Since(t0)};
}

namespace {

// The image of a process away that its held deputy can continue from (coming home, or a
// checkpoint): caught in its wait for a forwarded call whose reply is not on the way, if it is
// waiting for one (see DepartRequest).
DepartRequest HomeBound(const ProcessEntry& entry, uint32_t answered_id) {
  DepartRequest req;
  req.set_local_pid(entry.remote_pid);
  req.set_in_flight_ok(true);
  req.set_coming_home(true);
  req.set_answered_id(answered_id);
  return req;
}

}  // namespace

// The files pid maps (by path, once each), described for a target to compare with its own.
std::vector<MappedFile> Mover::MappedFiles(pid_t pid) {
  std::vector<MappedFile> out;
  auto maps = ReadMaps(pid);
  if (!maps.ok()) return out;  // the move itself will say what is wrong
  std::set<std::string> seen;
  for (const MapEntry& e : *maps) {
    const std::string& p = e.path;
    if (p.empty() || p[0] != '/' || absl::EndsWith(p, " (deleted)") || absl::StartsWith(p, "/memfd:") ||
        absl::StartsWith(p, "/SYSV") || !seen.insert(p).second) {
      continue;
    }
    if (auto f = digests_->Describe(p); f.ok()) out.push_back(*f);
  }
  return out;
}

// The shim of the (seized) process: where the entry remembers it, if it is still there (the
// program has not exec'd), else found anew and remembered.
absl::StatusOr<ShimLocation> Mover::ShimOf(Task& task, ProcessEntry& entry) {
  if (entry.shim_info) {
    auto info = task.Read(RemotePtr<mosix_shim_info>(entry.shim_info));
    if (info.ok() && info->version == MOSIX_SHIM_INFO_VERSION && info->deputy_entry >= entry.shim_text_start &&
        info->deputy_entry < entry.shim_text_end) {
      ShimLocation here;
      here.info = entry.shim_info;
      here.text_start = entry.shim_text_start;
      here.text_end = entry.shim_text_end;
      for (const auto& [start, end] : entry.shim_ranges) {
        MapEntry e;
        e.start = start;
        e.end = end;
        here.mappings.push_back(e);
      }
      return here;
    }
  }
  auto located = LocateShim(task.pid());
  if (!located.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("pid ", task.pid(), " cannot move: ", located.status().message()));
  }
  // Caught while a new program loads (an exec), its shim may be mapped and not yet started.
  auto info = task.Read(RemotePtr<mosix_shim_info>(located->info));
  if (!info.ok() || info->version != MOSIX_SHIM_INFO_VERSION || info->deputy_entry < located->text_start ||
      info->deputy_entry >= located->text_end) {
    return absl::UnavailableError(absl::StrCat("pid ", task.pid(), " is starting a program; its mosix shim is not ready yet"));
  }
  entry.shim_info = located->info;
  entry.shim_text_start = located->text_start;
  entry.shim_text_end = located->text_end;
  entry.shim_ranges.clear();
  for (const MapEntry& e : located->mappings) entry.shim_ranges.push_back({e.start, e.end});
  return *located;
}

// Home side of a move to another node. Until the target has the process running, nothing of
// the home process is given up: any failure leaves it running at home as it was.
absl::StatusOr<MoveResult> Mover::ToNode(ProcessEntry& entry, const cluster::Node& node) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = entry.pid;
  std::string laps;
  auto lap = [&, last = t0](const char* what) mutable {
    auto now = std::chrono::steady_clock::now();
    absl::StrAppend(&laps, laps.empty() ? "" : ", ", what, " ", absl::StrFormat("%.1f", std::chrono::duration<double, std::milli>(now - last).count()));
    last = now;
  };
  RETURN_IF_ERROR(Annotate(CheckMovable(pid, entry.ChannelFdInProcess()),
                           absl::StrCat("pid ", pid, " cannot move")));
  lap("check");
  entry.mapped_files = MappedFiles(pid);
  ASSIGN_OR_RETURN(auto arrival, Arrival::Prepare(node, map_.this_node(), pid, transport_, entry.mapped_files));
  lap("prepare");
  ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
  auto caught = std::chrono::steady_clock::now();
  lap("seize");
  // Again, now that it is still: since the first look it may have opened a signalfd or started a
  // thread. (The first look spares the target a stub for a process that cannot move at all.)
  RETURN_IF_ERROR(Annotate(CheckMovable(pid, entry.ChannelFdInProcess()), absl::StrCat("pid ", pid, " cannot move")));
  // Where its shim is, now that it is still (it may have exec'd since it was last found).
  ASSIGN_OR_RETURN(ShimLocation shim_here, ShimOf(task, entry));
  table_->TakeHellosSent();  // (the program caught may have greeted just now)
  const ShimLocation* shim = &shim_here;
  if (entry.channel_borrowed) RETURN_IF_ERROR(Annotate(GiveOwnChannel(task, entry), absl::StrCat("pid ", pid, " stays home")));
  auto stay_home = [&](const absl::Status& why) {
    if (auto rs = RemoteSyscalls::Create(&task); rs.ok()) (void)rs->Raw(SYS_close, MOSIX_LINK_FD);
    return Annotate(why, absl::StrCat("pid ", pid, " stays home"));
  };
  // The target restores while the image streams: the call returns when the process runs there.
  // It waits for the link first, then the image.
  absl::Status begun = arrival->Begin(shim->info, shim->text_start, shim->text_end);
  if (!begun.ok()) return stay_home(begun);
  lap("begin");
  absl::Status linked = arrival->Link(task, MOSIX_LINK_FD);
  if (!linked.ok()) return stay_home(linked);
  lap("link");
  absl::Status connected = arrival->ConnectStream();
  if (!connected.ok()) return stay_home(connected);
  lap("stream connected");
  DumpOptions options;
  options.reason = "migration";
  options.inline_files = true;
  options.channel_fd = entry.ChannelFdInProcess();
  options.skip_fds = {MOSIX_LINK_FD};
  options.fds_stay_home = true;
  options.files_there = {arrival->files_here().begin(), arrival->files_here().end()};
  options.mosix_options = entry.options;
  StreamImageWriter sink(arrival->stream());
  options.sink = &sink;
  auto dumped = DumpAttached(task, options);
  lap("stream");
  auto arrived = arrival->End();
  double frozen = std::chrono::duration<double>(std::chrono::steady_clock::now() - caught).count();
  lap("arrived");
  if (!dumped.ok()) return stay_home(dumped.status());
  if (!arrived.ok()) return stay_home(arrived.status());
  // The deputy keeps the shim's mappings (after a round trip, the anonymous copies at the same
  // addresses).
  absl::Status deputized = Deputize(task, *shim, MOSIX_LINK_FD, dumped->itimers_armed);
  if (!deputized.ok()) {
    // The copy over there has no deputy to serve it: it goes. The process goes on at home,
    // unless its memory here was already given up (then it is lost, and killed).
    fprintf(stderr, "mosixd: pid %d: its deputy could not be set up: %s\n", pid, std::string(deputized.message()).c_str());
    KillGuest(node, arrived->local_pid());
    if (absl::IsAborted(deputized)) {
      task.Kill();
      return absl::InternalError(absl::StrCat("pid ", pid, ": the deputy could not be set up: ", deputized.message()));
    }
    return stay_home(deputized);
  }
  lap("deputy");
  double moved = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fprintf(stderr, "mosixd: pid %d to %s: %.1f MiB streamed, checkpoint and restore overlapped, %.3f s (target restore %.3f s; ms: %s)\n",
          pid, node.name().c_str(), dumped->bytes / 1048576.0, moved, arrived->restore_seconds(), laps.c_str());
  entry.state = ProcState::kRemote;
  entry.where = node.name();
  entry.remote_pid = arrived->local_pid();
  return MoveResult{std::string(StateName(entry.state)), "", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                    dumped->bytes, frozen};
}

// A process away comes back into its deputy. Until the deputy is touched, a failure leaves the
// process running where it was.
std::string Mover::OwnHost() const {
  const cluster::Node* self = FindNode(map_, map_.this_node());
  return ListenHost(self ? self->address() : "");
}

absl::StatusOr<MoveResult> Mover::BackHome(ProcessEntry& entry) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = entry.pid;
  const cluster::Node* node = FindNode(map_, entry.where);
  if (!node) return absl::InternalError(absl::StrCat("pid ", pid, " is on an unknown node ", entry.where));
  if (!entry.shim_info) return absl::InternalError(absl::StrCat("pid ", pid, ": where its shim is was not recorded"));
  auto peer = PeerStub(*node);
  auto finish = [&](bool arrived) { FinishDeparture(peer.get(), entry.remote_pid, arrived); };
  // The deputy is held still until the process is back in it: a call the process forwarded and
  // waits for is then either finished (and its reply taken over there) or not begun here, and
  // the process makes it itself once home.
  uint32_t answered_id = 0;
  double left_cpu = 0;
  ASSIGN_OR_RETURN(Task deputy, HoldDeputy(pid, entry.shim_info, &answered_id));
  // The image is restored into the deputy as it comes (no file on either disk). Until its
  // memory is replaced, a failure leaves the process running over there; after, it is lost.
  absl::Status s;
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 300);
    DepartRequest req = HomeBound(entry, answered_id);
    // Its files that are still here as they were when it left need not come back.
    for (const MappedFile& f : entry.mapped_files) {
      if (digests_->IsHere(f)) req.add_files_there(f.path());
    }
    // Straight from the node into the deputy, on a connection of its own.
    ASSIGN_OR_RETURN(MoveListener listener, MoveListener::Open(OwnHost()));
    req.set_data_node(map_.this_node());
    req.set_data_address(listener.address());
    req.set_data_secret(listener.secret());
    auto reader = peer->Depart(&ctx, req);
    DepartChunk chunk;
    bool caught = reader->Read(&chunk);
    if (caught) {  // the node caught it, and connects
      left_cpu = chunk.cpu_seconds();
      std::string what = absl::StrCat("image of pid ", pid, " from ", node->name());
      auto in = listener.AcceptProven(transport_.tls, node->name(), 10000, what, security::TlsTraffic::kBulk);
      s = in.ok() ? RestoreIntoDeputy(deputy, entry.shim_info, *in->stream()) : in.status();
      if (!s.ok()) ctx.TryCancel();
      while (reader->Read(&chunk)) {
      }
    }
    grpc::Status sent = reader->Finish();
    if (!caught) {
      s = sent.ok() ? absl::InternalError(absl::StrCat("node ", node->name(), " sent no image")) : FromGrpc(*node, sent);
    } else if (!s.ok() && !absl::IsAborted(s) && !sent.ok() && sent.error_code() != grpc::StatusCode::CANCELLED) {
      s = FromGrpc(*node, sent);  // the node's reason: why the stream broke
    }
    // (A restore that succeeded had the whole image, checked frame by frame.)
  }
  if (!s.ok()) {
    if (absl::IsAborted(s)) {
      finish(true);
      return absl::InternalError(absl::StrCat("pid ", pid, " was lost coming home: ", s.message()));
    }
    finish(false);
    return Annotate(s, absl::StrCat("pid ", pid, " stays on ", node->name()));
  }
  finish(true);
  entry.cpu_elsewhere += left_cpu;
  entry.state = ProcState::kHome;
  entry.where.clear();
  entry.remote_pid = 0;
  entry.ended = false;
  return MoveResult{std::string(StateName(entry.state)), "", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

// From one remote node straight to another: the image goes from the first, through this agent,
// into the second as a stream. The deputy answers on a link to the new node from the start (a
// call in flight completes over there, once); its old link is kept aside and put back if the
// move fails, which leaves the process running where it was.
absl::StatusOr<MoveResult> Mover::OnToNode(ProcessEntry& entry, const cluster::Node& to) {
  constexpr int kSpareLink = MOSIX_LINK_FD - 1;
  constexpr int kOldLink = MOSIX_LINK_FD - 2;
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = entry.pid;
  const cluster::Node* from = FindNode(map_, entry.where);
  if (!from) return absl::InternalError(absl::StrCat("pid ", pid, " is on an unknown node ", entry.where));
  if (!entry.shim_info) return absl::InternalError(absl::StrCat("pid ", pid, ": where its shim is was not recorded"));
  auto source = PeerStub(*from);
  ASSIGN_OR_RETURN(auto arrival, Arrival::Prepare(to, map_.this_node(), pid, transport_, entry.mapped_files, from->name()));
  // The deputy answers on the new link from now on (the old one is kept aside): a call the
  // process is waiting on when it is caught gets its reply over there, once.
  // (Relinked only between messages: link_invariants.h, I2.)
  // `bump`: a deputy waiting to hear how its process ended (it saw the link it had close) goes
  // on, on the link it is given (link_invariants.h: a bumped epoch ends that wait).
  auto relink = [&](int from_fd, bool close_from, bool bump = false) -> absl::Status {
    ASSIGN_OR_RETURN(Task deputy, HoldDeputyForRelink(pid, entry.shim_info));
    {
      ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::Create(&deputy));
      RETURN_IF_ERROR(rs.Call("dup3", "link", SYS_dup3, from_fd, MOSIX_LINK_FD, O_CLOEXEC).status());
      if (close_from) (void)rs.Raw(SYS_close, from_fd);
    }
    return bump ? BumpLinkEpoch(deputy, entry.shim_info) : absl::OkStatus();
  };
  {
    ASSIGN_OR_RETURN(Task deputy, Task::Seize(pid));  // (a copy of the link: taken anywhere)
    ASSIGN_OR_RETURN(RemoteSyscalls rs, RemoteSyscalls::Create(&deputy));
    RETURN_IF_ERROR(rs.Call("dup3", "old link", SYS_dup3, MOSIX_LINK_FD, kOldLink, O_CLOEXEC).status());
  }
  // The target waits for the link, then the image.
  RETURN_IF_ERROR(arrival->Begin(entry.shim_info, entry.shim_text_start, entry.shim_text_end));
  {
    ASSIGN_OR_RETURN(Task deputy, Task::Seize(pid));
    RETURN_IF_ERROR(arrival->Link(deputy, kSpareLink));
  }
  RETURN_IF_ERROR(relink(kSpareLink, /*close_from=*/true));
  auto drop_spare = [&](const absl::Status& why) {
    // A deputy that saw the new link close (the target's agent died while the image came)
    // asked how its process ended: it goes on, on the old link, or it would end the process
    // as lost 30 s later.
    absl::Status back = relink(kOldLink, /*close_from=*/true, /*bump=*/true);
    if (back.ok()) table_->StopWaitingForEnd(pid);
    if (!back.ok()) fprintf(stderr, "mosixd: pid %d: cannot put its old link back: %s\n", pid, std::string(back.message()).c_str());
    return Annotate(why, absl::StrCat("pid ", pid, " stays on ", from->name()));
  };
  // The first node checkpoints its guest (which stays there, stopped) straight into the new
  // node, which restores it as it comes.
  grpc::Status depart_status;
  double left_cpu = 0;
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 300);
    DepartRequest req;
    req.set_local_pid(entry.remote_pid);
    req.set_in_flight_ok(true);
    for (const std::string& path : arrival->files_here()) req.add_files_there(path);
    arrival->ImageTo(&req);
    auto reader = source->Depart(&ctx, req);
    DepartChunk chunk;
    for (bool first = true; reader->Read(&chunk); first = false) {
      if (first) left_cpu = chunk.cpu_seconds();
    }
    depart_status = reader->Finish();
  }
  auto arrived = arrival->End();
  if (!depart_status.ok() || !arrived.ok()) {
    FinishDeparture(source.get(), entry.remote_pid, false);
    return drop_spare(depart_status.ok() ? arrived.status() : FromGrpc(*from, depart_status));
  }
  // The new node runs it: the old link goes, and the first node lets it go.
  if (auto deputy = Task::Seize(pid); deputy.ok()) {
    if (auto rs = RemoteSyscalls::Create(&*deputy); rs.ok()) (void)rs->Raw(SYS_close, kOldLink);
  }
  FinishDeparture(source.get(), entry.remote_pid, true);
  entry.cpu_elsewhere += left_cpu;
  entry.where = to.name();
  entry.remote_pid = arrived->local_pid();
  entry.ended = false;
  return MoveResult{std::string(StateName(entry.state)), "", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

absl::StatusOr<MoveResult> Mover::Continue(ProcessEntry& entry) {
  auto t0 = std::chrono::steady_clock::now();
  RestoreOptions options;
  options.same_process = true;
  absl::Status s = RestoreInPlace(entry.pid, entry.frozen_image, options);
  if (!s.ok()) {
    if (absl::IsAborted(s)) {
      return absl::InternalError(absl::StrCat("continuing pid ", entry.pid, " failed half-way and it was killed: ", s.message()));
    }
    return Annotate(s, absl::StrCat("cannot continue pid ", entry.pid));
  }
  ::unlink(entry.frozen_image.c_str());
  entry.state = ProcState::kHome;
  entry.frozen_image.clear();
  return MoveResult{std::string(StateName(entry.state)), "", Since(t0)};
}

template <typename Reader>
absl::StatusOr<uint64_t> Mover::ReceiveImage(Reader* reader, const std::string& path, const FsIdentity* owner,
                                              double* cpu_seconds) {
  std::string tmp = path + ".tmp";
  UniqueFd out;
  {
    ScopedFsIdentity as(owner);
    RETURN_IF_ERROR(as.status());
    ASSIGN_OR_RETURN(out, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  }
  auto as_owner = [&](auto fn) {
    ScopedFsIdentity as(owner);
    return as.status().ok() ? fn() : -1;
  };
  DepartChunk chunk;
  uint64_t want = 0, got = 0;
  bool first = true;
  absl::Status written;
  bool last = false;
  while (reader->Read(&chunk)) {
    if (first && cpu_seconds) *cpu_seconds = chunk.cpu_seconds();
    first = false;
    if (written.ok()) written = WriteAll(out.get(), chunk.data().data(), chunk.data().size(), tmp);
    got += chunk.data().size();
    if (chunk.last()) {
      last = true;
      want = chunk.image_bytes();
    }
  }
  grpc::Status s = reader->Finish();
  if (s.ok() && written.ok() && (!last || got != want)) written = absl::DataLossError("the image came incomplete");
  if (!s.ok() || !written.ok()) {
    as_owner([&] { return ::unlink(tmp.c_str()); });
    return s.ok() ? written : absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  if (as_owner([&] { return ::rename(tmp.c_str(), path.c_str()); }) != 0) return ErrnoStatus("rename", tmp);
  return got;
}

// The image of a process away is taken over there, with its deputy held still here: what the
// deputy knows (fds and their offsets, cwd, umask) goes into it as of the same moment, so it
// can be recovered anywhere, like a checkpoint taken at home. A forwarded call in flight is
// not begun here, and is made again by whatever continues from the image.
absl::StatusOr<uint64_t> Mover::CheckpointRemote(const ProcessEntry& entry, const std::string& path,
                                                 const image::MosixOptions& options, const FsIdentity& owner) {
  const cluster::Node* node = FindNode(map_, entry.where);
  if (!node) return absl::InternalError(absl::StrCat("pid ", entry.pid, " is on an unknown node ", entry.where));
  uint32_t answered_id = 0;
  ASSIGN_OR_RETURN(Task deputy, HoldDeputy(entry.pid, entry.shim_info, &answered_id));
  DepartRequest req = HomeBound(entry, answered_id);
  ASSIGN_OR_RETURN(*req.mutable_home_side(), DescribeDeputy(entry.pid, {MOSIX_LINK_FD, entry.ChannelFdInProcess()}));
  *req.mutable_home_side()->mutable_process()->mutable_options() = options;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 300);
  auto reader = PeerStub(*node)->CheckpointGuest(&ctx, req);
  return ReceiveImage(reader.get(), path, &owner);
}

absl::Status Mover::RestoreIntoDeputy(Task& deputy, uint64_t shim_info, const std::string& path) {
  RestoreOptions options;
  options.home.enabled = true;
  options.home.shim_info = shim_info;
  return RestoreInPlace(deputy, path, options);
}

absl::Status Mover::RestoreIntoDeputy(Task& deputy, uint64_t shim_info, ByteStream& in) {
  RestoreOptions options;
  options.home.enabled = true;
  options.home.shim_info = shim_info;
  ASSIGN_OR_RETURN(auto image, StreamImageReader::Open(&in));
  RETURN_IF_ERROR(CheckRestorable(image->manifest(), image->core(), options));
  absl::Status s = RestoreFromStream(deputy, *image, options);
  if (absl::IsAborted(s)) deputy.Kill();
  return s;
}

absl::Status Mover::RestoreInPlace(pid_t pid, const std::string& path, const RestoreOptions& options) {
  ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
  return RestoreInPlace(task, path, options);
}

absl::Status Mover::RestoreInPlace(Task& task, const std::string& path, const RestoreOptions& options) {
  ASSIGN_OR_RETURN(auto image, LoadImage(path));
  RETURN_IF_ERROR(CheckRestorable(*image, options));
  absl::Status s = Restore(task, *image, options);
  if (absl::IsAborted(s)) task.Kill();
  return s;
}


}  // namespace mosix::agent
