#include "agent/channel_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "base/fd_passing.h"
#include "base/net.h"
#include "base/status.h"
#include "base/fs_identity.h"
#include "checkpoint/creds.h"
#include "checkpoint/image_format.h"
#include "checkpoint/procfs.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "agent/process/fork_watch.h"
#include "interceptor/channel_protocol.h"

namespace mosix::agent {

absl::StatusOr<RegisterRequest> ParseRegister(const std::string& payload) {
  mosix_register head{};
  if (payload.size() < sizeof head) return absl::InvalidArgumentError("register: malformed (shorter than its header)");
  memcpy(&head, payload.data(), sizeof head);
  if (head.version != MOSIX_CHANNEL_VERSION) {
    return absl::InvalidArgumentError(absl::StrCat("register: channel version ", head.version, ", this agent speaks ", MOSIX_CHANNEL_VERSION));
  }
  if (head.argc == 0 || head.argc > MOSIX_REGISTER_MAX_ARGC) return absl::InvalidArgumentError(absl::StrCat("register: bad argc ", head.argc));
  absl::string_view rest(payload);
  rest.remove_prefix(sizeof head);
  if (rest.empty() || rest.back() != '\0') return absl::InvalidArgumentError("register: malformed (strings not ended)");
  std::vector<absl::string_view> strings = absl::StrSplit(rest.substr(0, rest.size() - 1), '\0');
  if (strings.size() != 2 + static_cast<size_t>(head.argc)) {
    return absl::InvalidArgumentError(absl::StrCat("register: ", strings.size(), " strings for argc ", head.argc));
  }
  RegisterRequest req;
  req.set_checkpoint_file(std::string(strings[0]));
  req.set_start_on(std::string(strings[1]));
  req.set_checkpoint_interval_s(head.checkpoint_interval_s);
  if (head.flags & ~(MOSIX_REGISTER_KEEP_HOME | MOSIX_REGISTER_LOCKED | MOSIX_REGISTER_BEST)) {
    return absl::InvalidArgumentError(absl::StrCat("register: unknown flags ", head.flags));
  }
  req.set_keep_home(head.flags & MOSIX_REGISTER_KEEP_HOME);
  req.set_locked(head.flags & MOSIX_REGISTER_LOCKED);
  req.set_best(head.flags & MOSIX_REGISTER_BEST);
  req.set_memory_mb(head.memory_mb);
  for (size_t k = 2; k < strings.size(); ++k) req.add_argv(std::string(strings[k]));
  return req;
}

absl::Status SendMessage(int fd, uint32_t type, const std::string& payload) {
  std::string msg(sizeof(mosix_msg_header), '\0');
  mosix_msg_header h{type, static_cast<uint32_t>(payload.size())};
  memcpy(msg.data(), &h, sizeof h);
  msg += payload;
  if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
    return ErrnoStatus("send", "channel");
  }
  return absl::OkStatus();
}

ChannelServer::~ChannelServer() { Stop(); }

absl::Status ChannelServer::Listen(const std::string& path) {
  path_ = path;
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", path);
  listener_.reset(fd);
  ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return ErrnoStatus("bind", path);
  // Every user's shims and recoveries come here; each is known by what the kernel says of it.
  if (::chmod(path.c_str(), 0666) != 0) return ErrnoStatus("chmod", path);
  // Every message carries its sender's credentials, as the kernel says: a child forked under
  // mosrun greets on the channel it inherited from its parent (the connection's own credentials
  // are the parent's). Set on the listener, it holds for connections not yet accepted too.
  int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return ErrnoStatus("setsockopt SO_PASSCRED", path);
  if (::listen(fd, 64) != 0) return ErrnoStatus("listen", path);
  absl::StatusOr<EventFd> wake = EventFd::Make("channel server stop");
  if (!wake.ok()) return wake.status();
  wake_ = std::move(*wake);
  absl::StatusOr<EventFd> nudge = EventFd::Make("channel server flush");
  if (!nudge.ok()) return nudge.status();
  nudge_ = std::move(*nudge);
  return absl::OkStatus();
}

