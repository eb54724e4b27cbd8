#include "checkpoint/internal/unix_sockets.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>

namespace mosix::internal {
namespace {

uint64_t InodeOf(int fd) {
  struct stat st;
  REQUIRE(fstat(fd, &st) == 0);
  return st.st_ino;
}

TEST_CASE("a socketpair's two ends name each other, with their type") {
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == 0);
  auto listed = ListUnixSockets();
  REQUIRE(listed.ok());
  auto a = listed->find(InodeOf(pair[0])), b = listed->find(InodeOf(pair[1]));
  REQUIRE(a != listed->end());
  REQUIRE(b != listed->end());
  REQUIRE(a->second.type == SOCK_SEQPACKET);
  REQUIRE(a->second.peer_ino == InodeOf(pair[1]));
  REQUIRE(b->second.peer_ino == InodeOf(pair[0]));
  // One end closed: the other has no peer any more.
  close(pair[1]);
  listed = ListUnixSockets();
  REQUIRE(listed.ok());
  REQUIRE(listed->at(InodeOf(pair[0])).peer_ino == 0);
  close(pair[0]);
}

// One netlink message of a unix_diag_msg for inode `ino`, with a UNIX_DIAG_PEER attribute.
std::string Message(uint32_t ino, uint32_t peer, uint32_t len_override = 0) {
  std::string m(NLMSG_ALIGN(sizeof(nlmsghdr)) + NLMSG_ALIGN(sizeof(unix_diag_msg)) + NLA_ALIGN(sizeof(nlattr) + 4), '\0');
  nlmsghdr h{};
  h.nlmsg_len = len_override ? len_override : static_cast<uint32_t>(m.size());
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  unix_diag_msg d{};
  d.udiag_family = AF_UNIX;
  d.udiag_type = SOCK_DGRAM;
  d.udiag_ino = ino;
  nlattr a{};
  a.nla_len = sizeof a + 4;
  a.nla_type = UNIX_DIAG_PEER;
  memcpy(m.data(), &h, sizeof h);
  memcpy(m.data() + NLMSG_ALIGN(sizeof h), &d, sizeof d);
  memcpy(m.data() + NLMSG_ALIGN(sizeof h) + NLMSG_ALIGN(sizeof d), &a, sizeof a);
  memcpy(m.data() + NLMSG_ALIGN(sizeof h) + NLMSG_ALIGN(sizeof d) + sizeof a, &peer, 4);
  return m;
}

TEST_CASE("sock_diag replies are parsed as hostile") {
  std::map<uint64_t, UnixSocket> out;
  auto more = ParseUnixDiag(Message(7, 8) + Message(8, 7), &out);
  REQUIRE(more.ok());
  REQUIRE(*more);
  REQUIRE(out.size() == 2);
  REQUIRE(out[7].peer_ino == 8);
  REQUIRE(out[7].type == SOCK_DGRAM);
  // A message claiming more bytes than there are, or fewer than its header: refused.
  REQUIRE(!ParseUnixDiag(Message(9, 1, 4096), &out).ok());
  REQUIRE(!ParseUnixDiag(Message(9, 1, 3), &out).ok());
  // Random bytes and truncations never read out of bounds (ASan watches) and never crash.
  std::mt19937 rng(42);
  std::string good = Message(1, 2) + Message(2, 1);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good.substr(0, rng() % (good.size() + 1));
    for (int k = rng() % 4; k > 0 && !bytes.empty(); --k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    std::map<uint64_t, UnixSocket> any;
    (void)ParseUnixDiag(bytes, &any);
  }
}

}  // namespace
}  // namespace mosix::internal
