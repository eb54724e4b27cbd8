#include "checkpoint/internal/classify.h"

#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <csignal>

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
  REQUIRE_FALSE(*ParseKernelFd("anon_inode:[eventpoll]", "pos: 0\n", &e));
  REQUIRE_FALSE(*ParseKernelFd("anon_inode:inotify", "pos: 0\n", &e));
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[eventfd]", "pos: 0\nflags: 02\n", &e).ok());
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[timerfd]", "clockid: 1\nticks: 0\nit_value: (1, x)\nit_interval: (0, 0)\n", &e).ok());
  REQUIRE_FALSE(ParseKernelFd("anon_inode:[signalfd]", "sigmask:\tnot-hex\n", &e).ok());
}

}  // namespace
}  // namespace mosix::internal
