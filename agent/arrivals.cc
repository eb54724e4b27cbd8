#include "agent/arrivals.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/net.h"
#include "base/paths.h"
#include "base/status.h"
#include "agent/cluster_config.h"
#include "agent/lifeline.h"
#include "agent/peers.h"
#include "agent/services/caller.h"
#include "agent/transport/chunk_stream.h"
#include "checkpoint/creds.h"
#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/image_stream.h"
#include "checkpoint/shim_locator.h"
#include "checkpoint/procfs.h"
#include "checkpoint/process_memory.h"
#include "checkpoint/remote_syscalls.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/link_invariants.h"
#include "interceptor/shim_info.h"

namespace mosix::agent {

void RunStub() {
  if (mosix_arm_lifeline() != 0) _exit(1);
  for (;;) pause();
}

namespace {

bool InPause(pid_t pid) {
  auto text = ReadFileToString(absl::StrCat("/proc/", pid, "/syscall"));
  return text.ok() && text->rfind("34 ", 0) == 0;
}

}  // namespace

absl::StatusOr<PrepareArrivalReply> Arrivals::Prepare(const PrepareArrivalRequest& req) {
  if (!req.image_from().empty() && !FindNode(map_, req.image_from())) {
    return absl::InvalidArgumentError(absl::StrCat("the image is to come from '", req.image_from(), "', which is not a node"));
  }
  std::string host = ListenHost(node_address_);
  ASSIGN_OR_RETURN(MoveListener link, MoveListener::Open(host));
  ASSIGN_OR_RETURN(MoveListener data, MoveListener::Open(host));
  PrepareArrivalReply reply;
  reply.set_link_address(link.address());
  reply.set_data_address(data.address());
  reply.set_link_secret(link.secret());
  reply.set_data_secret(data.secret());
  reply.set_tls(tls_ != nullptr);
  for (std::string& path : digests_->SameHere(req.mapped_files())) reply.add_files_here(std::move(path));
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::UnavailableError(absl::StrCat("node ", map_.this_node(), " is stopping: it takes no arrivals"));
  std::string token = absl::StrCat(req.home_node(), "-", req.home_pid(), "-", next_token_++);
  reply.set_token(token);
  Guest guest;
  guest.home_node = req.home_node();
  guest.home_pid = req.home_pid();
  pending_[token] = Pending{std::move(link), std::move(data), std::move(guest),
                            req.image_from().empty() ? req.home_node() : req.image_from()};
  return reply;
}

absl::StatusOr<pid_t> Arrivals::StartStub(int link, Guest* guest) {
  // mosix-stub beside this mosixd (installed, or in the Bazel tree); else mosixd --stub.
  static const std::string stub = FindBesideExecutable("MOSIX_STUB", {"mosix-stub"}, X_OK, "");
  std::string path = stub.empty() ? ThisExecutable() : stub;
  if (path.empty()) return ErrnoStatus("readlink", "/proc/self/exe");
  // Its lifeline: the stub gets the read end and arms it; the write end stays here (and, once
  // the guest runs, in the keeper too: agent/lifeline.h).
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "lifeline");
  UniqueFd read_end(pipe_fds[0]);
  guest->lifeline = std::make_shared<UniqueFd>(pipe_fds[1]);
  // posix_spawn (a vfork: no copy of this big, multi-threaded agent's page tables). The stub
  // gets the link as its channel, its lifeline, and no other fd: they go to 3 and 4 while
  // everything above is closed, then to their places.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, link, 3);
  posix_spawn_file_actions_adddup2(&fa, read_end.get(), 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);
  posix_spawn_file_actions_adddup2(&fa, 3, MOSIX_CHANNEL_FD);
  posix_spawn_file_actions_adddup2(&fa, 4, MOSIX_LIFELINE_FD);
  posix_spawn_file_actions_adddup2(&fa, 2, MOSIX_DIAG_FD);
  posix_spawn_file_actions_addclose(&fa, 3);
  posix_spawn_file_actions_addclose(&fa, 4);
  char arg0[] = "mosixd", arg1[] = "--stub";
  char* argv[] = {arg0, arg1, nullptr};
  char* envp[] = {nullptr};
  pid_t pid = 0;
  int err = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    errno = err;
    return ErrnoStatus("posix_spawn", path);
  }
  return pid;
}

