#include "base/paths.h"

#include <limits.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/net.h"

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

std::string ThisExecutable() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  return n > 0 ? std::string(exe, n) : std::string();
}

std::string FindBesideExecutable(const char* env_var, const std::vector<std::string>& relative, int mode,
                                 const std::string& fallback) {
  if (const char* s = getenv(env_var); s && *s) return s;
  std::string dir = ThisExecutable();
  if (dir.empty()) return fallback;
  dir = dir.substr(0, dir.find_last_of('/'));
  for (const std::string& r : relative) {
    std::string c = dir + "/" + r;
    if (access(c.c_str(), mode) == 0) return c;
  }
  return fallback;
}

std::string NoAgentMessage(const std::string& socket) {
  return absl::StrCat("no mosix agent at ", socket,
                      " (start one with `mosixd &`, or point MOSIX_SOCKET at a running agent's socket)");
}

absl::Status CheckAgentSocket(const std::string& path) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  int err = errno;
  ::close(fd);
  if (r == 0) return absl::OkStatus();
  switch (err) {
    case ENOENT:
      return absl::UnavailableError(NoAgentMessage(path));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat("permission denied on ", path, " (the agent's socket)"));
    case ECONNREFUSED:
      return absl::UnavailableError(absl::StrCat("no mosix agent listens on ", path, " (a stale socket: start one with `mosixd &`)"));
    default:
      return absl::UnavailableError(absl::StrCat("cannot reach the mosix agent at ", path, ": ", strerror(err)));
  }
}

}  // namespace mosix
