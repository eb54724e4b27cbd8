#include "agent/channel_server.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "interceptor/channel_protocol.h"

namespace mosix::agent {
namespace {

int Connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

bool SayHello(int fd) {
  struct {
    mosix_msg_header h;
    mosix_hello hello;
  } msg = {{MOSIX_MSG_HELLO, sizeof(mosix_hello)}, {getpid(), MOSIX_CHANNEL_VERSION}};
  return send(fd, &msg, sizeof msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof msg);
}

}  // namespace

TEST_CASE("a hello on a channel at rest is taken before the table answers for its sender") {
  char dir[] = "/tmp/channel_server_test.XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/channel";
  ProcessTable table;
  ChannelServer server(&table, {});
  REQUIRE(server.Listen(path).ok());
  table.SetHelloFlush([&server] { server.Flush(); });
  server.Start();

  // This process greets on a connection of its own: read at once (the connection is fresh).
  int fd = Connect(path);
  REQUIRE(SayHello(fd));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!table.Knows(getpid()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(table.Knows(getpid()));
  REQUIRE(table.ChannelsInUse().count(fd) == 0);  // (the agent's end has another number; none is in use)

  // Its child greets on the channel it inherited, now at rest (read in batches, waking
  // nobody): asked about right after, the table has heard it.
  for (int round = 0; round < 20; ++round) {
    int sent[2];
    REQUIRE(pipe(sent) == 0);
    pid_t child = fork();
    if (child == 0) {
      char ok = SayHello(fd) ? 1 : 0;
      (void)!write(sent[1], &ok, 1);
      pause();
      _exit(0);
    }
    char ok = 0;
    REQUIRE(read(sent[0], &ok, 1) == 1);
    REQUIRE(ok == 1);
    auto entry = table.Get(child);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(sent[0]);
    close(sent[1]);
    REQUIRE(entry.has_value());
    REQUIRE(entry->channel_borrowed);
  }
  close(fd);
  server.Stop();
  server.Flush();  // (stopped: returns at once)
  rmdir(dir);
}

}  // namespace mosix::agent
