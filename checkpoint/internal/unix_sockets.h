// The Unix sockets of this network namespace as the kernel's sock_diag lists them: for each,
// its type and its peer. A socketpair whose two ends a process holds is found this way (each
// end is its own socket:[inode]; only sock_diag links them). Internal to checkpoint/.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosix::internal {

struct UnixSocket {
  int type = 0;           // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  uint64_t peer_ino = 0;  // 0: none (listening, unconnected, or its peer closed)
};

// Every Unix socket of the caller's network namespace, by inode.
absl::StatusOr<std::map<uint64_t, UnixSocket>> ListUnixSockets();

// The sockets described in one sock_diag reply buffer (netlink messages of unix_diag_msg), added
// to `out`; false at the end of the dump. The bytes are parsed as hostile: every length checked.
absl::StatusOr<bool> ParseUnixDiag(std::string_view reply, std::map<uint64_t, UnixSocket>* out);

}  // namespace mosix::internal
