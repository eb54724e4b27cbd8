// Where an agent listens and keeps its state, from the environment, as every command and the
// agent itself resolve it.
//
// This header and paths.cc link no Abseil (errors are said in strings): mosrun, which is on
// every program's start path, uses them and must not pay for Abseil's static initialisers
// (see cli/mosrun.cc). base/net.h has the absl::Status forms.
#pragma once

#include <sys/un.h>

#include <string>
#include <vector>

namespace mosix {

// MOSIX_SOCKET, default /run/mosix/mosixd.sock: gRPC for local clients.
std::string AgentSocketPath();
// The SOCK_SEQPACKET socket for shims and recovery stubs, beside the gRPC socket.
std::string ChannelSocketPath(const std::string& agent_socket);
// MOSIX_STATE_DIR, default /var/lib/mosix.
std::string StateDir();

// The path of this process's executable (/proc/self/exe), or "" if it cannot be read.
std::string ThisExecutable();

// A file that ships with the commands: the value of env_var if set, else the first of
// `relative` (paths relative to this executable's directory) that exists with `mode` access,
// else `fallback`.
std::string FindBesideExecutable(const char* env_var, const std::vector<std::string>& relative, int mode,
                                 const std::string& fallback);

// The one-line advice printed when no agent answers.
std::string NoAgentMessage(const std::string& socket);

// *addr is a Unix socket address for `path`; false when the path is too long for one.
bool FillUnixAddress(const std::string& path, sockaddr_un* addr);

// "" if a stream socket at `path` accepts a connection from this process; else the real reason,
// in one line (no agent there, permission denied, no one listening: a stale socket), and *err
// the errno that said it.
std::string AgentSocketProblem(const std::string& path, int* err);

}  // namespace mosix
