#include "agent/services/client_door.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <grpcpp/server_posix.h>

#include "absl/strings/str_cat.h"
#include "base/net.h"
#include "base/status.h"

namespace mosix::agent {

ClientDoor::~ClientDoor() { Stop(); }

absl::Status ClientDoor::Listen(const std::string& path) {
  ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) return ErrnoStatus("socket", path);
  ::unlink(path.c_str());
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return ErrnoStatus("bind", path);
  path_ = path;
  // Every local user may connect; what she may do is decided per call by who she is.
  if (::chmod(path.c_str(), 0666) != 0) return ErrnoStatus("chmod", path);
  if (::listen(listener_.get(), 128) != 0) return ErrnoStatus("listen", path);
  absl::StatusOr<EventFd> wake = EventFd::Make("client door");
  if (!wake.ok()) return wake.status();
  wake_ = std::move(*wake);
  return absl::OkStatus();
}

void ClientDoor::Start(grpc::Server* server) {
  thread_ = std::thread([this, server] { Loop(server); });
}

void ClientDoor::Loop(grpc::Server* server) {
  for (;;) {
    pollfd p[2] = {{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents) return;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    grpc::AddInsecureChannelFromFd(server, fd);  // gRPC owns fd from here
  }
}

void ClientDoor::Stop() {
  if (thread_.joinable()) {
    wake_.Signal();
    thread_.join();
  }
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  listener_.reset();
}

}  // namespace mosix::agent
