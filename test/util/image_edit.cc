// image_edit: what an attacker would do to an image she owns: rewrite its CORE frame (with
// valid checksums) to claim uid 0 and every capability (root), or a hard limit on open files
// above what she may set (limits). Used by users_test: the recovery must gain none of it.
//
//   image_edit root|limits IN OUT
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "checkpoint/image_format.h"
#include "proto/image/core.pb.h"

int main(int argc, char** argv) {
  if (argc != 4 || (strcmp(argv[1], "root") != 0 && strcmp(argv[1], "limits") != 0)) {
    fprintf(stderr, "usage: image_edit root|limits IN OUT\n");
    return 2;
  }
  bool root = strcmp(argv[1], "root") == 0;
  ++argv;
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string img = ss.str(), out;
  size_t off = 0;
  bool edited = false;
  while (off + sizeof(mosix::FrameHeader) <= img.size()) {
    mosix::FrameHeader h;
    memcpy(&h, img.data() + off, sizeof h);
    std::string payload = img.substr(off + sizeof h, h.length);
    off += sizeof h + h.length;
    if (h.kind == static_cast<uint32_t>(mosix::FrameKind::kCore)) {
      mosix::image::Core core;
      if (!core.ParseFromString(payload)) return 1;
      auto* c = core.mutable_creds();
      if (root) {
        c->set_uid(0), c->set_euid(0), c->set_suid(0), c->set_fsuid(0);
        c->set_gid(0), c->set_egid(0), c->set_sgid(0), c->set_fsgid(0);
        c->set_cap_permitted(~0ull), c->set_cap_effective(~0ull);
      } else {
        for (auto& l : *core.mutable_rlimits()->mutable_limits()) {
          if (l.resource() == 7) l.set_max(1u << 30), l.set_cur(1u << 30);  // RLIMIT_NOFILE
        }
      }
      payload = core.SerializeAsString();
      edited = true;
    }
    mosix::AppendFrame(&out, static_cast<mosix::FrameKind>(h.kind), payload.data(), payload.size());
  }
  std::ofstream(argv[2], std::ios::binary) << out;
  return edited ? 0 : 1;
}