absl::Status Arrivals::WaitForStub(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // Not reaped here: the caller kills and reaps a stub that failed.
  while (!InPause(pid)) {
    auto st = ReadStat(pid);
    if (!st.ok() || st->state == 'Z' || st->state == 'X') return absl::InternalError("the stub process died at start");
    if (std::chrono::steady_clock::now() > deadline) return absl::DeadlineExceededError("the stub process did not start");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return absl::OkStatus();
}

// Waits for a guest to end and tells its home node how (exit status or signal), so its deputy
// can end the same way.
//
// The wait is for its exit only (a pidfd turns readable then): a plain waitpid would also take
// the ptrace stops that another thread of this agent expects while it checkpoints the guest.
void Arrivals::Reap(pid_t pid) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto done = std::make_shared<std::atomic<bool>>(false);
  absl::MutexLock lock(&reap_mu_);
  for (auto it = reapers_.begin(); it != reapers_.end();) {  // (those whose guest ended)
    if (it->second->load()) {
      it->first.join();
      it = reapers_.erase(it);
    } else {
      ++it;
    }
  }
  reapers_.emplace_back(std::thread([this, pid, pidfd, done] {
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = true; }
    } mark{*done};
    if (pidfd >= 0) {
      pollfd p[2] = {{pidfd, POLLIN, 0}, {stopping_.get(), POLLIN, 0}};
      while (::poll(p, 2, -1) < 0 && errno == EINTR) {
      }
      ::close(pidfd);
      if (p[1].revents) return;  // this agent stops; the guest goes on, for the next one
    }
    int status = 0;
    bool known = true;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno == EINTR) continue;
      known = false;  // (not this agent's child: one taken back after a restart)
      break;
    }
    Guest guest;
    {
      absl::MutexLock lock(&mu_);
      auto it = guests_.find(pid);
      if (it == guests_.end()) return;
      guest = it->second;
      guests_.erase(it);
    }
    store_.Remove(pid);
    KeepLifeline(pid, guest, false);
    if (!known) {
      // Only its parent could say how it ended. One that exited told its deputy itself (the
      // report below then finds it gone); otherwise the last signal sent to it here, if it
      // ends a process by default, else SIGKILL.
      int sig = guest.last_signal ? guest.last_signal->load() : 0;
      bool ends = sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM || sig == SIGKILL || sig == SIGUSR1 ||
                  sig == SIGUSR2 || sig == SIGALRM || sig == SIGPIPE || sig == SIGABRT;
      status = ends ? sig : SIGKILL;  // (a wait status: killed by that signal)
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "mosixd: pid %d of %s (here pid %d) ended: %s %d%s\n", guest.home_pid, guest.home_node.c_str(), pid,
              WIFEXITED(status) ? "exit status" : "killed by signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
              known ? "" : " (as far as this agent, which is not its parent, can tell)");
    }
    {
      // Kept for a while, for the home to find if the report below does not reach it (its
      // agent restarting): it asks when its deputy waits for an end that did not come.
      absl::MutexLock lock(&mu_);
      ended_.push_back({guest.home_node, guest.home_pid, pid, status, std::chrono::steady_clock::now()});
      while (ended_.size() > kEndedKept) ended_.pop_front();
    }
    const cluster::Node* home = FindNode(map_, guest.home_node);
    if (!home) return;
    EndedRequest req;
    req.set_home_pid(guest.home_pid);
    req.set_local_pid(pid);
    req.set_wait_status(status);
    EndedReply reply;
    grpc::ClientContext ctx;
    // (Waits for the connection: a home agent that has just restarted is refused for a moment
    // by a channel that failed while it was down. Not long: the end is kept above for it.)
    SetDeadline(&ctx, 3);
    ctx.set_wait_for_ready(true);
    grpc::Status s = PeerStub(*home)->Ended(&ctx, req, &reply);
    // (NotFound: home saw it end first, when its deputy did.)
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) fprintf(stderr, "mosixd: cannot tell %s that pid %d ended: %s\n", home->name().c_str(), guest.home_pid, s.error_message().c_str());
  }), done);
}

