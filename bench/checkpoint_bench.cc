// Checkpoint and recovery time and throughput for 16 MiB, 256 MiB and 1 GiB of dense, touched
// memory, with the image on tmpfs (/dev/shm). Each figure is the median of REPS runs; every
// recovered process checks all of its memory before the run counts.
//
//   bazel run //bench:checkpoint_bench [-- SIZES_MIB...]
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "test/util/spawn.h"

namespace {

constexpr int kReps = 3;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "checkpoint_bench: %s\n", what.c_str());
  exit(1);
}

// What dd does: the same bytes written to a new file on tmpfs, 1 MiB per write().
double WriteLikeDd(const std::string& path, long mib) {
  std::vector<char> block(1 << 20, 1);
  unlink(path.c_str());
  auto t0 = std::chrono::steady_clock::now();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Die("open " + path);
  for (long i = 0; i < mib; ++i) {
    if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) Die("write " + path);
  }
  close(fd);
  return Seconds(t0);
}

// The file read() into fresh memory (what a recovery must at least do with an image).
double ReadIntoFresh(const std::string& path, long mib) {
  auto t0 = std::chrono::steady_clock::now();
  size_t len = static_cast<size_t>(mib) << 20;
  void* mem = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Die("mmap");
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) Die("open " + path);
  for (size_t off = 0; off < len;) {
    ssize_t n = read(fd, static_cast<char*>(mem) + off, std::min<size_t>(len - off, 1 << 20));
    if (n <= 0) Die("read " + path);
    off += n;
  }
  close(fd);
  double t = Seconds(t0);
  munmap(mem, len);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<long> sizes = {16, 256, 1024};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(atol(argv[i]));
  }
  std::string dense = mosix::testing::Runfile("test/programs/dense");
  std::string dir = mosix::testing::MakeTempDir("bench");
  std::string image = "/dev/shm/mosix-bench.img";
  printf("| touched memory | checkpoint | MB/s | dd to tmpfs | checkpoint / dd | recovery | MB/s | read() into fresh memory | recovery / read() | image size |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (long mib : sizes) {
    std::string ctl = dir + "/" + std::to_string(mib);
    mkdir(ctl.c_str(), 0755);
    std::string out = ctl + "/out";
    auto child = mosix::testing::Spawn({dense, std::to_string(mib), ctl}, out);
    if (!mosix::testing::WaitForText(out, "ready", 300)) Die("dense program did not start");
    std::vector<double> dumps, restores;
    uint64_t bytes = 0;
    for (int r = 0; r < kReps; ++r) {
      unlink(image.c_str());
      mosix::DumpOptions o;
      o.path = image;
      auto t0 = std::chrono::steady_clock::now();
      auto res = mosix::Dump(child.pid, o);
      if (!res.ok()) Die(std::string(res.status().message()));
      dumps.push_back(Seconds(t0));
      bytes = res->bytes;
    }
    kill(child.pid, SIGKILL);
    mosix::testing::Reap(child.pid);
    mosix::testing::Touch(ctl + "/finish");
    for (int r = 0; r < kReps; ++r) {
      std::string rout = ctl + "/restored." + std::to_string(r);
      auto blank = mosix::testing::SpawnBlank(rout);
      auto task = mosix::Task::Seize(blank.pid);
      if (!task.ok()) Die(std::string(task.status().message()));
      auto t0 = std::chrono::steady_clock::now();
      auto img = mosix::LoadImage(image);  // maps and verifies every checksum
      if (!img.ok()) Die(std::string(img.status().message()));
      absl::Status s = mosix::Restore(*task, **img, mosix::RestoreOptions());
      if (!s.ok()) Die(std::string(s.message()));
      restores.push_back(Seconds(t0));
      int status = mosix::testing::Reap(blank.pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("recovered process found its memory wrong: " + mosix::testing::ReadAll(rout));
    }
    unlink(image.c_str());
    std::vector<double> dds, reads;
    std::string plain = "/dev/shm/mosix-bench.dd";
    for (int r = 0; r < kReps; ++r) {
      dds.push_back(WriteLikeDd(plain, mib));
      reads.push_back(ReadIntoFresh(plain, mib));
    }
    unlink(plain.c_str());
    double mb = mib * 1048576.0 / 1e6;
    printf("| %ld MiB | %.3f s | %.0f | %.3f s | %.2fx | %.3f s | %.0f | %.3f s | %.2fx | %.1f MiB |\n", mib, Median(dumps),
           mb / Median(dumps), Median(dds), Median(dumps) / Median(dds), Median(restores), mb / Median(restores), Median(reads),
           Median(restores) / Median(reads), bytes / 1048576.0);
    fflush(stdout);
  }
  return 0;
}
