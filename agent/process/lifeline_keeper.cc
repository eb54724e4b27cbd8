#include "agent/process/lifeline_keeper.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/fd_passing.h"
#include "base/file_util.h"
#include "base/net.h"
#include "base/paths.h"
#include "base/status.h"

extern char** environ;

namespace mosix::agent {
namespace {

// One message each way (SOCK_SEQPACKET): a HOLD carries the write end.
struct KeeperMsg {
  uint32_t op;
  int32_t pid;
};
enum : uint32_t { kHold = 1, kDrop = 2, kDone = 3 };

constexpr int kAgentFd = 3;
constexpr char kName[] = "mosix-keeper";

std::string SocketPath(const std::string& state_dir) { return state_dir + "/keeper.sock"; }
std::string PidPath(const std::string& state_dir) { return state_dir + "/keeper.pid"; }

// Whether the keeper the pid file names still runs.
bool KeeperRuns(const std::string& state_dir) {
  auto text = ReadFileToString(PidPath(state_dir));
  int pid = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) return false;
  auto comm = ReadFileToString(absl::StrCat("/proc/", pid, "/comm"));
  return comm.ok() && absl::StripAsciiWhitespace(*comm) == kName;
}

// Hands every lifeline to the agent connected on `conn`, then waits for it to have them all.
void HandOver(int conn, std::map<pid_t, UniqueFd>& held) {
  for (const auto& [pid, fd] : held) {
    KeeperMsg m{kHold, pid};
    if (SendWithFd(conn, &m, sizeof m, fd.get()) != static_cast<ssize_t>(sizeof m)) return;
  }
  KeeperMsg done{kDone, 0};
  if (SendWithFd(conn, &done, sizeof done, -1) != static_cast<ssize_t>(sizeof done)) return;
  pollfd p{conn, POLLIN, 0};
  (void)::poll(&p, 1, 10000);  // (it closes once it has read them)
}

}  // namespace

absl::StatusOr<std::unique_ptr<LifelineKeeper>> LifelineKeeper::Start(const std::string& state_dir) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoStatus("socketpair", "lifeline keeper");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  std::string exe = ThisExecutable();
  if (exe.empty()) return ErrnoStatus("readlink", "/proc/self/exe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), kAgentFd);
  posix_spawn_file_actions_addclosefrom_np(&fa, kAgentFd + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // (A session of its own: a stop signal to the agent's group, a terminal's ^C, spares it.
  // No signal mask or handlers from the agent.)
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  std::string dir = state_dir;
  char arg1[] = "--keeper";
  char* argv[] = {exe.data(), arg1, dir.data(), nullptr};
  pid_t pid = 0;
  int err = posix_spawn(&pid, exe.c_str(), &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    errno = err;
    return ErrnoStatus("posix_spawn", "the lifeline keeper");
  }
  RETURN_IF_ERROR(WriteFileAtomically(PidPath(state_dir), absl::StrCat(pid, "\n"), 0600));
  return std::unique_ptr<LifelineKeeper>(new LifelineKeeper(std::move(mine)));
}

void LifelineKeeper::Hold(pid_t pid, int write_end) {
  KeeperMsg m{kHold, pid};
  if (SendWithFd(sock_.get(), &m, sizeof m, write_end) != static_cast<ssize_t>(sizeof m)) {
    fprintf(stderr, "mosixd: the lifeline keeper does not take guest %d's lifeline: %s\n", pid, strerror(errno));
  }
}

void LifelineKeeper::Drop(pid_t pid) {
  KeeperMsg m{kDrop, pid};
  (void)SendWithFd(sock_.get(), &m, sizeof m, -1);
}

std::map<pid_t, UniqueFd> LifelineKeeper::TakeOver(const std::string& state_dir) {
  std::map<pid_t, UniqueFd> out;
  absl::StatusOr<sockaddr_un> addr = UnixAddress(SocketPath(state_dir));
  if (!addr.ok()) return out;
  // (The keeper opens its socket once it finds its agent gone: give it a moment.)
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  UniqueFd s;
  for (;;) {
    s.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s.valid()) return out;
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0) break;
    if (!KeeperRuns(state_dir) || std::chrono::steady_clock::now() > deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  SetIoTimeouts(s.get(), 10000);
  for (;;) {
    KeeperMsg m{};
    UniqueFd fd;
    ssize_t n = ReceiveWithFd(s.get(), &m, sizeof m, &fd);
    if (n != static_cast<ssize_t>(sizeof m) || m.op == kDone) break;
    if (m.op == kHold && m.pid > 0 && fd.valid()) out[m.pid] = std::move(fd);
  }
  return out;
}

void RunKeeper(const char* state_dir) {
  prctl(PR_SET_NAME, kName);
  signal(SIGPIPE, SIG_IGN);
  std::map<pid_t, UniqueFd> held;
  for (;;) {  // while the agent lives
    KeeperMsg m{};
    UniqueFd fd;
    ssize_t n = ReceiveWithFd(kAgentFd, &m, sizeof m, &fd);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the agent is gone
    if (n != static_cast<ssize_t>(sizeof m)) continue;
    if (m.op == kHold && fd.valid()) held[m.pid] = std::move(fd);
    if (m.op == kDrop) held.erase(m.pid);
  }
  ::close(kAgentFd);
  if (held.empty()) _exit(0);
  std::string path = SocketPath(state_dir);
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  UniqueFd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ::unlink(path.c_str());
  if (!addr.ok() || !listener.valid() || ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
      ::listen(listener.get(), 4) != 0) {
    fprintf(stderr, "mosix-keeper: cannot listen on %s (%s): %zu guests end now\n", path.c_str(), strerror(errno), held.size());
    _exit(1);
  }
  ::chmod(path.c_str(), 0600);
  fprintf(stderr, "mosix-keeper: the agent is gone; %zu guests wait up to %lld s for the next one\n", held.size(),
          static_cast<long long>(kKeeperGrace.count()));
  auto deadline = std::chrono::steady_clock::now() + kKeeperGrace;
  for (;;) {
    absl::StatusOr<UniqueFd> conn = AcceptBefore(listener.get(), deadline, "next agent");
    if (!conn.ok()) break;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn->get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::geteuid()) continue;
    HandOver(conn->get(), held);
    ::unlink(path.c_str());
    _exit(0);
  }
  ::unlink(path.c_str());
  fprintf(stderr, "mosix-keeper: no agent came back within %lld s: %zu guests end\n", static_cast<long long>(kKeeperGrace.count()),
          held.size());
  _exit(0);
}

}  // namespace mosix::agent
