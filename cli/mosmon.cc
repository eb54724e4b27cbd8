// mosmon: a live view of the cluster, as MOSIX's mosmon draws it: a bar per node, redrawn every
// second from what this node's agent knows (gossip).
//
//   mosmon            on a terminal; keys: l load, s speed and CPUs, m memory, d dead nodes,
//                     q quit
//   mosmon --json     one snapshot: a JSON list of NodeStatus (proto/agent.proto): node, state
//                     (up, down, unknown), cpus, speed, load, mem_free_mb, mem_total_mb, procs,
//                     guests, age_s
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/client.h"

namespace {

constexpr char kProg[] = "mosmon";
volatile sig_atomic_t stop_signal = 0;

enum class View { kLoad, kSpeed, kMemory, kDead };

// The terminal in raw mode (no echo, a key at a time), cursor hidden, on the alternate screen;
// put back as it was by the destructor.
class RawTerminal {
 public:
  RawTerminal() {
    ok_ = tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (!ok_) return;
    termios raw = saved_;
    raw.c_lflag &= ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    fputs("\x1b[?1049h\x1b[?25l", stdout);
  }
  ~RawTerminal() {
    if (!ok_) return;
    fputs("\x1b[?25h\x1b[?1049l", stdout);
    fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  bool ok() const { return ok_; }

 private:
  termios saved_{};
  bool ok_ = false;
};

struct Column {
  std::string name;
  bool dead = false;
  double value = 0, scale_max = 0;
  std::string label;  // under the bar
};

// Vertical bars, one per node, `height` rows high, scaled to the largest.
std::string Bars(const std::vector<Column>& cols, int rows, int width_total, const std::string& unit) {
  int height = std::max(3, rows - 6);
  int w = std::clamp(width_total / std::max<int>(1, static_cast<int>(cols.size())), 6, 12);
  double top = 0;
  for (const Column& c : cols) top = std::max(top, std::max(c.value, c.scale_max));
  if (top <= 0) top = 1;
  std::string out = absl::StrFormat("%s (top of scale %.0f)\r\n", unit, top);
  for (int r = height; r >= 1; --r) {
    for (const Column& c : cols) {
      std::string cell(w, ' ');
      if (c.dead) {
        if (r == 1) cell = absl::StrFormat("%-*s", w, " DEAD");
      } else if (c.value / top * height >= r - 0.5) {
        cell = std::string(1, ' ') + std::string(w - 2, '#') + " ";
      }
      out += cell;
    }
    out += "\r\n";
  }
  for (const Column& c : cols) out += absl::StrFormat("%-*s", w, " " + c.label.substr(0, w - 1));
  out += "\r\n";
  for (const Column& c : cols) out += absl::StrFormat("%-*s", w, " " + c.name.substr(0, w - 1));
  out += "\r\n";
  return out;
}

std::string Draw(const mosix::agent::ClusterStatusReply& st, View view, int rows, int cols) {
  const char* names[] = {"load", "speed and CPUs", "memory", "dead nodes"};
  std::string out = absl::StrCat("\x1b[H\x1b[2J", "mosmon: ", names[static_cast<int>(view)],
                                 "    keys: l load  s speed  m memory  d dead  q quit\r\n\r\n");
  std::vector<Column> bars;
  for (const auto& n : st.nodes()) {
    Column c;
    c.name = n.node();
    c.dead = n.state() != "up";
    switch (view) {
      case View::kLoad:
        c.value = n.load();
        c.scale_max = 100;
        c.label = absl::StrFormat("%.0f", n.load());
        break;
      case View::kSpeed:
        c.value = n.speed() * n.cpus();
        c.label = absl::StrFormat("%.1fx%.2g", n.speed(), n.cpus());
        break;
      case View::kMemory:
        c.value = static_cast<double>(n.mem_total_mb() - std::min(n.mem_total_mb(), n.mem_free_mb()));
        c.scale_max = static_cast<double>(n.mem_total_mb());
        c.label = absl::StrFormat("%llu/%llu", static_cast<unsigned long long>(c.value), static_cast<unsigned long long>(n.mem_total_mb()));
        break;
      case View::kDead:
        break;
    }
    bars.push_back(std::move(c));
  }
  if (view == View::kDead) {
    int dead = 0;
    for (const auto& n : st.nodes()) {
      if (n.state() == "up") continue;
      ++dead;
      out += n.state() == "unknown" ? absl::StrFormat("  %-12s never heard of\r\n", n.node())
                                    : absl::StrFormat("  %-12s down: silent for %.0f s\r\n", n.node(), n.age_s());
    }
    if (dead == 0) out += "  no dead nodes\r\n";
    return out;
  }
  const char* unit = view == View::kLoad ? "load (100 = one process on one standard CPU)"
                     : view == View::kSpeed ? "speed x CPUs (label: speed x CPUs)"
                                            : "memory used, MB (label: used/total)";
  return out + Bars(bars, rows - 2, cols, unit);
}

int Live(mosix::agent::Client::Stub* stub) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, "%s: the live view needs a terminal (for one snapshot: mosmon --json)\n", kProg);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int sig) { stop_signal = sig; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  std::string error;
  {
    RawTerminal term;
    View view = View::kLoad;
    while (!stop_signal) {
      winsize ws{};
      int rows = 24, cols = 80;
      if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) rows = ws.ws_row, cols = ws.ws_col;
      auto st = mosix::cli::FetchClusterStatus(stub);
      if (!st.ok()) {
        error = std::string(st.status().message());
        break;
      }
      fputs(Draw(*st, view, rows, cols).c_str(), stdout);
      fflush(stdout);
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      char key = 0;
      if (read(STDIN_FILENO, &key, 1) != 1) continue;
      if (key == 'q' || key == 'Q' || key == 3 /* ^C in raw mode */) break;
      if (key == 'l') view = View::kLoad;
      if (key == 's') view = View::kSpeed;
      if (key == 'm') view = View::kMemory;
      if (key == 'd') view = View::kDead;
    }
  }
  if (!error.empty()) {
    fprintf(stderr, "%s: %s\n", kProg, error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    printf("usage: mosmon [--json]\n  keys: l load, s speed and CPUs, m memory, d dead nodes, q quit\n");
    return 0;
  }
  if (argc > 2 || (argc == 2 && !json)) {
    fprintf(stderr, "usage: mosmon [--json]\n");
    return 2;
  }
  auto conn = mosix::cli::ConnectAgent();
  if (!conn.ok()) return mosix::cli::Fail(kProg, conn.status());
  if (!json) return Live(conn->stub.get());
  auto st = mosix::cli::FetchClusterStatus(conn->stub.get());
  if (!st.ok()) return mosix::cli::Fail(kProg, st.status());
  auto text = mosix::cli::JsonList(st->nodes());
  if (!text.ok()) return mosix::cli::Fail(kProg, text.status());
  fputs(text->c_str(), stdout);
  return 0;
}