void ChannelServer::Start() {
  {
    absl::MutexLock lock(&flush_mu_);
    running_ = true;
  }
  thread_ = std::thread([this] { Loop(); });
}

void ChannelServer::Stop() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&flush_mu_);
    running_ = false;  // (a Flush waiting now returns)
  }
  wake_.Signal();
  thread_.join();
  ::unlink(path_.c_str());
}

void ChannelServer::Flush() {
  uint64_t round;
  {
    absl::MutexLock lock(&flush_mu_);
    if (!running_ || std::this_thread::get_id() == loop_id_) return;
    round = rounds_begun_ + 1;  // the first round to begin from now on
  }
  nudge_.Signal();
  absl::MutexLock lock(&flush_mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_) { return !running_ || rounds_done_ >= round; };
  // (Bounded: a round that handles a recovery takes long, and the question can go on.)
  flush_mu_.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(500));
}

void ChannelServer::Loop() {
  {
    absl::MutexLock lock(&flush_mu_);
    loop_id_ = std::this_thread::get_id();
  }
  std::vector<Conn> conns;
  int rest_ms = kRestTickMs;
  for (;;) {
    const std::set<int> in_use = table_->ChannelsInUse();
    std::vector<pollfd> pfds;
    pfds.push_back({wake_.get(), POLLIN, 0});
    pfds.push_back({nudge_.get(), POLLIN, 0});
    pfds.push_back({listener_.get(), POLLIN, 0});
    std::vector<size_t> at_rest;  // indexes in conns
    std::vector<short> revents(conns.size(), 0);
    std::vector<size_t> watched;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (conns[i].fresh || in_use.count(conns[i].fd)) {
        pfds.push_back({conns[i].fd, POLLIN, 0});
        watched.push_back(i);
      } else {
        at_rest.push_back(i);
      }
    }
    WatchForks(/*scan=*/true);
    bool rest = !at_rest.empty() || watching_forks_;
    if (::poll(pfds.data(), pfds.size(), rest ? rest_ms : -1) < 0) {
      if (errno == EINTR) continue;
      perror("mosixd: poll");
      break;
    }
    if (pfds[0].revents) break;
    uint64_t round;
    {
      absl::MutexLock lock(&flush_mu_);
      round = ++rounds_begun_;
    }
    if (pfds[1].revents) {
      nudge_.Drain();
    }
    for (size_t k = 0; k < watched.size(); ++k) revents[watched[k]] = pfds[3 + k].revents;
    std::vector<bool> closed(conns.size(), false);
    auto take = [&](size_t i) {
      uint32_t type = 0;
      bool open = Handle(conns[i].fd, &type);
      conns[i].fresh = type == MOSIX_MSG_REGISTER;
      if (!open) {
        table_->ChannelClosed(conns[i].fd);
        ::close(conns[i].fd);
        closed[i] = true;
      }
    };
    for (size_t i = 0; i < conns.size(); ++i) {
      if (revents[i]) take(i);
    }
    // The forks of its processes, since the last round.
    bool heard = TakeForks() > 0;
    // The channels at rest: everything waiting on them (bounded: a flood on one is read in
    // later rounds, and does not hold the others back).
    for (int pass = 0; pass < 256 && !at_rest.empty(); ++pass) {
      std::vector<pollfd> rest;
      for (size_t i : at_rest) rest.push_back({conns[i].fd, POLLIN, 0});
      if (::poll(rest.data(), rest.size(), 0) <= 0) break;
      heard = true;
      std::vector<size_t> again;
      for (size_t k = 0; k < rest.size(); ++k) {
        if (!rest[k].revents) continue;
        take(at_rest[k]);
        if (!closed[at_rest[k]]) again.push_back(at_rest[k]);
      }
      at_rest = std::move(again);
    }
    rest_ms = heard ? kRestTickMs : std::min(2 * rest_ms, kRestTickMaxMs);
    std::vector<Conn> keep;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!closed[i]) keep.push_back(conns[i]);
    }
    if (pfds[2].revents & POLLIN) {
      int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) keep.push_back({c, true});
    }
    conns = std::move(keep);
    absl::MutexLock lock(&flush_mu_);
    rounds_done_ = round;
  }
  for (const Conn& c : conns) ::close(c.fd);
}

