// Fuzzes the image readers, which take images from other machines (a move's stream) and from
// disk (a checkpoint anyone may have edited): mutations of a valid image, streamed and as a
// file. Each must be read whole, or refused with a reason: never a crash, never a page
// outside what the image declares.
//   MOSIX_FUZZ_ITERATIONS=1000000 bazel test --config=asan //checkpoint:image_fuzz_test
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "base/byte_stream.h"
#include "checkpoint/image_format.h"
#include "checkpoint/image_stream.h"
#include "test/util/fuzz.h"

namespace mosix {
namespace {

// Bytes in memory as a stream.
class StringStream final : public ByteStream {
 public:
  explicit StringStream(std::string data = "") : data_(std::move(data)) {}
  absl::Status Write(const void* p, size_t n) override {
    data_.append(static_cast<const char*>(p), n);
    return absl::OkStatus();
  }
  absl::StatusOr<size_t> ReadSome(void* p, size_t n) override {
    size_t k = std::min(n, data_.size() - at_);
    memcpy(p, data_.data() + at_, k);
    at_ += k;
    return k;
  }
  const std::string& what() const override { return what_; }
  bool Authenticated() const override { return authenticated_; }
  const std::string& data() const { return data_; }
  bool authenticated_ = false;

 private:
  std::string data_;
  size_t at_ = 0;
  std::string what_ = "fuzzed image";
};

void WriteSample(ImageSink& sink) {
  image::Manifest m;
  m.set_format_version(kImageFormatVersion);
  m.set_page_size(4096);
  REQUIRE(sink.WriteManifest(m).ok());
  image::Core core;
  core.mutable_process()->set_pid(42);
  core.mutable_process()->set_comm("sample");
  REQUIRE(sink.WriteCore(core).ok());
  std::vector<image::PageBatch> batches(2);
  auto* r = batches[0].add_runs();
  r->set_vaddr(0x10000);
  r->set_npages(2);
  r = batches[1].add_runs();
  r->set_vaddr(0x40000);
  r->set_npages(1);
  REQUIRE(sink.WritePageBatches(batches, [](size_t i, char* dest) {
                  memset(dest, static_cast<int>(i + 1), (i == 0 ? 2 : 1) * 4096);
                  return absl::OkStatus();
                }).ok());
  REQUIRE(sink.Finish().ok());
}

TEST_CASE("a streamed image of any bytes is read whole or refused") {
  auto rng = testing::FuzzRng("StreamImageReader");
  StringStream out;
  StreamImageWriter writer(&out);
  WriteSample(writer);
  const std::string valid = out.data();
  uint64_t n = testing::FuzzIterations(20000);
  uint64_t whole = 0;
  for (uint64_t it = 0; it < n; ++it) {
    StringStream in(rng() % 8 == 0 ? testing::RandomBytes(rng, 2000) : testing::Mutate(rng, valid));
    auto reader = StreamImageReader::Open(&in);
    if (!reader.ok()) {
      REQUIRE(!reader.status().message().empty());
      continue;
    }
    image::PageBatch batch;
    std::string data;
    absl::StatusOr<bool> more = true;
    uint64_t pages = 0;
    while ((more = (*reader)->Next(&batch, &data)).ok() && *more) {
      uint64_t declared = 0;
      for (const auto& run : batch.runs()) declared += run.npages();
      REQUIRE(data.size() == declared * 4096);  // the bytes are what the map says, no more
      pages += declared;
    }
    if (more.ok()) {
      ++whole;
      REQUIRE(pages == 3);
    }
  }
  REQUIRE(whole >= 1);  // (the unmutated cuts that stay valid, at least the seed's)
}

TEST_CASE("over an authenticated stream pages go without our checksum; elsewhere it is kept") {
  StringStream tls;
  tls.authenticated_ = true;
  StreamImageWriter writer(&tls);
  WriteSample(writer);
  StringStream plain;
  StreamImageWriter plain_writer(&plain);
  WriteSample(plain_writer);
  REQUIRE(tls.data().size() == plain.data().size());
  REQUIRE(tls.data() != plain.data());  // (the pages' checksums are 0)
  auto read_all = [](StringStream* in) -> absl::Status {
    auto reader = StreamImageReader::Open(in);
    if (!reader.ok()) return reader.status();
    image::PageBatch batch;
    std::string data;
    absl::StatusOr<bool> more;
    while ((more = (*reader)->Next(&batch, &data)).ok() && *more) {
    }
    return more.status();
  };
  StringStream back(tls.data());
  back.authenticated_ = true;
  REQUIRE(read_all(&back).ok());
  // The same bytes where nothing authenticates them are refused.
  StringStream unauthenticated(tls.data());
  absl::Status s = read_all(&unauthenticated);
  REQUIRE(absl::IsDataLoss(s));
  REQUIRE(s.message().find("checksum mismatch in a pages frame") != std::string::npos);
  // Headers and the other frames keep their checksums even there.
  std::string flipped = tls.data();
  flipped[sizeof(FrameHeader) + 2] ^= 1;  // (in the manifest)
  StringStream bad(flipped);
  bad.authenticated_ = true;
  REQUIRE_FALSE(read_all(&bad).ok());
}

TEST_CASE("an image file of any bytes is loaded whole or refused") {
  auto rng = testing::FuzzRng("LoadImage");
  std::string path = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/fuzz-sample.img";
  {
    auto writer = ImageWriter::Create(path);
    REQUIRE(writer.ok());
    WriteSample(**writer);
  }
  auto valid_file = LoadImage(path);
  REQUIRE(valid_file.ok());
  std::string valid;
  {
    FILE* f = fopen(path.c_str(), "rb");
    REQUIRE(f);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) valid.append(buf, k);
    fclose(f);
  }
  uint64_t n = testing::FuzzIterations(20000) / 4 + 1;  // (a file each: slower)
  for (uint64_t it = 0; it < n; ++it) {
    std::string bytes = rng() % 8 == 0 ? testing::RandomBytes(rng, 2000) : testing::Mutate(rng, valid);
    int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    auto img = LoadImage(fd, "fuzzed image");
    close(fd);
    if (!img.ok()) REQUIRE(!img.status().message().empty());
  }
}

}  // namespace
}  // namespace mosix
