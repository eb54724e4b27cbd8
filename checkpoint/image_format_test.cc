#include "checkpoint/image_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "base/file_util.h"

namespace mosix {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// An image with two page batches of recognizable contents.
std::string WriteSample(const std::string& name, uint32_t version = kImageFormatVersion, bool core_last = false) {
  std::string path = TempPath(name);
  auto writer = ImageWriter::Create(path);
  REQUIRE(writer.ok());
  image::Manifest m;
  m.set_format_version(version);
  m.set_page_size(4096);
  REQUIRE((*writer)->WriteManifest(m).ok());
  image::Core core;
  core.mutable_process()->set_pid(42);
  core.mutable_process()->set_comm("sample");
  if (!core_last) REQUIRE((*writer)->WriteCore(core).ok());
  std::vector<image::PageBatch> batches(2);
  auto* r = batches[0].add_runs();
  r->set_vaddr(0x10000);
  r->set_npages(3);
  r = batches[1].add_runs();
  r->set_vaddr(0x40000);
  r->set_npages(1);
  r = batches[1].add_runs();
  r->set_vaddr(0x50000);
  r->set_npages(2);
  REQUIRE((*writer)->WritePageBatches(batches, [&](size_t i, char* dest) {
                        size_t n = i == 0 ? 3 : 3;
                        for (size_t k = 0; k < n * 4096; ++k) dest[k] = static_cast<char>(i * 100 + k % 251);
                        return absl::OkStatus();
                      }).ok());
  if (core_last) REQUIRE((*writer)->WriteCore(core).ok());
  REQUIRE((*writer)->Finish().ok());
  return path;
}

std::string Slurp(const std::string& path) { return *ReadFileToString(path); }

void Spit(const std::string& path, const std::string& data) {
  auto fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC);
  REQUIRE(fd.ok());
  REQUIRE(WriteAll(fd->get(), data.data(), data.size(), path).ok());
}

}  // namespace

TEST_CASE("an image round-trips: manifest, core and pages") {
  std::string path = WriteSample("roundtrip.img");
  auto img = LoadImage(path);
  REQUIRE(img.ok());
  REQUIRE((*img)->core().process().pid() == 42);
  REQUIRE((*img)->core().process().comm() == "sample");
  REQUIRE((*img)->page_count() == 6);
  REQUIRE((*img)->chunks().size() == 2);
  const PageChunk& c = (*img)->chunks()[1];
  REQUIRE(c.len == 3 * 4096);
  REQUIRE(c.batch.runs(1).vaddr() == 0x50000);
  REQUIRE(c.data[5] == static_cast<char>(100 + 5));
  REQUIRE(access((path + ".tmp").c_str(), F_OK) != 0);
}

TEST_CASE("the core frame may follow the pages") {
  auto img = LoadImage(WriteSample("corelast.img", kImageFormatVersion, /*core_last=*/true));
  REQUIRE(img.ok());
  REQUIRE((*img)->core().process().pid() == 42);
  REQUIRE((*img)->page_count() == 6);
}

TEST_CASE("a pagemap frame must be followed by its pages") {
  std::string out;
  image::Manifest m;
  m.set_format_version(kImageFormatVersion);
  std::string buf;
  m.SerializeToString(&buf);
  AppendFrame(&out, FrameKind::kManifest, buf.data(), buf.size());
  image::PageBatch b;
  b.add_runs()->set_npages(1);
  b.SerializeToString(&buf);
  AppendFrame(&out, FrameKind::kPageMap, buf.data(), buf.size());
  image::Core core;
  core.SerializeToString(&buf);
  AppendFrame(&out, FrameKind::kCore, buf.data(), buf.size());
  std::string path = TempPath("orphan.img");
  Spit(path, out);
  auto img = LoadImage(path);
  REQUIRE(!img.ok());
  REQUIRE(absl::StrContains(img.status().message(), "not followed by its pages"));
}

TEST_CASE("an image without pages is valid") {
  std::string path = TempPath("nopages.img");
  auto writer = ImageWriter::Create(path);
  REQUIRE(writer.ok());
  image::Manifest m;
  m.set_format_version(kImageFormatVersion);
  REQUIRE((*writer)->WriteManifest(m).ok());
  REQUIRE((*writer)->WriteCore(image::Core()).ok());
  REQUIRE((*writer)->Finish().ok());
  auto img = LoadImage(path);
  REQUIRE(img.ok());
  REQUIRE((*img)->page_count() == 0);
}

TEST_CASE("a truncated image is refused at every cut") {
  std::string whole = Slurp(WriteSample("whole.img"));
  std::string cut = TempPath("cut.img");
  for (size_t len : {size_t{0}, size_t{10}, size_t{24}, size_t{100}, whole.size() / 2, whole.size() - 1}) {
    Spit(cut, whole.substr(0, len));
    auto img = LoadImage(cut);
    INFO("cut at " << len << ": " << img.status().message());
    REQUIRE(!img.ok());
    REQUIRE(absl::IsDataLoss(img.status()));
  }
  Spit(cut, whole.substr(0, whole.size() / 2));
  REQUIRE(absl::StrContains(LoadImage(cut).status().message(), "truncated"));
}

TEST_CASE("a flipped bit anywhere is detected") {
  std::string whole = Slurp(WriteSample("flip.img"));
  std::string bad = TempPath("flipped.img");
  for (size_t at = 0; at < whole.size(); at += 997) {
    std::string copy = whole;
    copy[at] ^= 0x10;
    Spit(bad, copy);
    INFO("flip at " << at);
    REQUIRE(!LoadImage(bad).ok());
  }
}

TEST_CASE("a foreign format version is refused with a clear message") {
  std::string path = WriteSample("future.img", 99);
  auto img = LoadImage(path);
  REQUIRE(!img.ok());
  REQUIRE(absl::StrContains(img.status().message(), "format version 99"));
  REQUIRE(absl::StrContains(img.status().message(), "reads version 1"));
}

TEST_CASE("something that is not an image is refused") {
  std::string path = TempPath("text.img");
  Spit(path, std::string(4096, 'x'));
  auto img = LoadImage(path);
  REQUIRE(!img.ok());
  REQUIRE(absl::StrContains(img.status().message(), "not a mosix image"));
  REQUIRE(absl::IsNotFound(LoadImage(TempPath("missing.img")).status()));
}

TEST_CASE("data after the trailer is refused") {
  std::string whole = Slurp(WriteSample("extra.img"));
  std::string path = TempPath("extra2.img");
  Spit(path, whole + whole.substr(0, 100));
  REQUIRE(!LoadImage(path).ok());
}

}  // namespace mosix
