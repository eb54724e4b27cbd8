#include "base/paths.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace mosix {

std::string AgentSocketPath() {
  const char* s = getenv("MOSIX_SOCKET");
  return s && *s ? s : "/run/mosix/mosixd.sock";
}

std::string ChannelSocketPath(const std::string& agent_socket) { return agent_socket + ".channel"; }

std::string StateDir() {
  const char* s = getenv("MOSIX_STATE_DIR");
  return s && *s ? s : "/var/lib/mosix";
}

std::string NoAgentMessage(const std::string& socket) {
  return absl::StrCat("no mosix agent at ", socket,
                      " (start one with `mosixd &`, or point MOSIX_SOCKET at a running agent's socket)");
}

}  // namespace mosix