void Arrivals::KeepLifeline(pid_t pid, const Guest& guest, bool kept) {
  if (!keeper_ || !guest.lifeline) return;
  if (kept) {
    keeper_->Hold(pid, guest.lifeline->get());
  } else {
    keeper_->Drop(pid);
  }
}

absl::StatusOr<std::map<pid_t, Arrivals::Guest>::iterator> Arrivals::FindGuest(pid_t local_pid, const std::string& from) {
  auto it = guests_.find(local_pid);
  if (it == guests_.end()) return absl::NotFoundError(absl::StrCat("pid ", local_pid, " is not a guest of this node"));
  if (!from.empty() && it->second.home_node != from) {
    return absl::PermissionDeniedError(
        absl::StrCat("permission denied: pid ", local_pid, " is a guest from ", it->second.home_node, ", not from ", from));
  }
  return it;
}

absl::StatusOr<Arrivals::Guest> Arrivals::GuestOf(pid_t local_pid, const std::string& from) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto it, FindGuest(local_pid, from));
  return it->second;
}

absl::Status Arrivals::Signal(pid_t local_pid, int signo, uint32_t seq, const std::string& from) {
  ASSIGN_OR_RETURN(Guest guest, GuestOf(local_pid, from));
  // A guest lives in the agent's process group, which is orphaned: the kernel discards the
  // terminal stop signals there unless the program catches them. The stop the user asked for
  // at home is then a plain SIGSTOP here.
  if (signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU) {
    auto status = ReadFileToString(absl::StrCat("/proc/", local_pid, "/status"));
    auto caught = status.ok() ? StatusMask(*status, "SigCgt") : absl::StatusOr<uint64_t>(status.status());
    if (!caught.ok() || !(*caught & (1ull << (signo - 1)))) signo = SIGSTOP;
  }
  if (::kill(local_pid, signo) != 0) return ErrnoStatus("kill", absl::StrCat("pid ", local_pid));
  if (guest.last_signal) *guest.last_signal = signo;
  // Then the guest learns it has it (link_invariants.h, I4): a call it makes from now on is
  // made at home, one it made before waits for this signal to be handled first.
  if (seq != 0 && guest.shim_info != 0) {
    uint64_t at = guest.shim_info + offsetof(mosix_shim_info, signals_seen);
    RETURN_IF_ERROR(WriteProcessMemory(local_pid, at, &seq, sizeof seq));
  }
  return absl::OkStatus();
}

