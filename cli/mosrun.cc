// mosrun: runs a program under mosix, or recovers one from a checkpoint.
//
//   mosrun [-C FILE] [-A MINUTES] [-e] [-h] PROGRAM [ARGS...]
//   mosrun -R FILE [-O FD=PATH]...
//
// The program replaces mosrun (same pid), so the caller's shell stays its parent and sees its
// real exit status. A recovery turns this very process into the checkpointed one: the agent
// rewrites it through ptrace, so the recovered process has mosrun's pid, parent and stdio.
//
// mosrun is on the path of every program's start, as the shim is, and keeps to this rule:
// it links no Abseil and nothing that includes <iostream>. Their static initialisers (the
// standard streams and their locales, which every Abseil string and status file pulls in)
// touched 19 pages more at each start (46 page faults for `mosrun --help`, 27 without), and a
// first touch costs 15 us on the VMs this runs on (cli/BUILD links it statically for the same
// reason). Errors are said in strings.
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "base/fd_passing.h"
#include "base/paths.h"
#include "interceptor/channel_protocol.h"

namespace {

constexpr char kProg[] = "mosrun";

int Usage() {
  fprintf(stderr,
          "usage: mosrun [-C FILE] [-A MINUTES] [-e] [-h | -r NODE | -b] [-L] [-m MB] PROGRAM [ARGS...]\n"
          "       mosrun -R FILE [-O FD=PATH]...\n"
          "  -C FILE     checkpoints go to FILE.1, FILE.2, ...\n"
          "  -A MINUTES  take a checkpoint every MINUTES (fractions allowed)\n"
          "  -e          unsupported calls fail with an error instead of killing the program\n"
          "  -h          keep the program on its home node (no automatic moves)\n"
          "  -r NODE     start at home and move to NODE as soon as the program runs\n"
          "  -b          start on the best node now (the cluster chooses)\n"
          "  -L          lock: no automatic moves (by hand only: migrate)\n"
          "  -m MB       the memory it will need: never placed where there is less\n"
          "  Otherwise the cluster moves it when and where it runs best.\n"
          "  -R FILE     recover the process checkpointed in FILE\n"
          "  -O FD=PATH  with -R: open PATH as fd FD instead of what the image says\n");
  return 2;
}

// The whole of `s` as a number of type T (no sign for unsigned ones); false if it is not one.
template <typename T>
bool ParseNumber(const char* s, T* out) {
  if (!*s || isspace(static_cast<unsigned char>(*s))) return false;
  char* end = nullptr;
  errno = 0;
  if constexpr (std::is_floating_point_v<T>) {
    *out = static_cast<T>(strtod(s, &end));
  } else {
    if (*s == '-' || *s == '+') return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (v > static_cast<unsigned long long>(std::numeric_limits<T>::max())) return false;
    *out = static_cast<T>(v);
  }
  return errno == 0 && *end == '\0';
}

int Die(const std::string& msg, int code = 1) {
  fprintf(stderr, "%s: %s\n", kProg, msg.c_str());
  return code;
}

std::string Absolute(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return p;
  return std::string(cwd) + "/" + p;
}

// The shim: MOSIX_SHIM, else beside this binary, else ../lib/mosix/ from it (installed), else
// the Bazel tree.
std::string ShimPath() {
  return mosix::FindBesideExecutable("MOSIX_SHIM", {"libmosix.so", "../lib/mosix/libmosix.so", "../interceptor/libmosix.so"},
                                     R_OK, "");
}

// A connection to the agent's channel (its path in *channel), or -1 after saying why.
int ConnectChannel(std::string* channel) {
  *channel = mosix::ChannelSocketPath(mosix::AgentSocketPath());
  sockaddr_un addr;
  if (!mosix::FillUnixAddress(*channel, &addr)) return Die("socket path too long: " + *channel), -1;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
  int err = errno;
  if (fd >= 0) close(fd);
  // Why not, said as precisely as the agent's own socket tells (only now: a start under
  // mosrun pays for no second connection).
  int agent_err = 0;
  if (std::string why = mosix::AgentSocketProblem(mosix::AgentSocketPath(), &agent_err); !why.empty()) return Die(why), -1;
  Die(err == EACCES ? "permission denied on " + *channel + " (the agent's channel)" : mosix::NoAgentMessage(mosix::AgentSocketPath()));
  return -1;
}

int Recover(const std::string& file, const std::vector<std::string>& overrides) {
  // The agent loads and checks the image (every checksum, the version, the files it needs)
  // before it touches this process, and answers a refusal on the channel: nothing starts.
  std::string path = Absolute(file);
  std::map<int, std::string> fd_overrides;
  for (const std::string& o : overrides) {
    size_t eq = o.find('=');
    int fd;
    if (eq == std::string::npos || !ParseNumber(o.substr(0, eq).c_str(), &fd) || eq + 1 == o.size()) {
      return Die("bad -O '" + o + "' (want FD=PATH)", 2);
    }
    fd_overrides[fd] = Absolute(o.substr(eq + 1));
  }

  // The image is opened here, with this user's rights, and handed to the agent open.
  int image = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (image < 0) return Die("cannot recover " + path + ": " + strerror(errno));
  std::string channel;
  int fd = ConnectChannel(&channel);
  if (fd < 0) return 1;
  if (dup3(fd, MOSIX_CHANNEL_FD, O_CLOEXEC) != MOSIX_CHANNEL_FD) return Die("cannot set up the recovery channel");
  close(fd);
  // The image's fd goes out of the way of the closing below, until it is sent.
  constexpr int kImageFd = MOSIX_CHANNEL_FD - 1;
  if (image != kImageFd) {
    if (dup3(image, kImageFd, O_CLOEXEC) != kImageFd) return Die("cannot keep the image open for the agent");
    close(image);
    image = kImageFd;
  }
  // The recovered process gets stdio and the channel from us, nothing else.
  syscall(SYS_close_range, 3, MOSIX_CHANNEL_FD - 2, 0);
  syscall(SYS_close_range, MOSIX_CHANNEL_FD + 1, ~0u, 0);

  std::string payload = path + '\0';
  for (const auto& [n, p] : fd_overrides) payload += std::to_string(n) + "=" + p + '\0';
  std::string msg(sizeof(mosix_msg_header), '\0');
  mosix_msg_header h{MOSIX_MSG_RESTORE, static_cast<uint32_t>(payload.size())};
  memcpy(msg.data(), &h, sizeof h);
  msg += payload;
  if (mosix::SendWithFd(MOSIX_CHANNEL_FD, msg.data(), msg.size(), image) != static_cast<ssize_t>(msg.size())) {
    return Die("cannot reach the agent's channel");
  }
  close(image);  // the agent has its own copy
  // On success the agent replaces this process and we never return from recv.
  char reply[MOSIX_CHANNEL_MAX_MSG];
  ssize_t n;
  do {
    n = recv(MOSIX_CHANNEL_FD, reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n >= static_cast<ssize_t>(sizeof h)) {
    memcpy(&h, reply, sizeof h);
    if (h.type == MOSIX_MSG_ERROR) return Die("cannot recover " + path + ": " + std::string(reply + sizeof h, n - sizeof h));
  }
  return Die("the agent closed the channel during recovery");
}

}  // namespace

int main(int argc, char** argv) {
  std::string ckpt_file, recover, start_on;
  bool error_on_unsupported = false;
  uint32_t flags = 0, memory_mb = 0;
  double minutes = 0;
  std::vector<std::string> overrides;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        Die(a + " needs " + what, 2);
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--") {
      ++i;
      break;
    } else if (a == "--help") {
      Usage();
      return 0;
    } else if (a == "-C") {
      ckpt_file = Absolute(value("a FILE"));
      // Checkpoints are written as this user: refuse now a place she cannot write.
      std::string dir = ckpt_file.substr(0, ckpt_file.find_last_of('/'));
      if (dir.empty()) dir = "/";
      if (access(dir.c_str(), W_OK | X_OK) != 0) {
        return Die("-C " + ckpt_file + ": cannot create files in " + dir + ": " + strerror(errno), 2);
      }
    } else if (a == "-A") {
      const char* v = value("MINUTES");
      if (!ParseNumber(v, &minutes) || !(minutes > 0) || minutes > 1e9) return Die(std::string("-A: '") + v + "' is not a positive number of minutes", 2);
    } else if (a == "-R") {
      recover = value("a FILE");
    } else if (a == "-O") {
      overrides.push_back(value("FD=PATH"));
    } else if (a == "-r") {
      start_on = value("a NODE");
    } else if (a == "-e") {
      error_on_unsupported = true;
    } else if (a == "-h") {
      flags |= MOSIX_REGISTER_KEEP_HOME;
    } else if (a == "-L") {
      flags |= MOSIX_REGISTER_LOCKED;
    } else if (a == "-b") {
      flags |= MOSIX_REGISTER_BEST;
    } else if (a == "-m") {
      const char* v = value("MB");
      if (!ParseNumber(v, &memory_mb) || memory_mb == 0) return Die(std::string("-m: '") + v + "' is not a positive number of MB", 2);
    } else {
      Die("unknown option " + a);
      return Usage();
    }
  }
  if (!recover.empty()) {
    if (i != argc) return Die("-R takes no PROGRAM: the image holds it", 2);
    return Recover(recover, overrides);
  }
  if (!overrides.empty()) return Die("-O goes with -R", 2);
  if ((flags & MOSIX_REGISTER_KEEP_HOME) && !start_on.empty()) return Die("-h keeps the program home: not with -r NODE", 2);
  if ((flags & MOSIX_REGISTER_KEEP_HOME) && (flags & MOSIX_REGISTER_BEST)) return Die("-h keeps the program home: not with -b", 2);
  if ((flags & MOSIX_REGISTER_BEST) && !start_on.empty()) return Die("-b lets the cluster choose: not with -r NODE", 2);
  if (i >= argc) return Usage();

  // Registered on the agent's channel (a datagram each way, no RPC stack to load): the
  // program's start waits for one round trip.
  std::string channel;
  int fd = ConnectChannel(&channel);
  if (fd < 0) return 1;
  if (argc - i > MOSIX_REGISTER_MAX_ARGC) return Die("too many arguments", 2);
  mosix_register head{MOSIX_CHANNEL_VERSION, static_cast<uint32_t>(argc - i), minutes * 60, flags, memory_mb};
  std::string payload(reinterpret_cast<const char*>(&head), sizeof head);
  payload += ckpt_file + '\0' + start_on + '\0';
  for (int k = i; k < argc; ++k) payload += std::string(argv[k]) + '\0';
  if (payload.size() + sizeof(mosix_msg_header) > MOSIX_CHANNEL_MAX_MSG) return Die("the command line is too long to register", 2);
  mosix_msg_header h{MOSIX_MSG_REGISTER, static_cast<uint32_t>(payload.size())};
  std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
  msg += payload;
  if (send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
    return Die("cannot reach the agent's channel " + channel + ": " + strerror(errno));
  }
  char reply[MOSIX_CHANNEL_MAX_MSG];
  ssize_t n;
  do {
    n = recv(fd, reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n < static_cast<ssize_t>(sizeof h)) return Die("the agent closed its channel while registering");
  memcpy(&h, reply, sizeof h);
  if (h.type == MOSIX_MSG_ERROR) return Die(std::string(reply + sizeof h, n - sizeof h));
  if (h.type != MOSIX_MSG_OK) return Die("the agent answered the registration with message " + std::to_string(h.type));
  mosix_registered registered{0};
  if (h.len == sizeof registered && n == static_cast<ssize_t>(sizeof h + sizeof registered)) {
    memcpy(&registered, reply + sizeof h, sizeof registered);
  }

  // The program keeps this connection as its channel (the shim greets on it, InheritedChannel):
  // its start pays for no connection of its own, nor the agent for an accept.
  std::string shim = ShimPath();
  if (!shim.empty()) {
    const char* old = getenv("LD_PRELOAD");
    setenv("LD_PRELOAD", old && *old ? (shim + ":" + old).c_str() : shim.c_str(), 1);
    (void)dup3(fd, MOSIX_CHANNEL_FD, 0);  // (should it fail, the shim connects by itself)
  }
  close(fd);
  setenv(MOSIX_CHANNEL_ENV, channel.c_str(), 1);
  if (error_on_unsupported) setenv("MOSIX_ERROR_ON_UNSUPPORTED", "1", 1);
  if (registered.flags & MOSIX_REGISTERED_GREET_FORKS) {
    setenv(MOSIX_GREET_FORKS_ENV, "1", 1);
  } else {
    unsetenv(MOSIX_GREET_FORKS_ENV);  // (one left by an outer mosrun under another agent)
  }
  execvp(argv[i], argv + i);
  int err = errno;
  return Die(std::string("cannot run '") + argv[i] + "': " + strerror(err), err == ENOENT ? 127 : 126);
}
