// The checkpointer end to end, without the agent: real programs are checkpointed at several
// moments, killed, and restored into a blank process; each verifies its own state and prints
// a verdict.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <thread>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/image_stream.h"
#include "checkpoint/park.h"
#include "checkpoint/procfs.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "test/util/spawn.h"

namespace mosix {
namespace {

using testing::Child;
using testing::ReadAll;

// Restores `image` into a fresh blank child (its output going to out) and returns that child.
Child RestoreIntoBlank(const std::string& image_path, const std::string& out, bool stdin_pipe = false) {
  auto image = LoadImage(image_path);
  REQUIRE(image.ok());
  Child blank = testing::SpawnBlank(out, stdin_pipe);
  auto task = Task::Seize(blank.pid);
  REQUIRE(task.ok());
  absl::Status s = Restore(*task, **image, RestoreOptions());
  INFO(s.message());
  REQUIRE(s.ok());
  return blank;
}

// Waits for a restored child and requires a clean exit with `expect` in its output.
void RequireCleanExit(const Child& restored, const std::string& out, const std::string& expect) {
  int status = testing::Reap(restored.pid);
  INFO(out << ": " << ReadAll(out));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(absl::StrContains(ReadAll(out), expect));
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  testing::Reap(pid);
}

}  // namespace

TEST_CASE("selfcheck survives checkpoints taken at several moments", "[e2e]") {
  for (const char* prog : {"test/programs/selfcheck", "test/programs/selfcheck_static"}) {
    std::string dir = testing::MakeTempDir(absl::StrContains(prog, "static") ? "multi_static" : "multi");
    std::string out = dir + "/out.txt";
    Child c = testing::Spawn({testing::Runfile(prog), dir}, out);
    REQUIRE(testing::WaitForText(out, "ready"));
    std::vector<std::string> images;
    for (int i = 0; i < 4; ++i) {
      DumpOptions o;
      o.path = dir + "/img." + std::to_string(i);
      auto r = Dump(c.pid, o);
      INFO(r.status().message());
      REQUIRE(r.ok());
      REQUIRE(r->pages > 2000);
      images.push_back(o.path);
      usleep(37000 * (i + 1));  // spread the moments; correctness does not depend on it
    }
    KillAndReap(c.pid);
    testing::Touch(dir + "/finish");
    for (const auto& img : images) {
      std::string rout = img + ".out";
      RequireCleanExit(RestoreIntoBlank(img, rout), rout, "VERDICT OK");
    }
  }
}

TEST_CASE("a process checkpointed inside nanosleep sleeps on without EINTR", "[e2e]") {
  std::string dir = testing::MakeTempDir("sleep");
  std::string out = dir + "/out.txt";
  Child c = testing::Spawn({testing::Runfile("test/programs/sleeper"), "2"}, out);
  REQUIRE(testing::WaitForSyscall(c.pid, SYS_clock_nanosleep));
  DumpOptions o;
  o.path = dir + "/img";
  auto r = Dump(c.pid, o);
  REQUIRE(r.ok());
  REQUIRE(r->syscall_note == "restart clock_nanosleep for the time left");
  // A second checkpoint of the same, still sleeping process: it must again be caught inside its
  // sleep (not in restart_syscall, whose kernel-side state no image can hold).
  REQUIRE(testing::WaitForSyscall(c.pid, SYS_clock_nanosleep));
  auto r2 = Dump(c.pid, o);
  REQUIRE(r2.ok());
  REQUIRE(r2->syscall_note == "restart clock_nanosleep for the time left");
  KillAndReap(c.pid);
  RequireCleanExit(RestoreIntoBlank(o.path, dir + "/rout.txt"), dir + "/rout.txt", "slept ok");
}

TEST_CASE("a process checkpointed inside read gets its input once", "[e2e]") {
  std::string dir = testing::MakeTempDir("read");
  std::string out = dir + "/out.txt";
  Child c = testing::Spawn({testing::Runfile("test/programs/reader")}, out, /*stdin_pipe=*/true);
  REQUIRE(testing::WaitForSyscall(c.pid, SYS_read));
  DumpOptions o;
  o.path = dir + "/img";
  auto r = Dump(c.pid, o);
  REQUIRE(r.ok());
  REQUIRE(r->syscall_note == "restart read");
  KillAndReap(c.pid);
  close(c.stdin_fd);
  Child restored = RestoreIntoBlank(o.path, dir + "/rout.txt", /*stdin_pipe=*/true);
  REQUIRE(write(restored.stdin_fd, "line one\n", 9) == 9);
  close(restored.stdin_fd);
  int status = testing::Reap(restored.pid);
  INFO(ReadAll(dir + "/rout.txt"));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(ReadAll(dir + "/rout.txt") == "got 9: line one\n");
}

TEST_CASE("a pipe or socket does not block a checkpoint: a lone end is noted, and comes back orphaned", "[e2e]") {
  for (const char* mode : {"socket", "pipe"}) {
    std::string dir = testing::MakeTempDir(std::string("orphan_") + mode);
    std::string out = dir + "/out.txt";
    Child c = testing::Spawn({testing::Runfile("test/programs/holder"), dir, mode}, out);
    REQUIRE(testing::WaitForText(out, "ready"));
    DumpOptions o;
    o.path = dir + "/img";
    auto r = Dump(c.pid, o);
    INFO(mode << ": " << r.status().message());
    REQUIRE(r.ok());
    if (std::string(mode) == "pipe") {
      REQUIRE(r->notes.empty());  // both of its ends are the process's: one pipe again, nothing lost
    } else {
      REQUIRE(r->notes.size() == 1);
      REQUIRE(absl::StrContains(r->notes[0], "its other end is not in the image"));
    }
    auto image = LoadImage(o.path);
    REQUIRE(image.ok());
    int orphaned = 0;
    for (const auto& fd : (*image)->core().files().fds()) orphaned += fd.kind() == image::Fd::ORPHANED;
    REQUIRE(orphaned == (std::string(mode) == "pipe" ? 2 : 1));
    testing::Touch(dir + "/finish");
    testing::Reap(c.pid);
  }
}

TEST_CASE("what cannot be checkpointed is refused, with no image and the process unharmed", "[e2e]") {
  struct Case {
    const char* mode;
    const char* reason;
  };
  for (Case k : {Case{"threads", "multi-threaded"}, Case{"shared_write", "writable MAP_SHARED"},
                 Case{"sysv", "SysV shared memory"}}) {
    std::string dir = testing::MakeTempDir(std::string("refuse_") + k.mode);
    std::string out = dir + "/out.txt";
    Child c = testing::Spawn({testing::Runfile("test/programs/holder"), dir, k.mode}, out);
    REQUIRE(testing::WaitForText(out, "ready"));
    DumpOptions o;
    o.path = dir + "/img";
    auto r = Dump(c.pid, o);
    INFO(k.mode << ": " << r.status().message());
    REQUIRE(absl::IsFailedPrecondition(r.status()));
    REQUIRE(absl::StrContains(r.status().message(), k.reason));
    REQUIRE(!CheckCheckpointable(c.pid, -1).ok());
    struct stat st;
    REQUIRE(stat(o.path.c_str(), &st) != 0);
    REQUIRE(stat((o.path + ".tmp").c_str(), &st) != 0);
    testing::Touch(dir + "/finish");
    int status = testing::Reap(c.pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("a read-only shared file mapping is fine", "[e2e]") {
  std::string dir = testing::MakeTempDir("shared_ro");
  std::string out = dir + "/out.txt";
  Child c = testing::Spawn({testing::Runfile("test/programs/holder"), dir, "shared_ro"}, out);
  REQUIRE(testing::WaitForText(out, "ready"));
  DumpOptions o;
  o.path = dir + "/img";
  REQUIRE(Dump(c.pid, o).ok());
  KillAndReap(c.pid);
  testing::Touch(dir + "/finish");
  RequireCleanExit(RestoreIntoBlank(o.path, dir + "/rout.txt"), dir + "/rout.txt", "");
}

TEST_CASE("a process parked after its checkpoint comes back in place: same pid, real fds", "[e2e]") {
  std::string dir = testing::MakeTempDir("park");
  std::string out = dir + "/out.txt";
  Child c = testing::Spawn({testing::Runfile("test/programs/selfcheck"), dir}, out);
  REQUIRE(testing::WaitForText(out, "ready"));
  DumpOptions o;
  o.path = dir + "/img";
  {
    auto task = Task::Seize(c.pid);
    REQUIRE(task.ok());
    REQUIRE(DumpAttached(*task, o).ok());
    absl::Status parked = Park(*task);
    INFO(parked.message());
    REQUIRE(parked.ok());
  }
  REQUIRE(IsParked(c.pid));
  auto status = ReadAll("/proc/" + std::to_string(c.pid) + "/status");
  auto rss = StatusField(status, "VmRSS");
  REQUIRE(rss.ok());
  INFO("parked VmRSS " << *rss);
  REQUIRE(std::stoi(*rss) < 64);  // kB: the parking page and page tables
  kill(c.pid, SIGUSR2);           // held pending while parked, delivered after continue
  auto image = LoadImage(o.path);
  REQUIRE(image.ok());
  auto task = Task::Seize(c.pid);
  REQUIRE(task.ok());
  RestoreOptions ro;
  ro.same_process = true;
  absl::Status s = Restore(*task, **image, ro);
  INFO(s.message());
  REQUIRE(s.ok());
  REQUIRE(!IsParked(c.pid));
  testing::Touch(dir + "/finish");
  RequireCleanExit(c, out, "usr2=1");
}

TEST_CASE("an image streamed through a socket restores as it arrives", "[e2e]") {
  std::string dir = testing::MakeTempDir("stream");
  std::string out = dir + "/out.txt";
  Child c = testing::Spawn({testing::Runfile("test/programs/selfcheck"), dir}, out);
  REQUIRE(testing::WaitForText(out, "ready"));
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  Child blank = testing::SpawnBlank(dir + "/rout.txt");
  absl::Status restored;
  std::thread reader([&] {
    auto target = Task::Seize(blank.pid);
    if (!target.ok()) {
      restored = target.status();
      return;
    }
    FdStream in(sv[1], "test stream");
    auto stream = StreamImageReader::Open(&in);
    restored = stream.ok() ? RestoreFromStream(*target, **stream, RestoreOptions()) : stream.status();
  });
  FdStream to_reader(sv[0], "test stream");
  StreamImageWriter sink(&to_reader);
  DumpOptions o;
  o.sink = &sink;
  auto dumped = Dump(c.pid, o);
  reader.join();
  INFO(dumped.status().message() << " / " << restored.message());
  REQUIRE(dumped.ok());
  REQUIRE(restored.ok());
  REQUIRE(dumped->pages > 2000);
  KillAndReap(c.pid);
  testing::Touch(dir + "/finish");
  RequireCleanExit(blank, dir + "/rout.txt", "VERDICT OK");
  close(sv[0]);
  close(sv[1]);
}

TEST_CASE("a corrupted image stream is refused before the target runs it", "[e2e]") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  const char junk[64] = "this is not a mosix image stream at all, nor anything like one";
  REQUIRE(write(sv[0], junk, sizeof junk) == sizeof junk);
  close(sv[0]);
  FdStream in(sv[1], "junk stream");
  auto stream = StreamImageReader::Open(&in);
  REQUIRE(!stream.ok());
  REQUIRE(absl::StrContains(stream.status().message(), "junk stream"));
  close(sv[1]);
}

TEST_CASE("an unknown pid is a clear error", "[e2e]") {
  DumpOptions o;
  o.path = testing::MakeTempDir("nopid") + "/img";
  auto r = Dump(999999999, o);
  REQUIRE(!r.ok());
  REQUIRE(absl::StrContains(r.status().message(), "999999999"));
}

}  // namespace mosix
