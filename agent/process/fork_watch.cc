#include "agent/process/fork_watch.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <thread>
#include <utility>
#include <algorithm>

#include "base/status.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {
namespace {

// A subscription: LISTEN, and (since Linux 6.6) which events. Older kernels take only the
// operation, and ignore a longer message.
struct ProcInput {
  uint32_t op;
  uint32_t events;
};

absl::Status Subscribe(int fd, bool listen, bool filtered) {
  ProcInput in{static_cast<uint32_t>(listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE), proc_event::PROC_EVENT_FORK};
  size_t data = filtered ? sizeof in : sizeof in.op;
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(sizeof h + sizeof(cn_msg) + data);
  h.nlmsg_type = NLMSG_DONE;
  cn_msg c{};
  c.id.idx = CN_IDX_PROC;
  c.id.val = CN_VAL_PROC;
  c.len = static_cast<uint16_t>(data);
  char m[sizeof h + sizeof c + sizeof in];
  memcpy(m, &h, sizeof h);
  memcpy(m + sizeof h, &c, sizeof c);
  memcpy(m + sizeof h + sizeof c, &in, sizeof in);
  if (::send(fd, m, h.nlmsg_len, 0) != static_cast<ssize_t>(h.nlmsg_len)) {
    return ErrnoStatus("send", "the kernel's process events (proc connector)");
  }
  return absl::OkStatus();
}

using ForkEvent = decltype(std::declval<proc_event&>().event_data.fork);

}  // namespace

absl::StatusOr<ForkWatch> ForkWatch::Open(Subscription* how) {
  int raw = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (raw < 0) return ErrnoStatus("socket(NETLINK_CONNECTOR)", "the kernel's process events");
  UniqueFd fd(raw);
  // Room for the forks of a busy machine while the agent sleeps (it reads every 10-160 ms).
  int bytes = 8 << 20;
  if (::setsockopt(raw, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(raw, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  addr.nl_pid = 0;  // (the kernel picks a port)
  if (::bind(raw, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoStatus("bind", "the kernel's process events (proc connector)");
  }
  if (*how != Subscription::kUnknown) {
    RETURN_IF_ERROR(Subscribe(raw, true, *how == Subscription::kForksOnly));
    return ForkWatch(std::move(fd), *how);
  }
  for (Subscription s : {Subscription::kForksOnly, Subscription::kEverything}) {
    RETURN_IF_ERROR(Subscribe(raw, true, s == Subscription::kForksOnly));
    ForkWatch w(std::move(fd), s);
    if (w.Proven()) {
      *how = s;
      return w;
    }
    w.Unsubscribe();
    fd = std::move(w.fd_);
  }
  return absl::UnavailableError(
      "the kernel reports no process events to this agent (proc connector: it runs outside the first pid or user "
      "namespace, or the kernel has no CONFIG_PROC_EVENTS)");
}

bool ForkWatch::Proven() {
  pid_t tid = 0;
  std::thread probe([&tid] { tid = static_cast<pid_t>(::syscall(SYS_gettid)); });
  probe.join();
  // (The kernel queues the event as the thread is made: it is there now, or it will not come.)
  alignas(nlmsghdr) char buf[16384];
  for (int round = 0; round < 5; ++round) {  // (at most 40 ms: a channel loop's round waits on it)
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, round == 0 ? 0 : 10) <= 0) continue;
    for (;;) {  // everything queued so far (others' forks may come first)
      sockaddr_nl from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0 && errno == ENOBUFS) continue;
      if (n <= 0) break;
      if (len != sizeof from || from.nl_pid != 0) continue;
      std::vector<Fork> threads;
      ParseProcEvents(buf, static_cast<size_t>(n), &pending_, &threads);
      for (const Fork& t : threads) {
        if (t.parent == ::getpid() && t.child == tid) return true;
      }
    }
  }
  return false;
}

ForkWatch& ForkWatch::operator=(ForkWatch&& other) {
  if (this != &other) {
    Unsubscribe();
    fd_ = std::move(other.fd_);
  }
  return *this;
}

ForkWatch::~ForkWatch() { Unsubscribe(); }

void ForkWatch::Unsubscribe() {
  if (fd_.valid()) (void)Subscribe(fd_.get(), false, how_ == Subscription::kForksOnly);
}

bool ForkWatch::Drain(std::vector<Fork>* forks) {
  forks->insert(forks->end(), pending_.begin(), pending_.end());
  pending_.clear();
  bool complete = true;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    sockaddr_nl from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // overflowed: events were dropped; the socket goes on
        complete = false;
        continue;
      }
      return complete;  // EAGAIN: nothing more
    }
    // Only the kernel speaks for the kernel.
    if (len != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0) continue;
    ParseProcEvents(buf, static_cast<size_t>(n), forks);
  }
}

void ParseProcEvents(const char* data, size_t n, std::vector<Fork>* forks, std::vector<Fork>* threads) {
  size_t at = 0;
  while (n - at >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    memcpy(&h, data + at, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > n - at) return;
    const char* body = data + at + sizeof h;
    size_t body_len = h.nlmsg_len - sizeof h;
    at += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), n - at);
    if (body_len < sizeof(cn_msg)) continue;
    cn_msg c;
    memcpy(&c, body, sizeof c);
    if (c.id.idx != CN_IDX_PROC || c.id.val != CN_VAL_PROC || c.len > body_len - sizeof c) continue;
    const char* ev = body + sizeof c;
    if (c.len < offsetof(proc_event, event_data) + sizeof(ForkEvent)) continue;
    uint32_t what;
    memcpy(&what, ev + offsetof(proc_event, what), sizeof what);
    if (what != proc_event::PROC_EVENT_FORK) continue;
    ForkEvent f;
    memcpy(&f, ev + offsetof(proc_event, event_data), sizeof f);
    if (f.child_tgid <= 0 || f.child_pid <= 0 || f.parent_tgid <= 0) continue;
    if (f.child_pid != f.child_tgid) {  // a thread (its "parent" is its process's parent)
      if (threads) threads->push_back({f.child_tgid, f.child_pid});
      continue;
    }
    forks->push_back({f.parent_tgid, f.child_tgid});
  }
}

std::vector<pid_t> DescendantsOf(const std::set<pid_t>& known, const std::map<pid_t, pid_t>& parents) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& [pid, parent] : parents) {
    if (pid > 0 && pid != parent) children[parent].push_back(pid);
  }
  std::set<pid_t> seen(known.begin(), known.end());
  std::vector<pid_t> out, todo(known.begin(), known.end());
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto c = children.find(p);
    if (c == children.end()) continue;
    for (pid_t child : c->second) {
      if (!seen.insert(child).second) continue;
      out.push_back(child);
      todo.push_back(child);
    }
  }
  return out;
}

std::map<pid_t, pid_t> ParentsInProc() {
  std::map<pid_t, pid_t> out;
  auto pids = NumberedEntries("/proc");
  if (!pids.ok()) return out;
  for (int pid : *pids) {
    auto st = ReadStat(pid);
    if (st.ok()) out[pid] = st->ppid;
  }
  return out;
}

}  // namespace mosix::agent