bool ChannelServer::Handle(int fd, uint32_t* type) {
  std::vector<char>& buf = recv_buf_;  // (one for all messages: the loop's alone)
  buf.resize(MOSIX_CHANNEL_MAX_MSG);
  // A message may carry one fd (a recovery's image, opened by the recovering user herself).
  UniqueFd passed;
  ucred sender{};
  ssize_t n = ReceiveWithFd(fd, buf.data(), buf.size(), &passed, &sender);
  if (n <= 0) return false;  // the process is gone
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  if (sender.pid != 0 && sender.pid != cred.pid) {
    // A child forked by the connection's process, or a program exec'd by such a child,
    // greeting on the channel it inherited (it makes no connection of its own: a shell or a
    // make starts many short programs). It borrows the channel; the agent gives it one of its
    // own before it ever needs one (its first move). Nothing else is taken on a channel that
    // is not the sender's own, and nothing is answered there: its other holders would read it.
    mosix_msg_header h;
    if (static_cast<size_t>(n) == sizeof h + sizeof(mosix_hello)) {
      memcpy(&h, buf.data(), sizeof h);
      if (h.type == MOSIX_MSG_HELLO && h.len == sizeof(mosix_hello)) Greeted(sender.pid, -1);
    }
    return true;
  }
  mosix_msg_header h;
  if (static_cast<size_t>(n) < sizeof h) {
    (void)SendMessage(fd, MOSIX_MSG_ERROR, "malformed message: shorter than its header");
    return true;
  }
  memcpy(&h, buf.data(), sizeof h);
  if (h.len != n - sizeof h) {
    (void)SendMessage(fd, MOSIX_MSG_ERROR, "malformed message: length does not match");
    return true;
  }
  std::string payload(buf.data() + sizeof h, h.len);
  *type = h.type;
  switch (h.type) {
    case MOSIX_MSG_HELLO: {
      mosix_hello hello{};
      if (payload.size() != sizeof hello) {
        (void)SendMessage(fd, MOSIX_MSG_ERROR, "malformed hello");
        return true;
      }
      memcpy(&hello, payload.data(), sizeof hello);
      Greeted(cred.pid, fd);
      return true;
    }
    case MOSIX_MSG_REGISTER: {
      auto req = ParseRegister(payload);
      if (req.ok()) req->set_pid(cred.pid);
      absl::Status s = req.ok() ? (events_.register_process ? events_.register_process(cred.pid, *req)
                                                            : absl::UnimplementedError("this agent takes no registrations"))
                                : req.status();
      // Before mosrun execs the program, which may fork at once. (mosrun has no children to
      // look for; and had the table known others, the watch would be on already.)
      if (s.ok()) WatchForks(/*scan=*/false);
      // Where it cannot see forks, it asks the program's children to greet.
      mosix_registered reply{fork_watch_.valid() ? 0 : MOSIX_REGISTERED_GREET_FORKS};
      (void)(s.ok() ? SendMessage(fd, MOSIX_MSG_OK, std::string(reinterpret_cast<const char*>(&reply), sizeof reply))
                    : SendMessage(fd, MOSIX_MSG_ERROR, std::string(s.message())));
      return true;
    }
    case MOSIX_MSG_REATTACH: {
      mosix_hello hello{};
      if (payload.size() != sizeof hello) return true;
      memcpy(&hello, payload.data(), sizeof hello);
      // (The kernel's word for who it is; a process can only give itself a new channel.)
      if (hello.pid == cred.pid) table_->Reattach(cred.pid, fd);
      return true;
    }
    case MOSIX_MSG_RESTORE:
      HandleRestore(fd, cred, payload, std::move(passed));
      return true;
    case MOSIX_MSG_SIGNAL: {
      mosix_signal sig{};
      if (payload.size() != sizeof sig) return true;
      memcpy(&sig, payload.data(), sizeof sig);
      if (sig.signo > 0 && sig.signo < 65 && events_.signal) events_.signal(cred.pid, sig.signo, sig.seq);
      return true;
    }
    case MOSIX_MSG_WAIT_END:
      if (events_.wait_end) events_.wait_end(cred.pid, fd);
      return true;
    case MOSIX_MSG_GO_HOME: {
      mosix_go_home go{-1};
      if (payload.size() == sizeof go) memcpy(&go, payload.data(), sizeof go);
      if (events_.go_home) {
        events_.go_home(cred.pid, fd, go.nr);
      } else {
        (void)SendMessage(fd, MOSIX_MSG_ERROR, "this agent cannot bring processes home");
      }
      return true;
    }
    default:
      (void)SendMessage(fd, MOSIX_MSG_ERROR, absl::StrCat("unknown message type ", h.type));
      return true;
  }
}

