#include "base/fs_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/synchronization/mutex.h"

namespace mosix {
namespace {

constexpr uid_t kNobody = 65534;

std::string TempDir() {
  char tmpl[] = "/tmp/fs_identity_test.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

TEST_CASE("a thread acting as another user is held to her rights, and only that thread") {
  if (geteuid() != 0) {
    WARN("needs root: skipped");
    return;
  }
  std::string dir = TempDir();
  std::string secret = dir + "/secret";
  int fd = open(secret.c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  close(fd);
  chmod(dir.c_str(), 0777);
  FsIdentity nobody{kNobody, kNobody, {}};
  // Another thread, made before: a thread made inside the scope would inherit its identity.
  absl::Mutex mu;
  enum { kIdle, kAsk, kAnswered, kQuit } state = kIdle;
  bool other_can = false;
  std::thread other([&] {
    for (;;) {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(+[](decltype(state)* s) { return *s == kAsk || *s == kQuit; }, &state));
      if (state == kQuit) return;
      int f = open(secret.c_str(), O_RDONLY);
      other_can = f >= 0;
      if (f >= 0) close(f);
      state = kAnswered;
    }
  });
  {
    ScopedFsIdentity as(&nobody);
    INFO(as.status().message());
    REQUIRE(as.status().ok());
    CHECK(open(secret.c_str(), O_RDONLY) < 0);
    CHECK(errno == EACCES);
    int mine = open((dir + "/mine").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(mine >= 0);
    struct stat st;
    REQUIRE(fstat(mine, &st) == 0);
    CHECK(st.st_uid == kNobody);
    CHECK(st.st_gid == kNobody);
    close(mine);
    // The other thread is still root meanwhile.
    absl::MutexLock lock(&mu);
    state = kAsk;
    mu.Await(absl::Condition(+[](decltype(state)* s) { return *s == kAnswered; }, &state));
    CHECK(other_can);
  }
  {
    absl::MutexLock lock(&mu);
    state = kQuit;
  }
  other.join();
  int again = open(secret.c_str(), O_RDONLY);
  CHECK(again >= 0);
  if (again >= 0) close(again);
  unlink((dir + "/mine").c_str());
  unlink(secret.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("no identity changes nothing") {
  ScopedFsIdentity as(nullptr);
  CHECK(as.status().ok());
}

}  // namespace
}  // namespace mosix