absl::StatusOr<ArrivalReply> Arrivals::Arrive(grpc::ServerReaderInterface<ArrivalChunk>* reader, const std::string& from) {
  ArrivalChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_header()) return absl::InvalidArgumentError("arrival without a header");
  ArrivalHeader header = chunk.header();
  Pending pending;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(header.token());
    if (it == pending_.end()) return absl::NotFoundError(absl::StrCat("no prepared arrival '", header.token(), "'"));
    if (!from.empty() && it->second.home.home_node != from) {
      return absl::PermissionDeniedError(absl::StrCat("permission denied: the arrival was prepared for ", it->second.home.home_node));
    }
    pending = std::move(it->second);
    pending_.erase(it);
    if (closed_) return absl::UnavailableError(absl::StrCat("node ", map_.this_node(), " is stopping: it takes no arrivals"));
    ++arriving_;
  }
  absl::Cleanup arrived = [this] {
    absl::MutexLock lock(&mu_);
    --arriving_;
  };
  auto t0 = std::chrono::steady_clock::now();
  RestoreOptions options;
  options.keep_fds = {MOSIX_CHANNEL_FD, MOSIX_DIAG_FD, MOSIX_LIFELINE_FD};
  options.remote.enabled = true;
  options.remote.shim_info = header.shim_info();
  options.remote.text_start = header.text_start();
  options.remote.text_end = header.text_end();
  options.remote.home_pid = header.home_pid();
  // The link first (the home agent connects it once this call has begun), then the image.
  ASSIGN_OR_RETURN(MoveConnection link, pending.link.AcceptProven(tls_, header.home_node(), 10000, "deputy's link"));
  UniqueFd process_end, relay_end;
  if (link.tls) {
    // Through TLS: the process gets a local socket whose other end this agent relays.
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoStatus("socketpair", "link");
    process_end.reset(sv[0]);
    relay_end.reset(sv[1]);
  } else {
    process_end = std::move(link.fd);
  }
  // The stub starts while the home node is still gathering the core.
  Guest guest = pending.home;
  ASSIGN_OR_RETURN(pid_t stub, StartStub(process_end.get(), &guest));
  process_end.reset();
  std::shared_ptr<GuestLink> guest_link;
  if (link.tls) {
    guest_link = std::make_shared<GuestLink>();
    guest_link->pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, stub, 0)));
    RelayLink(guest_link, std::move(relay_end), std::move(link.tls));
  }
  auto drop_stub = [&](const absl::Status& why) {
    kill(stub, SIGKILL);
    Reap(stub);
    return why;
  };
  auto data = pending.data.AcceptProven(tls_, pending.image_from, 10000, absl::StrCat("image stream from ", pending.image_from),
                                        security::TlsTraffic::kBulk);
  if (!data.ok()) return drop_stub(data.status());
  auto image = StreamImageReader::Open(data->stream());
  if (!image.ok()) return drop_stub(image.status());
  if (!(*image)->core().has_creds()) {
    return drop_stub(absl::FailedPreconditionError("the image does not say whose process it is"));
  }
  if (!KnowsUser((*image)->core().creds().uid())) {
    return drop_stub(absl::PermissionDeniedError(absl::StrCat("node ", map_.this_node(), " does not know uid ",
                                                              (*image)->core().creds().uid())));
  }
  options.identity = Identity::kImageOwner;
  absl::Status restorable = CheckRestorable((*image)->manifest(), (*image)->core(), options);
  if (restorable.ok()) restorable = WaitForStub(stub);
  if (!restorable.ok()) return drop_stub(restorable);
  auto task = Task::Seize(stub);
  if (!task.ok()) return drop_stub(task.status());
  absl::Status s = RestoreFromStream(*task, **image, options);
  if (!s.ok()) {
    task->Kill();  // (as the tracer: no detach of a process that is gone)
    return drop_stub(Annotate(s, "cannot start the arriving process"));
  }
  guest.shim_text_start = header.text_start();
  guest.shim_text_end = header.text_end();
  guest.shim_info = header.shim_info();
  guest.link = guest_link;
  guest.last_signal = std::make_shared<std::atomic<int>>(0);
  if (auto st = ReadStat(stub); st.ok()) guest.start_time = st->start_time;
  // It runs: from now on it outlives this agent for a while, and a restarted one takes it back.
  KeepLifeline(stub, guest, true);
  SaveRecord(stub, guest);
  {
    absl::MutexLock lock(&mu_);
    guests_[stub] = guest;
  }
  Reap(stub);
  ArrivalReply reply;
  reply.set_local_pid(stub);
  reply.set_restore_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return reply;
}

namespace {

// Whether a guest caught now may leave (link_invariants.h).
absl::StatusOr<bool> MayLeave(Task& task, const mosix_shim_info& info, const DepartRequest& req) {
  link::Departure why = !req.in_flight_ok() ? link::Departure::kBetweenCalls
                         : req.coming_home() ? link::Departure::kIntoDeputy
                                             : link::Departure::kOnward;
  bool in_poll_wait = false;
  if (info.forwarding && why == link::Departure::kIntoDeputy) {
    user_regs_struct regs;
    RETURN_IF_ERROR(task.GetRegs(&regs));
    in_poll_wait = static_cast<long>(regs.orig_rax) == SYS_poll;
  }
  return link::RemoteMayLeave(info, why, req.answered_id(), in_poll_wait);
}

}  // namespace

