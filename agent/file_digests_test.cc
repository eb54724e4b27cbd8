#include "agent/file_digests.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

namespace mosix::agent {
namespace {

std::string TempDir() {
  std::string t = (getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + std::string("/digestsXXXXXX");
  REQUIRE(mkdtemp(t.data()) != nullptr);
  return t;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// What SameHere says of these descriptions.
std::vector<std::string> Same(FileDigests& here, std::initializer_list<MappedFile> files) {
  google::protobuf::RepeatedPtrField<MappedFile> asked;
  for (const MappedFile& f : files) *asked.Add() = f;
  return here.SameHere(asked);
}

}  // namespace

TEST_CASE("a file is the same here only with the same size, mtime and bytes") {
  std::string dir = TempDir();
  Write(dir + "/a", "the same bytes");
  FileDigests here;
  auto a = here.Describe(dir + "/a");
  REQUIRE(a.ok());
  REQUIRE(a->size() == 14);

  REQUIRE(Same(here, {*a}) == std::vector<std::string>{dir + "/a"});

  // Same size and mtime, other bytes: the checksum tells them apart.
  MappedFile other = *a;
  other.set_crc32c(a->crc32c() ^ 1);
  REQUIRE(Same(here, {other}).empty());

  // Another mtime, or a file this node does not have.
  MappedFile older = *a;
  older.set_mtime_ns(a->mtime_ns() - 1);
  MappedFile missing = *a;
  missing.set_path(dir + "/nowhere");
  REQUIRE(Same(here, {older, missing}).empty());
}

TEST_CASE("a rewritten file is checksummed again, not taken from the cache") {
  std::string dir = TempDir();
  Write(dir + "/b", "first version");
  FileDigests here;
  auto first = here.Describe(dir + "/b");
  REQUIRE(first.ok());
  Write(dir + "/b", "other version");  // same length
  struct timespec times[2] = {{0, UTIME_OMIT}, {first->mtime_ns() / 1000000000, first->mtime_ns() % 1000000000}};
  REQUIRE(utimensat(AT_FDCWD, (dir + "/b").c_str(), times, 0) == 0);  // even with the old mtime
  auto second = here.Describe(dir + "/b");
  REQUIRE(second.ok());
  REQUIRE(second->mtime_ns() == first->mtime_ns());
  REQUIRE(second->crc32c() != first->crc32c());
  REQUIRE(!here.Describe(dir + "/none").ok());
}

}  // namespace mosix::agent
