// Where an agent listens and keeps its state, from the environment, as every command and the
// agent itself resolve it.
#pragma once

#include <string>
#include <vector>

namespace mosix {

// MOSIX_SOCKET, default /run/mosix/mosixd.sock: gRPC for local clients.
std::string AgentSocketPath();
// The SOCK_SEQPACKET socket for shims and recovery stubs, beside the gRPC socket.
std::string ChannelSocketPath(const std::string& agent_socket);
// MOSIX_STATE_DIR, default /var/lib/mosix.
std::string StateDir();

// A file that ships with the commands: the value of env_var if set, else the first of
// `relative` (paths relative to this executable's directory) that exists with `mode` access,
// else `fallback`.
std::string FindBesideExecutable(const char* env_var, const std::vector<std::string>& relative, int mode,
                                 const std::string& fallback);

// The one-line advice printed when no agent answers.
std::string NoAgentMessage(const std::string& socket);

}  // namespace mosix