// Where a departing image goes when its home node names a listener (DepartRequest.data_*): a
// node of the map, at that node's own address, never anywhere else.
absl::StatusOr<sockaddr_in> Arrivals::DataAddressOf(const DepartRequest& req) const {
  const cluster::Node* node = FindNode(map_, req.data_node());
  if (!node) return absl::InvalidArgumentError(absl::StrCat("the image is to go to '", req.data_node(), "', which is not a node"));
  std::string host = ListenHost(node->address());
  if (HostPart(req.data_address()) != host) {
    return absl::InvalidArgumentError(
        absl::StrCat("the image is to go to ", req.data_address(), ", which is not node ", node->name(), "'s address"));
  }
  if (req.data_secret().size() != kSecretSize) return absl::InvalidArgumentError("the image's destination has no secret");
  return ParseIpv4Address(req.data_address());
}

absl::Status Arrivals::Depart(const DepartRequest& req, grpc::ServerWriterInterface<DepartChunk>* writer, bool leaving,
                              const std::string& from) {
  pid_t local_pid = req.local_pid();
  ASSIGN_OR_RETURN(Guest guest, GuestOf(local_pid, from));
  DumpOptions options;
  options.reason = "migration";
  options.inline_files = true;
  options.channel_fd = MOSIX_CHANNEL_FD;  // its link to the deputy: not part of the image
  options.skip_fds = {MOSIX_DIAG_FD, MOSIX_LIFELINE_FD};
  options.files_there = {req.files_there().begin(), req.files_there().end()};
  options.amend_core = [&](image::Core* core) {
    core->mutable_process()->set_shim_info(guest.shim_info);
    if (!req.has_home_side()) return;
    const image::Core& home = req.home_side();
    *core->mutable_files() = home.files();
    core->mutable_process()->set_cwd(home.process().cwd());
    core->mutable_process()->set_umask(home.process().umask());
    *core->mutable_process()->mutable_options() = home.process().options();
  };
  // Caught where link_invariants.h allows it (never in the middle of a message, and not
  // waiting for a reply that is on its way when it goes home); local calls (a sleep) are fine
  // anywhere: they restart wherever the process is restored.
  absl::StatusOr<DumpResult> dumped = absl::UnavailableError("");
  for (int attempt = 0; attempt < 400; ++attempt) {
    ASSIGN_OR_RETURN(Task task, Task::Seize(local_pid));
    ASSIGN_OR_RETURN(mosix_shim_info info, task.Read(RemotePtr<mosix_shim_info>(guest.shim_info)));
    ASSIGN_OR_RETURN(bool can_leave, MayLeave(task, info, req));
    if (!can_leave) {
      RETURN_IF_ERROR(task.Detach());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (options.syscall_gadget == 0) {
      ASSIGN_OR_RETURN(options.syscall_gadget,
                       FindSyscallInstruction(&task, guest.shim_text_start, guest.shim_text_end, "the guest's shim"));
    }
    options.reason = leaving ? "migration" : "checkpoint";
    double cpu_seconds = UsageOf(local_pid).cpu_seconds;
    if (!req.data_address().empty()) {
      // Straight to the node that restores it, on a connection of its own.
      ASSIGN_OR_RETURN(sockaddr_in to, DataAddressOf(req));
      DepartChunk first;
      first.set_cpu_seconds(cpu_seconds);
      if (!writer->Write(first)) return absl::UnavailableError("the home node stopped waiting for the image");
      std::string what = absl::StrCat("image of pid ", local_pid, " to ", req.data_node());
      ASSIGN_OR_RETURN(MoveConnection out,
                       ConnectProven(to, tls_, req.data_node(), req.data_secret(), what, security::TlsTraffic::kBulk));
      StreamImageWriter sink(out.stream());
      options.sink = &sink;
      dumped = DumpAttached(task, options);
      if (out.tls) out.tls->Close();
      if (dumped.ok()) {
        DepartChunk last;
        last.set_last(true);
        last.set_image_bytes(dumped->bytes);
        if (!writer->Write(last)) dumped = absl::UnavailableError("the home node stopped waiting for the image");
      }
    } else {
      // Into the call, in stream order (core first): the home agent restores it as it comes,
      // or keeps it as a checkpoint. Nothing of it is left on this disk.
      ChunkWriter out(writer, cpu_seconds, absl::StrCat("image of pid ", local_pid, " to its home node"));
      StreamImageWriter sink(&out);
      options.sink = &sink;
      dumped = DumpAttached(task, options);
      if (dumped.ok()) {
        absl::Status sent = out.Finish();
        if (!sent.ok()) dumped = sent;
      }
    }
    if (dumped.ok() && leaving) {
      // It stays here, stopped, until FinishDeparture; should this agent die meanwhile, it dies
      // too (its lifeline): it may be running elsewhere already.
      KeepLifeline(local_pid, guest, false);
      ::kill(local_pid, SIGSTOP);
    }
    break;
  }
  if (!dumped.ok()) {
    if (dumped.status().message().empty()) {
      return absl::UnavailableError(absl::StrCat("pid ", local_pid, " stays inside a system call it forwarded home; try again"));
    }
    return dumped.status();
  }
  return absl::OkStatus();
}

absl::Status Arrivals::FinishDeparture(pid_t local_pid, bool arrived, const std::string& from) {
  Guest guest;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto it, FindGuest(local_pid, from));
    guest = it->second;
    if (arrived) guests_.erase(it);  // gone: its end here is not its end
  }
  if (arrived) {
    store_.Remove(local_pid);
  } else {
    KeepLifeline(local_pid, guest, true);
  }
  if (!arrived && guest.shim_info != 0) {
    // Its deputy answered on the new link for a while: a call in flight is sent again (I3).
    uint64_t at = guest.shim_info + offsetof(mosix_shim_info, link_epoch);
    uint32_t epoch = 0;
    if (ReadProcessMemory(local_pid, at, &epoch, sizeof epoch).ok()) {
      ++epoch;
      (void)WriteProcessMemory(local_pid, at, &epoch, sizeof epoch);
    }
  }
  ::kill(local_pid, arrived ? SIGKILL : SIGCONT);
  return absl::OkStatus();
}

