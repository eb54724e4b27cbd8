#include "base/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace mosix {
namespace {

std::string TempFile() {
  char path[] = "/tmp/file_util_test.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  return path;
}

TEST_CASE("PwriteAll writes every part in order at its offset, over more parts than one pwritev takes") {
  std::string path = TempFile();
  auto fd = OpenFile(path, O_RDWR);
  REQUIRE(fd.ok());
  // 3000 parts (IOV_MAX is 1024), of 0 to 12 bytes each, some empty.
  std::vector<std::string> texts;
  std::string want;
  for (int i = 0; i < 3000; ++i) {
    texts.push_back(std::string(i % 13, static_cast<char>('a' + i % 26)));
    want += texts.back();
  }
  std::vector<WritePart> parts;
  for (const std::string& t : texts) parts.push_back({t.data(), t.size()});
  REQUIRE(PwriteAll(fd->get(), parts, 100, path).ok());
  std::string got(100 + want.size(), '\0');
  REQUIRE(pread(fd->get(), got.data(), got.size(), 0) == static_cast<ssize_t>(got.size()));
  REQUIRE(got.substr(0, 100) == std::string(100, '\0'));
  REQUIRE(got.substr(100) == want);
  unlink(path.c_str());
}

TEST_CASE("PwriteAll names the file when it cannot write") {
  std::string path = TempFile();
  auto fd = OpenFile(path, O_RDONLY);
  REQUIRE(fd.ok());
  char byte = 'x';
  absl::Status s = PwriteAll(fd->get(), {{&byte, 1}}, 0, path);
  REQUIRE(!s.ok());
  REQUIRE(std::string(s.message()).find(path) != std::string::npos);
  unlink(path.c_str());
}

}  // namespace
}  // namespace mosix
