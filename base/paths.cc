#include "base/paths.h"

#include <limits.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>


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
  return "no mosix agent at " + socket + " (start one with `mosixd &`, or point MOSIX_SOCKET at a running agent's socket)";
}

bool FillUnixAddress(const std::string& path, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) return false;
  memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

std::string AgentSocketProblem(const std::string& path, int* err) {
  sockaddr_un addr;
  if (!FillUnixAddress(path, &addr)) {
    *err = ENAMETOOLONG;
    return "socket path too long: " + path;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return std::string("socket: ") + strerror(*err);
  }
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  *err = r == 0 ? 0 : errno;
  ::close(fd);
  switch (*err) {
    case 0:
      return "";
    case ENOENT:
      return NoAgentMessage(path);
    case EACCES:
    case EPERM:
      return "permission denied on " + path + " (the agent's socket)";
    case ECONNREFUSED:
      return "no mosix agent listens on " + path + " (a stale socket: start one with `mosixd &`)";
    default:
      return "cannot reach the mosix agent at " + path + ": " + strerror(*err);
  }
}

}  // namespace mosix
