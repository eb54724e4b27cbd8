// Small socket helpers shared by the agent's connections and the commands.
#pragma once

#include <netinet/in.h>
#include <sys/un.h>

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "base/fd.h"

namespace mosix {

// "a.b.c.d:port" as a socket address, or InvalidArgument naming it.
absl::StatusOr<sockaddr_in> ParseIpv4Address(const std::string& address);

// A Unix socket address for `path`, or InvalidArgument when the path is too long for one.
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path);

// OK if a stream socket at path accepts a connection from this process; else the real reason,
// in one line (AgentSocketProblem): PermissionDenied, InvalidArgument for a path too long, or
// Unavailable (no agent there, no one listening: a stale socket).
absl::Status CheckAgentSocket(const std::string& path);

// The host of "host:port" (the whole string when it has no port).
std::string HostPart(const std::string& address);
// The host a node's one-use listeners (and what connects to them) use: its address's host, or
// loopback for a one-node cluster, which has no address.
std::string ListenHost(const std::string& node_address);

// Blocking reads and writes on fd give up after ms milliseconds (0: never).
void SetIoTimeouts(int fd, int ms);

// The next connection on `listener` accepted before `deadline` (close-on-exec), or
// DeadlineExceeded saying that `what` never connected.
absl::StatusOr<UniqueFd> AcceptBefore(int listener, std::chrono::steady_clock::time_point deadline, const std::string& what);

}  // namespace mosix
