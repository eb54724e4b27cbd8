// The agent's client door: its Unix socket, open to every local user (mode 0666), whose
// connections are handed to the client gRPC server one by one, so that each call can be told
// whose it is (see caller.h). The client service has no other way in; the peer service is not
// behind this door.
#pragma once

#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "base/event_fd.h"
#include "base/fd.h"

namespace mosix::agent {

class ClientDoor {
 public:
  ~ClientDoor();
  // Binds and listens on path (an old socket file there is replaced: the caller checked that
  // no agent answers on it).
  absl::Status Listen(const std::string& path);
  // Accepts connections into `server` (built with no listening port) until Stop().
  void Start(grpc::Server* server);
  // Stops accepting, joins the thread, removes the socket file.
  void Stop();

 private:
  void Loop(grpc::Server* server);

  std::string path_;
  UniqueFd listener_;
  EventFd wake_;
  std::thread thread_;
};

}  // namespace mosix::agent
