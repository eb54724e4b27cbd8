#include "checkpoint/internal/unix_sockets.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/fd.h"

namespace mosix::internal {

absl::StatusOr<bool> ParseUnixDiag(std::string_view reply, std::map<uint64_t, UnixSocket>* out) {
  size_t at = 0;
  while (at < reply.size() && reply.size() - at >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    memcpy(&h, reply.data() + at, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > reply.size() - at) {
      return absl::DataLossError(absl::StrCat("sock_diag: a message of ", h.nlmsg_len, " bytes at byte ", at, " of ", reply.size()));
    }
    std::string_view msg = reply.substr(at + sizeof h, h.nlmsg_len - sizeof h);
    at += NLMSG_ALIGN(h.nlmsg_len);
    if (h.nlmsg_type == NLMSG_DONE) return false;
    if (h.nlmsg_type == NLMSG_ERROR) {
      int err = 0;
      if (msg.size() >= sizeof err) memcpy(&err, msg.data(), sizeof err);
      return absl::UnavailableError(absl::StrCat("sock_diag: ", strerror(err < 0 ? -err : EIO)));
    }
    if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY || msg.size() < sizeof(unix_diag_msg)) continue;
    unix_diag_msg m;
    memcpy(&m, msg.data(), sizeof m);
    UnixSocket s;
    s.type = m.udiag_type;
    // Attributes after the message: UNIX_DIAG_PEER is the peer's inode (u32).
    size_t a = NLMSG_ALIGN(sizeof m);
    while (a + sizeof(nlattr) <= msg.size()) {
      nlattr attr;
      memcpy(&attr, msg.data() + a, sizeof attr);
      if (attr.nla_len < sizeof attr || attr.nla_len > msg.size() - a) break;
      if ((attr.nla_type & NLA_TYPE_MASK) == UNIX_DIAG_PEER && attr.nla_len >= sizeof attr + sizeof(uint32_t)) {
        uint32_t peer;
        memcpy(&peer, msg.data() + a + sizeof attr, sizeof peer);
        s.peer_ino = peer;
      }
      a += NLA_ALIGN(attr.nla_len);
    }
    (*out)[m.udiag_ino] = s;
  }
  return true;
}

absl::StatusOr<std::map<uint64_t, UnixSocket>> ListUnixSockets() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) return ErrnoStatus("socket", "NETLINK_SOCK_DIAG");
  struct {
    nlmsghdr h;
    unix_diag_req r;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0u;
  req.r.udiag_show = UDIAG_SHOW_PEER;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) != sizeof req) {
    return ErrnoStatus("sendto", "NETLINK_SOCK_DIAG");
  }
  std::map<uint64_t, UnixSocket> out;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("recv", "NETLINK_SOCK_DIAG");
    if (n == 0) break;
    ASSIGN_OR_RETURN(bool more, ParseUnixDiag(std::string_view(buf.data(), static_cast<size_t>(n)), &out));
    if (!more) break;
  }
  return out;
}

}  // namespace mosix::internal