void ChannelServer::WatchForks(bool scan) {
  if (table_->Empty()) {
    TakeForks();  // (the forks read late of processes that ended: none, or they make it non-empty)
  }
  if (table_->Empty()) {
    fork_watch_ = ForkWatch();  // (unsubscribed: the kernel makes no events for nobody)
    watching_forks_ = false;
    return;
  }
  if (watching_forks_) return;
  watching_forks_ = true;
  if (!fork_watch_failed_) {
    absl::StatusOr<ForkWatch> w = ForkWatch::Open(&fork_subscription_);
    if (w.ok()) {
      fork_watch_ = std::move(*w);
    } else {
      fork_watch_failed_ = true;
      fprintf(stderr, "mosixd: %s; children forked under mosrun are found in /proc every %d ms instead\n",
              std::string(w.status().message()).c_str(), static_cast<int>(kForkScanEvery / std::chrono::milliseconds(1)));
    }
  }
  // The forks before it listened (or all of them, where it cannot listen).
  if (scan) table_->FindChildren(ParentsInProc());
  last_fork_scan_ = std::chrono::steady_clock::now();
}

size_t ChannelServer::TakeForks() {
  if (!watching_forks_) return 0;
  auto now = std::chrono::steady_clock::now();
  if (!fork_watch_.valid()) {
    if (now - last_fork_scan_ < kForkScanEvery) return 0;
    last_fork_scan_ = now;
    return table_->FindChildren(ParentsInProc());
  }
  std::vector<Fork> forks;
  bool complete = fork_watch_.Drain(&forks);
  size_t noted = table_->Forked(forks);
  if (!complete) {  // the kernel dropped some: the rest are in /proc
    last_fork_scan_ = now;
    noted += table_->FindChildren(ParentsInProc());
  }
  return noted;
}

void ChannelServer::Greeted(pid_t pid, int fd) {
  // (A child under mosrun is only noted: see ProcessTable::Greet.)
  if (table_->Greet(pid, fd)) return;
  // A process of the table, with the program it exec'd (or, after mosrun, its first).
  auto argv = ReadCmdline(pid);
  std::string node = table_->SetChannel(pid, fd, argv.ok() ? *argv : std::vector<std::string>{});
  if (!node.empty() && events_.start_on) events_.start_on(pid, node);
}

namespace {

// Writes msg on pid's stderr (its own fd 2, taken with pidfd_getfd: a terminal, pipe, file or
// socket alike), for a process about to be killed that can no longer say why itself.
void SayOnStderrOf(pid_t pid, const std::string& msg) {
  UniqueFd err = TakeFdOf(pid, 2);
  if (!err.valid()) return;
  // Only if it can be written now (never stuck on a full pipe; its flags are the user's
  // terminal's too, and are left alone).
  pollfd p{err.get(), POLLOUT, 0};
  if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) return;
  if (::write(err.get(), msg.data(), std::min<size_t>(msg.size(), 512)) < 0) {
    fprintf(stderr, "mosixd: cannot tell process %d why it ends: write on its stderr: %s\n", pid, strerror(errno));
  }
}

}  // namespace

