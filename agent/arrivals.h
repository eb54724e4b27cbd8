// The target side of a move: processes arriving from their home nodes. For each arrival a
// one-use TCP listener receives the link from the deputy; the image is received into this
// node's state dir and restored, in remote mode, into a stub process the agent starts.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <list>
#include <chrono>
#include <deque>
#include <map>
#include <thread>
#include <memory>
#include <string>

#include "agent/file_digests.h"
#include "agent/process/guest_store.h"
#include "agent/process/lifeline_keeper.h"
#include "agent/transport/link_relay.h"
#include "agent/transport/move_connection.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/event_fd.h"
#include "base/fd.h"
#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

struct GuestLink;

class Arrivals {
 public:
  // tls: this node's TLS for the connections of a move (null on a trusted network); relays
  // carry links through it.
  // state_dir: its guests' records go under state_dir/guests (a restarted agent takes them
  // back: TakeBackGuests).
  Arrivals(std::string state_dir, std::string node_address, cluster::ClusterMap map, FileDigests* digests,
           const security::TlsContext* tls, LinkRelays* relays);
  // Guests still here go on without this agent, for a while (process/lifeline_keeper.h): a
  // restarted one takes them back. A stub, or a copy that has left and waits to be ended,
  // dies with it.
  ~Arrivals();

  // After a restart (arrivals_adopt.cc): the guests of the agent before this one that still
  // run are this agent's again, and their home agents are told (StillHere); a guest its home
  // no longer counts on is ended. Runs in a thread of its own (joined by the destructor), once
  // this agent serves its peers.
  void TakeBackGuests();

  absl::StatusOr<PrepareArrivalReply> Prepare(const PrepareArrivalRequest& req);
  // `from`: the node that asks, as its certificate says ("" on a trusted network, where peers
  // are not authenticated). A guest is its home node's business only.
  absl::StatusOr<ArrivalReply> Arrive(grpc::ServerReaderInterface<ArrivalChunk>* reader, const std::string& from);

  // Delivers a signal sent at home to a guest running here.
  absl::Status Signal(pid_t local_pid, int signo, uint32_t seq, const std::string& from);

  // Checkpoints the guest req.local_pid and streams the image: one that leaves stays here,
  // stopped, until FinishDeparture; otherwise (a checkpoint) it goes on. See DepartRequest for
  // when a guest waiting for a forwarded call's reply may be caught.
  absl::Status Depart(const DepartRequest& req, grpc::ServerWriterInterface<DepartChunk>* writer, bool leaving,
                      const std::string& from);
  // After Depart: the guest runs at home now (end it here), or not (let it go on here).
  absl::Status FinishDeparture(pid_t local_pid, bool arrived, const std::string& from);

  struct Guest {
    std::string home_node;
    int32_t home_pid = 0;
    uint64_t shim_text_start = 0, shim_text_end = 0;  // its shim (inlined, so nameless here)
    uint64_t shim_info = 0;
    uint64_t start_time = 0;  // /proc/PID/stat field 22
    // The write end of its lifeline: it dies when the last copy closes (agent/lifeline.h): this
    // one, and the keeper's while it runs (process/lifeline_keeper.h). Null for a guest taken
    // back after a restart whose lifeline no keeper held.
    std::shared_ptr<UniqueFd> lifeline;
    // The last signal this agent delivered to it: how a guest that is not this agent's child
    // (taken back) is said to have ended, when it ends without telling its deputy.
    std::shared_ptr<std::atomic<int>> last_signal;
    // Its link's state, shared with the relay that carries it (TLS only).
    std::shared_ptr<GuestLink> link;
  };
  // Guests running here, by local pid.
  std::map<pid_t, Guest> Guests();
  // Guests that ended here lately (kEndedKeptFor), and how, for the home that asks.
  struct Ended {
    std::string home_node;
    int32_t home_pid = 0;
    pid_t local_pid = 0;
    int wait_status = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Ended> RecentlyEnded();
  // This agent stops, or expels its guests (`why`): asks each guest's home agent to take it
  // back, all at once, and waits (up to `seconds`). When the agent stops, those still here after
  // that die with it (their lifelines).
  void SendGuestsHome(int seconds, const std::string& why = "stopping");
  // This agent stops: no arrival is taken from now on ("stopping"), and those under way are
  // waited for (up to `seconds`), so that SendGuestsHome finds them as guests rather than
  // leaving them to run here with no agent.
  void CloseArrivals(int seconds);