void Arrivals::CloseArrivals(int seconds) {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  pending_.clear();  // (prepared and not begun: their home hears "no prepared arrival")
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return arriving_ == 0; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&none), absl::Seconds(seconds))) {
    fprintf(stderr, "mosixd: stopping: %d arrivals still under way after %d s\n", arriving_, seconds);
  }
}

void Arrivals::SendGuestsHome(int seconds, const std::string& why) {
  std::vector<std::thread> asks;
  for (const auto& [local_pid, guest] : Guests()) {
    const cluster::Node* home = FindNode(map_, guest.home_node);
    if (!home) continue;
    asks.emplace_back([home, local_pid = local_pid, home_pid = guest.home_pid, seconds, why] {
      TakeBackRequest req;
      req.set_home_pid(home_pid);
      req.set_local_pid(local_pid);
      TakeBackReply reply;
      grpc::ClientContext ctx;
      SetDeadline(&ctx, seconds);
      grpc::Status s = PeerStub(*home)->TakeBack(&ctx, req, &reply);
      if (!s.ok()) {
        fprintf(stderr, "mosixd: %s: pid %d of %s (here %d) could not go home: %s\n", why.c_str(), home_pid,
                home->name().c_str(), local_pid, s.error_message().c_str());
      }
    });
  }
  for (std::thread& t : asks) t.join();
}

std::map<pid_t, Arrivals::Guest> Arrivals::Guests() {
  absl::MutexLock lock(&mu_);
  return guests_;
}

std::vector<Arrivals::Ended> Arrivals::RecentlyEnded() {
  absl::MutexLock lock(&mu_);
  auto now = std::chrono::steady_clock::now();
  while (!ended_.empty() && now - ended_.front().at > kEndedKeptFor) ended_.pop_front();
  return {ended_.begin(), ended_.end()};
}

}  // namespace mosix::agent