void ChannelServer::HandleRestore(int fd, const ucred& cred, const std::string& payload, UniqueFd image_fd) {
  pid_t pid = cred.pid;
  auto fail = [&](const absl::Status& s) { (void)SendMessage(fd, MOSIX_MSG_ERROR, std::string(s.message())); };
  std::vector<std::string> parts = absl::StrSplit(payload, '\0', absl::SkipEmpty());
  if (parts.empty()) return fail(absl::InvalidArgumentError("restore request names no image"));
  // The image comes open: the recovering user opened it with her own rights. The agent opens
  // nothing on her behalf.
  if (!image_fd.valid()) return fail(absl::InvalidArgumentError("restore request without the image's file"));
  RestoreOptions options;
  options.keep_fds = {0, 1, 2, MOSIX_CHANNEL_FD};
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    int n;
    if (!absl::SimpleAtoi(kv.first, &n) || n < 0 || kv.second.empty()) {
      return fail(absl::InvalidArgumentError(absl::StrCat("bad fd redirection '", parts[i], "' (want FD=PATH)")));
    }
    options.fd_overrides[n] = kv.second;
  }
  auto image = LoadImage(image_fd.get(), parts[0]);
  if (!image.ok()) return fail(image.status());
  const image::Core& core = (*image)->core();
  if (cred.uid != 0) {
    // Hers only, and it runs as her whatever the image says.
    if (!core.has_creds()) {
      return fail(absl::PermissionDeniedError(absl::StrCat("permission denied: ", parts[0], " does not say whose process it is; only root may recover it")));
    }
    if (core.creds().uid() != cred.uid) {
      return fail(absl::PermissionDeniedError(absl::StrCat("permission denied: ", parts[0], " is the image of a process of uid ",
                                                           core.creds().uid(), ", not of uid ", cred.uid)));
    }
    options.identity = Identity::kTargetsOwn;
  } else {
    // Root may recover anyone's, and the process is then its owner's again.
    options.identity = core.has_creds() ? Identity::kImageOwner : Identity::kTargetsOwn;
  }
  {
    // What the image needs (files, cwd) is looked at with the recovering user's rights: the
    // agent tells her nothing about files she could not see.
    auto who = ReadCredentials(pid);
    FsIdentity as = who.ok() ? FileIdentity(*who) : FsIdentity{};
    ScopedFsIdentity scope(who.ok() ? &as : nullptr);
    if (!who.ok() || !scope.status().ok()) return fail(who.ok() ? scope.status() : who.status());
    if (auto s = CheckRestorable(**image, options); !s.ok()) return fail(s);
  }
  auto task = Task::Seize(pid);
  if (!task.ok()) return fail(task.status());
  absl::Status s = Restore(*task, **image, options);
  if (!s.ok()) {
    if (absl::IsAborted(s)) {
      fprintf(stderr, "mosixd: recovery of %s into pid %d failed half-way: %s\n", parts[0].c_str(), pid,
              std::string(s.message()).c_str());
      SayOnStderrOf(pid, absl::StrCat("mosrun: cannot recover ", parts[0], ": it failed half-way, and the process is lost: ",
                                      s.message(), "\n"));
      task->Kill();
      return;
    }
    return fail(s);
  }
  ProcessEntry entry;
  entry.pid = pid;
  for (const auto& a : (*image)->core().process().argv()) entry.argv.push_back(a);
  entry.options = (*image)->core().process().options();
  entry.channel_fd = fd;
  entry.last_checkpoint = parts[0];
  (void)table_->Register(entry);
}

}  // namespace mosix::agent