  // A restarted home agent relinks its guest (arrivals_relink.cc; link_invariants.h, I5).
  absl::StatusOr<PrepareRelinkReply> PrepareRelink(const PrepareRelinkRequest& req, const std::string& from);
  absl::Status Relink(const RelinkRequest& req, const std::string& from);
  // The guest local_pid, if it is one of `from`'s ("" : anyone's); else NotFound or
  // PermissionDenied.
  absl::StatusOr<Guest> GuestOf(pid_t local_pid, const std::string& from);

 private:
  absl::StatusOr<sockaddr_in> DataAddressOf(const DepartRequest& req) const;
  struct Pending {
    MoveListener link;  // for the link from the deputy
    MoveListener data;  // for the image stream from the home agent (or image_from)
    Guest home;
    std::string image_from;  // the node that sends the image: the home node unless another
  };
  // Starts a stub process (it will wait in pause() with `link` as its channel); WaitForStub
  // returns once it does.
  // guest: gets the write end of its lifeline (agent/lifeline.h).
  absl::StatusOr<pid_t> StartStub(int link, Guest* guest);
  absl::Status WaitForStub(pid_t pid);
  // The keeper holds the guest's lifeline, or not (see lifeline_keeper.h for when).
  void KeepLifeline(pid_t pid, const Guest& guest, bool kept);
  // Waits (in a thread) for the guest `pid` to end, then tells its home how, and forgets it.
  void Reap(pid_t pid);
  // Writes a guest's record (GuestStore), as TakeBack reads it (arrivals_adopt.cc).
  void SaveRecord(pid_t pid, const Guest& guest);
  void TakeBack(const GuestRecord& record, UniqueFd lifeline);
  // The guest local_pid if it is `from`'s (see GuestOf).
  absl::StatusOr<std::map<pid_t, Guest>::iterator> FindGuest(pid_t local_pid, const std::string& from)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string state_dir_;
  std::string node_address_;
  cluster::ClusterMap map_;
  FileDigests* digests_;
  const security::TlsContext* tls_;
  LinkRelays* relays_;
  absl::Mutex mu_;
  std::map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::map<pid_t, Guest> guests_ ABSL_GUARDED_BY(mu_);
  // How the guests that ended lately ended: their home may not have heard it (it was down).
  static constexpr std::chrono::minutes kEndedKeptFor{10};
  static constexpr size_t kEndedKept = 4096;
  std::deque<Ended> ended_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // CloseArrivals
  int arriving_ ABSL_GUARDED_BY(mu_) = 0;     // Arrive calls under way
  struct PendingRelink {
    MoveListener listener;
    pid_t local_pid = 0;
  };
  std::map<std::string, PendingRelink> relinks_ ABSL_GUARDED_BY(mu_);
  // Starts the relay of a guest's link through TLS; when its home closes it, the guest has
  // MOSIX_RELINK_WAIT_S (and a little) to get a new one, or WatchUnlinked ends it.
  void RelayLink(const std::shared_ptr<GuestLink>& link, UniqueFd local, std::unique_ptr<security::TlsConnection> tls);
  void WatchUnlinked();
  // One thread per guest waits for its end (Reap); joined as they end, and all by the destructor.
  absl::Mutex reap_mu_;
  std::list<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> reapers_ ABSL_GUARDED_BY(reap_mu_);
  GuestStore store_;
  std::map<pid_t, UniqueFd> taken_over_;  // lifelines from the keeper of the agent before (TakeBackGuests)
  std::unique_ptr<LifelineKeeper> keeper_;  // (null if it could not start: guests then die with this agent)
  absl::Notification stop_watch_;
  EventFd stopping_;  // readable once this agent stops: reapers stop waiting
  std::thread adopt_;  // TakeBackGuests
  std::thread unlinked_watch_;  // (last: started once everything above is)
};

// A guest's link as its relay sees it: when its far end (home) closed it, and the process, by
// pidfd (never another that took its pid).
struct GuestLink {
  UniqueFd pidfd;
  std::atomic<int64_t> unlinked_since_ms{0};  // steady clock; 0: linked
};

// The first thing mosixd does when started as `mosixd --stub`: wait, single-threaded, to be
// turned into an arriving process.
[[noreturn]] void RunStub();

}  // namespace mosix::agent
