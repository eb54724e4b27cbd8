// The on-disk image: a sequence of frames.
//
//   frame   = header payload
//   header  = magic "MOSF" | kind u32 | length u64 | payload crc32c u32 | header crc32c u32
//
// Frames: MANIFEST first (proto Manifest, carries the format version), TRAILER last (proto
// Trailer); between them one CORE (proto Core) and any number of PAGEMAP (proto PageBatch) +
// PAGES (raw bytes of those runs) pairs, the CORE before or after the pages. A reader validates every checksum and the trailer's counts before
// anything is done with the image, so a truncated or corrupted file is refused as a whole.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/fd.h"
#include "base/fs_identity.h"
#include "proto/image/core.pb.h"
#include "proto/image/manifest.pb.h"
#include "proto/image/pagemap.pb.h"

namespace mosix {

constexpr uint32_t kImageFormatVersion = 1;
constexpr uint32_t kFrameMagic = 0x46534f4d;  // "MOSF"

enum class FrameKind : uint32_t {
  kManifest = 1,
  kCore = 2,
  kPageMap = 3,
  kPages = 4,
  kTrailer = 5,
};
const char* FrameKindName(uint32_t kind);

struct FrameHeader {
  uint32_t magic;
  uint32_t kind;
  uint64_t length;
  uint32_t payload_crc;
  uint32_t header_crc;  // over the 20 bytes before it
};
static_assert(sizeof(FrameHeader) == 24);

// Where a dump goes: a file (ImageWriter) or a stream (StreamImageWriter, image_stream.h).
class ImageSink {
 public:
  virtual ~ImageSink() = default;
  virtual absl::Status WriteManifest(const image::Manifest& manifest) = 0;
  virtual absl::Status WriteCore(const image::Core& core) = 0;
  // Fills page memory into the image. fill(i, dest) must write batch i's pages (its runs'
  // pages back to back) to dest.
  using FillFn = std::function<absl::Status(size_t batch, char* dest)>;
  virtual absl::Status WritePageBatches(const std::vector<image::PageBatch>& batches, const FillFn& fill) = 0;
  // Writes the trailer and completes the image; returns its size in bytes.
  virtual absl::StatusOr<uint64_t> Finish() = 0;
  // A file may have its core after the pages (gathered while they are copied); a stream's
  // reader restores pages as they come, so it needs the core first.
  virtual bool CoreMayFollowPages() const = 0;
};

// Writes an image to PATH.tmp and renames it to PATH on Finish, so a failed or refused
// checkpoint never leaves a partial image under the final name.
class ImageWriter : public ImageSink {
 public:
  // The file is created, renamed into place (and removed on failure) as `owner` where given:
  // with her rights and as hers (see ScopedFsIdentity).
  static absl::StatusOr<std::unique_ptr<ImageWriter>> Create(const std::string& path,
                                                             std::optional<FsIdentity> owner = std::nullopt);
  ~ImageWriter() override;

  absl::Status WriteManifest(const image::Manifest& manifest) override;
  // Before or after WritePageBatches.
  absl::Status WriteCore(const image::Core& core) override;
  // The whole file is sized and mapped first, so pages are copied once, straight from the
  // process into the image (no write() copy, no file growth page by page), on all CPUs.
  absl::Status WritePageBatches(const std::vector<image::PageBatch>& batches, const FillFn& fill) override;
  // Writes the trailer, flushes, renames into place.
  absl::StatusOr<uint64_t> Finish() override;
  bool CoreMayFollowPages() const override { return true; }

 private:
  ImageWriter(std::string path, UniqueFd fd, std::optional<FsIdentity> owner)
      : path_(std::move(path)), fd_(std::move(fd)), owner_(std::move(owner)) {}
  // Appends a frame to head_ (everything written before the pages).
  absl::Status AppendMessage(std::string* out, FrameKind kind, const google::protobuf::MessageLite& msg);

  std::string path_;
  UniqueFd fd_;
  std::optional<FsIdentity> owner_;
  std::string head_;  // frames not yet in the file
  uint64_t file_size_ = 0;
  uint64_t frames_ = 0;
  uint64_t pages_ = 0;
  bool pages_written_ = false;
  bool finished_ = false;
};

// Appends a framed record (header + payload) to out.
void AppendFrame(std::string* out, FrameKind kind, const void* data, size_t len);
// Writes a frame header for payload [data, data+len) at dest; without checksum, its payload_crc
// is 0 (a stream whose bytes are authenticated end to end: see StreamImageWriter).
void PutFrameHeader(char* dest, FrameKind kind, const void* data, size_t len, bool checksum = true);

// A PAGES frame, in place in the mapped file.
struct PageChunk {
  image::PageBatch batch;
  const char* data = nullptr;
  uint64_t len = 0;
};

// A validated image, mapped read-only.
class LoadedImage {
 public:
  ~LoadedImage();
  const image::Manifest& manifest() const { return manifest_; }
  const image::Core& core() const { return core_; }
  const std::vector<PageChunk>& chunks() const { return chunks_; }
  uint64_t page_count() const { return page_count_; }
  uint64_t file_size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  friend absl::StatusOr<std::unique_ptr<LoadedImage>> LoadImage(int fd, const std::string& path);
  std::string path_;
  void* map_ = nullptr;
  uint64_t size_ = 0;
  image::Manifest manifest_;
  image::Core core_;
  std::vector<PageChunk> chunks_;
  uint64_t page_count_ = 0;
};

// Maps and validates an image: magic, every checksum, frame order, version, trailer counts.
// Errors say what is wrong and where, e.g. "image /x: truncated at byte 4096 (...)".
absl::StatusOr<std::unique_ptr<LoadedImage>> LoadImage(const std::string& path);
// The same from an open file (not owned; opened by whoever had the right to), named `path`.
absl::StatusOr<std::unique_ptr<LoadedImage>> LoadImage(int fd, const std::string& path);

}  // namespace mosix
