// Who asks: on the client door (the agent's Unix socket), what the kernel says of the
// connection (SO_PEERCRED), never anything the client sends; and whether she may act on a
// process (MOSIX's rule: if you can kill it, you can migrate it).
#pragma once

#include <sys/types.h>

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace mosix::agent {

struct Caller {
  pid_t pid = 0;
  uid_t uid = 0;  // effective, at connect time
  gid_t gid = 0;
};

// The connection's fd from a gRPC peer string of a connection the client door handed to gRPC
// ("fd:N"), or InvalidArgument.
absl::StatusOr<int> PeerFd(const std::string& peer);

// The caller of a call that came through the client door. Its connection (and so its fd) is
// open for as long as the call is: the number cannot have been reused by another client.
absl::StatusOr<Caller> CallerOf(const grpc::ServerContext& ctx);

// OK if `caller` may checkpoint, freeze, move or signal pid (root, or her uid is its real or
// saved uid), else PermissionDenied naming the process and its owner; NotFound if it is gone.
absl::Status CheckMayControl(const Caller& caller, pid_t pid);

// The same for the caller of a call through the client door.
absl::Status CheckCallerMayControl(const grpc::ServerContext& ctx, pid_t pid);

// A user's name, or her number when this node does not know it.
std::string UserName(uid_t uid);
// Whether this node's user database knows uid.
bool KnowsUser(uid_t uid);

}  // namespace mosix::agent
