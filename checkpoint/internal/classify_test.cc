#include "checkpoint/internal/classify.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"

namespace mosix::internal {
namespace {

std::string FdInfoOf(int fd) { return *ReadFileToString(absl::StrCat("/proc/self/fdinfo/", fd)); }

TEST_CASE("an eventfd, a signalfd and a timerfd are read from what the kernel says of them") {
  int ev = eventfd(0x12345, EFD_SEMAPHORE);
  REQUIRE(ev >= 0);
  image::Fd e;
  REQUIRE(*ParseKernelFd("anon_inode:[eventfd]", FdInfoOf(ev), &e));
  REQUIRE(e.kind() == image::Fd::EVENTFD);
  REQUIRE(e.eventfd().count() == 0x12345);  // (the kernel prints it in hex)
  REQUIRE(e.eventfd().semaphore());

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGRTMIN + 1);
  int sig = signalfd(-1, &mask, 0);
  REQUIRE(sig >= 0);
  REQUIRE(*ParseKernelFd("anon_inode:[signalfd]", FdInfoOf(sig), &e));
  REQUIRE(e.kind() == image::Fd::SIGNALFD);
  REQUIRE(e.signalfd().mask() == ((1ull << (SIGUSR2 - 1)) | (1ull << (SIGRTMIN + 1 - 1))));

  int tim = timerfd_create(CLOCK_BOOTTIME, 0);
  itimerspec its{{1, 500}, {30, 0}};
  REQUIRE(timerfd_settime(tim, 0, &its, nullptr) == 0);
  REQUIRE(*ParseKernelFd("anon_inode:[timerfd]", FdInfoOf(tim), &e));
  REQUIRE(e.kind() == image::Fd::TIMERFD);
  REQUIRE(e.timerfd().clock_id() == CLOCK_BOOTTIME);
  REQUIRE(e.timerfd().interval_ns() == 1000000500);
  REQUIRE(e.timerfd().value_ns() > 29000000000ull);
  REQUIRE(e.timerfd().value_ns() <= 30000000000ull);
  REQUIRE(e.timerfd().ticks() == 0);
  for (int fd : {ev, sig, tim}) close(fd);
}

TEST_CASE("other kernel objects are not taken, and unreadable fdinfo is an error") {
  image::Fd e;
  REQUIRE_FALSE(*ParseKernelFd("anon_inode:[io_uring]", "pos: 0\n", &e));
  REQUIRE_FALSE(*ParseKernelFd("anon_inode:inotify", "pos: 0\n", &e));
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[eventfd]", "pos: 0\nflags: 02\n", &e).ok());
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[timerfd]", "clockid: 1\nticks: 0\nit_value: (1, x)\nit_interval: (0, 0)\n", &e).ok());
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[signalfd]", "sigmask:\tnot-hex\n", &e).ok());
}

}  // namespace
}  // namespace mosix::internal

namespace mosix::internal {
namespace {

TEST_CASE("an epoll is read with what it watches, and the files' inodes") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  int ep = epoll_create1(0);
  epoll_event a{EPOLLIN | EPOLLET, {}};
  a.data.u64 = 0x1234567890;
  REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &a) == 0);
  image::Fd e;
  std::vector<uint64_t> inodes;
  REQUIRE(*ParseKernelFd("anon_inode:[eventpoll]", FdInfoOf(ep), &e, &inodes));
  REQUIRE(e.kind() == image::Fd::EPOLL);
  REQUIRE(e.epoll().targets_size() == 1);
  REQUIRE(e.epoll().targets(0).fd() == p[0]);
  REQUIRE((e.epoll().targets(0).events() & (EPOLLIN | EPOLLET)) == (EPOLLIN | EPOLLET));
  REQUIRE(e.epoll().targets(0).data() == 0x1234567890);
  struct stat st;
  REQUIRE(fstat(p[0], &st) == 0);
  REQUIRE(inodes == std::vector<uint64_t>{st.st_ino});
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[eventpoll]", "tfd: 3 events: zz data: 1 pos:0 ino:1 sdev:0\n", &e).ok());
  for (int fd : {p[0], p[1], ep}) close(fd);
}

}  // namespace
}  // namespace mosix::internal
