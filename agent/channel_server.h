// The agent's end of the channels: a SOCK_SEQPACKET listener that shims greet (HELLO) and
// recovery stubs ask to be turned into a checkpointed process (RESTORE).
#pragma once

#include <chrono>
#include <functional>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/process/fork_watch.h"
#include "agent/process_table.h"
#include "proto/agent.pb.h"
#include "base/event_fd.h"
#include "base/fd.h"

namespace mosix::agent {

class ChannelServer {
 public:
  // What the channel tells the rest of the agent.
  struct Events {
    std::function<void(pid_t, std::string)> start_on;  // a process under mosrun -r NODE said hello
    std::function<void(pid_t, int, uint32_t)> signal;  // a deputy got a signal for its remote part (signo, seq)
    std::function<void(pid_t, int)> wait_end;          // a deputy's link closed; it waits on fd
    // A deputy's process must come home to make system call nr there; ERROR to fd if not.
    std::function<void(pid_t, int, int64_t)> go_home;
    // mosrun (pid, as the kernel says) registers itself before it execs the program.
    std::function<absl::Status(pid_t, const RegisterRequest&)> register_process;
  };
  ChannelServer(ProcessTable* table, Events events) : table_(table), events_(std::move(events)) {}
  ~ChannelServer();

  absl::Status Listen(const std::string& path);
  void Start();
  void Stop();
  // Returns once every message that waited on a channel when it was called has been taken
  // (ProcessTable::SetHelloFlush). At once on the channel thread itself, and once stopped.
  void Flush() ABSL_LOCKS_EXCLUDED(flush_mu_);

 private:
  // A channel is read at once when it has carried nothing yet (a registration, a recovery, a
  // channel given to a process, a shim's first hello of its own) or when the table says its
  // process is away, frozen or held (ProcessTable::ChannelsInUse): then its deputy speaks on
  // it. The others carry only the hellos of programs and children at home, and are read every
  // tick (kRestTickMs, doubled after each round that found nothing on them, up to
  // kRestTickMaxMs: an idle agent sleeps) or when anything else wakes the loop: a program's
  // start pays for its hello's send, not for waking the agent on the other CPU (42 us against
  // 5 us on this project's VM). A registration's connection stays fresh until its program's
  // hello (mosrun -r NODE moves it then).
  static constexpr int kRestTickMs = 10, kRestTickMaxMs = 160;
  struct Conn {
    int fd;
    bool fresh = true;  // nothing read from it yet, or only a registration
  };
  void Loop();
  // Handles one message (its type to *type, 0 if malformed); returns false when the
  // connection should be closed.
  bool Handle(int fd, uint32_t* type);
  // pid said hello on fd, its own channel, or on a channel it borrows (fd -1).
  void Greeted(pid_t pid, int fd);
  // Listens to the kernel's forks while the table knows any process (and stops when it knows
  // none); where the kernel will not tell, looks in /proc every kForkScanEvery instead. When it
  // begins to listen, `scan` looks in /proc for the children forked before.
  void WatchForks(bool scan);
  // Notes the children its processes forked since the last round; returns how many.
  size_t TakeForks();
  void HandleRestore(int fd, const struct ucred& cred, const std::string& payload, UniqueFd image_fd);

  ProcessTable* table_;
  Events events_;
  std::string path_;
  UniqueFd listener_;
  EventFd wake_;   // Stop() signals it
  EventFd nudge_;  // Flush() signals it
  std::thread thread_;
  absl::Mutex flush_mu_;
  bool running_ ABSL_GUARDED_BY(flush_mu_) = false;
  std::thread::id loop_id_ ABSL_GUARDED_BY(flush_mu_);
  // Rounds of reading every channel: begun, and done (a Flush waits for one begun after it).
  uint64_t rounds_begun_ ABSL_GUARDED_BY(flush_mu_) = 0, rounds_done_ ABSL_GUARDED_BY(flush_mu_) = 0;
  std::vector<char> recv_buf_;
  // The loop's alone (and Handle's, which it runs).
  static constexpr std::chrono::milliseconds kForkScanEvery{1000};
  ForkWatch fork_watch_;
  ForkWatch::Subscription fork_subscription_ = ForkWatch::Subscription::kUnknown;
  bool watching_forks_ = false, fork_watch_failed_ = false;
  std::chrono::steady_clock::time_point last_fork_scan_;
};

// A REGISTER message's payload (interceptor/channel_protocol.h), checked: a request without its
// pid (the kernel's word for the sender is the caller's to add).
absl::StatusOr<RegisterRequest> ParseRegister(const std::string& payload);

// Sends one channel message (header + payload).
absl::Status SendMessage(int fd, uint32_t type, const std::string& payload);

}  // namespace mosix::agent
