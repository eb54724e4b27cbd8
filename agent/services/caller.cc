#include "agent/services/caller.h"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "checkpoint/creds.h"

namespace mosix::agent {

absl::StatusOr<int> PeerFd(const std::string& peer) {
  int fd = -1;
  if (!absl::StartsWith(peer, "fd:") || !absl::SimpleAtoi(peer.substr(3), &fd) || fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat("not a client door connection: '", peer, "'"));
  }
  return fd;
}

absl::StatusOr<Caller> CallerOf(const grpc::ServerContext& ctx) {
  auto fd = PeerFd(ctx.peer());
  if (!fd.ok()) return absl::PermissionDeniedError("permission denied: this call is for local clients on the agent's socket");
  int domain = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(*fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) {
    return absl::PermissionDeniedError("permission denied: the caller is not on the agent's Unix socket");
  }
  ucred cred{};
  len = sizeof cred;
  if (::getsockopt(*fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return ErrnoStatus("getsockopt(SO_PEERCRED)", "client");
  return Caller{cred.pid, cred.uid, cred.gid};
}

absl::Status CheckMayControl(const Caller& caller, pid_t pid) {
  auto creds = ReadCredentials(pid);
  if (!creds.ok()) return absl::NotFoundError(absl::StrCat("pid ", pid, " is not a process running under mosrun on this node"));
  if (caller.uid != 0 && !SingleIdentity(*creds)) {
    // A set-user-ID program: its memory is not its real user's to take away.
    return absl::PermissionDeniedError(absl::StrCat("permission denied: pid ", pid, " runs with more than one identity (a set-user-ID or set-group-ID program)"));
  }
  if (MayControl(caller.uid, *creds)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("permission denied: pid ", pid, " belongs to ", UserName(creds->uid()), ", not to ", UserName(caller.uid)));
}

absl::Status CheckCallerMayControl(const grpc::ServerContext& ctx, pid_t pid) {
  ASSIGN_OR_RETURN(Caller caller, CallerOf(ctx));
  return CheckMayControl(caller, pid);
}

namespace {

// uid's name in this node's user database, if it is there.
std::optional<std::string> LookUpUser(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw;
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
  return std::string(found->pw_name);
}

}  // namespace

bool KnowsUser(uid_t uid) { return LookUpUser(uid).has_value(); }

std::string UserName(uid_t uid) { return LookUpUser(uid).value_or(absl::StrCat(uid)); }

}  // namespace mosix::agent
