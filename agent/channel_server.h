// The agent's end of the channels: a SOCK_SEQPACKET listener that shims greet (HELLO) and
// recovery stubs ask to be turned into a checkpointed process (RESTORE).
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "agent/process_table.h"
#include "base/fd.h"

namespace mosix::agent {

class ChannelServer {
 public:
  // on_start_on(pid, node): a process registered with mosrun -r NODE said hello.
  ChannelServer(ProcessTable* table, std::function<void(pid_t, std::string)> on_start_on)
      : table_(table), on_start_on_(std::move(on_start_on)) {}
  ~ChannelServer();

  absl::Status Listen(const std::string& path);
  void Start();
  void Stop();

 private:
  void Loop();
  // Handles one message; returns false when the connection should be closed.
  bool Handle(int fd);
  void HandleRestore(int fd, pid_t pid, const std::string& payload);

  ProcessTable* table_;
  std::function<void(pid_t, std::string)> on_start_on_;
  std::string path_;
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd that Stop() signals
  std::thread thread_;
};

// Sends one channel message (header + payload).
absl::Status SendMessage(int fd, uint32_t type, const std::string& payload);

}  // namespace mosix::agent
