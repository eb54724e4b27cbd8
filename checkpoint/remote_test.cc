// Remote execution on one machine, without agents: a running program is checkpointed with its
// files inlined, restored into a blank process in remote mode, connected by a link to its
// original, which becomes its deputy. The program's calls must behave as at home, and the
// original pid must end as the program ends.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "checkpoint/deputy.h"
#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/restore.h"
#include "checkpoint/shim_locator.h"
#include "checkpoint/task.h"
#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "test/util/spawn.h"

namespace mosix {

TEST_CASE("a process moved away runs through its deputy and ends as it ends", "[e2e]") {
  std::string dir = testing::MakeTempDir("remote");
  std::string out = dir + "/out.txt";
  testing::Child home = testing::Spawn({testing::Runfile("test/programs/remote_probe"), dir}, out, /*stdin_pipe=*/true,
                                       {"LD_PRELOAD=" + testing::Runfile("interceptor/libmosix.so")});
  REQUIRE(testing::WaitForText(out, "ready"));

  // Home side: checkpoint (self-contained), and a link from the home process to us.
  auto task = Task::Seize(home.pid);
  REQUIRE(task.ok());
  DumpOptions o;
  o.path = dir + "/img";
  o.inline_files = true;
  o.reason = "migration";
  o.fds_stay_home = true;  // the pipe made before the move stays with the deputy
  auto dumped = DumpAttached(*task, o);
  INFO(dumped.status().message());
  REQUIRE(dumped.ok());
  auto shim = LocateShim(home.pid);
  INFO(shim.status().message());
  REQUIRE(shim.ok());
  // An abstract socket with a random name: parallel runs (sandboxed, all with the same pids)
  // must not meet each other's listener.
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  uint64_t nonce = 0;
  REQUIRE(getentropy(&nonce, sizeof nonce) == 0);
  std::string name = "mosix-link-" + std::to_string(nonce);
  memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t addr_len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), addr_len) == 0);
  REQUIRE(listen(listener, 1) == 0);
  absl::Status linked = InjectConnection(*task, reinterpret_cast<sockaddr*>(&addr), addr_len, MOSIX_LINK_FD);
  INFO(linked.message());
  REQUIRE(linked.ok());
  int link = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(link >= 0);
  close(listener);

  // "Remote" side: a blank process with the link as its channel becomes the program.
  auto image = LoadImage(o.path);
  REQUIRE(image.ok());
  testing::Child away = testing::SpawnBlank(dir + "/away.txt", false, link, MOSIX_CHANNEL_FD);
  close(link);
  auto target = Task::Seize(away.pid);
  REQUIRE(target.ok());
  RestoreOptions ro;
  ro.keep_fds = {MOSIX_CHANNEL_FD};
  ro.remote.enabled = true;
  ro.remote.shim_info = shim->info;
  ro.remote.text_start = shim->text_start;
  ro.remote.text_end = shim->text_end;
  absl::Status restored = Restore(*target, **image, ro);
  INFO(restored.message());
  REQUIRE(restored.ok());

  // Home side again: the original becomes the deputy.
  absl::Status deputized = Deputize(*task, *shim, MOSIX_LINK_FD);
  INFO(deputized.message());
  REQUIRE(deputized.ok());

  testing::Touch(dir + "/go");
  REQUIRE(write(home.stdin_fd, "typed at home\n", 14) == 14);
  int status = testing::Reap(home.pid);
  std::string text = testing::ReadAll(out);
  INFO("home output:\n" << text << "\naway output:\n" << testing::ReadAll(dir + "/away.txt"));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);
  REQUIRE(absl::StrContains(text, "after the move: pid " + std::to_string(home.pid)));
  REQUIRE(absl::StrContains(text, "pipe, epoll and eventfd work"));
  REQUIRE(absl::StrContains(text, "sockets, sendmsg/recvmsg and xattrs work"));
  REQUIRE(absl::StrContains(text, "stdin said: typed at home"));
  REQUIRE(absl::StrContains(text, "done, exiting with 7"));
  REQUIRE(testing::ReadAll(dir + "/written-away.txt") == "hello from away\n");
  int away_status = testing::Reap(away.pid);
  REQUIRE(WIFEXITED(away_status));
  REQUIRE(WEXITSTATUS(away_status) == 7);
}

}  // namespace mosix
