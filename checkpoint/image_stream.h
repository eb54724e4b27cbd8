// Images as streams: a dump written straight into a socket, and read from one by a restore
// that puts each batch of pages into the process as it arrives. No image file on either side:
// a move between nodes allocates fresh memory once, for the process itself.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/byte_stream.h"
#include "checkpoint/image_format.h"

namespace mosix {

// Frames in stream order: MANIFEST, CORE, (PAGEMAP, PAGES)*, TRAILER. Not owning the stream.
class StreamImageWriter : public ImageSink {
 public:
  explicit StreamImageWriter(ByteStream* out) : out_(out) {}
  absl::Status WriteManifest(const image::Manifest& manifest) override;
  absl::Status WriteCore(const image::Core& core) override;
  // Batch by batch: filled into a buffer, checksummed, sent.
  absl::Status WritePageBatches(const std::vector<image::PageBatch>& batches, const FillFn& fill) override;
  absl::StatusOr<uint64_t> Finish() override;
  bool CoreMayFollowPages() const override { return false; }

 private:
  absl::Status Send(FrameKind kind, const void* data, size_t len);
  absl::Status SendMessage(FrameKind kind, const google::protobuf::MessageLite& msg);

  ByteStream* out_;
  uint64_t bytes_ = 0, frames_ = 0, pages_ = 0;
};

// Reads a streamed image, checking every frame as it comes (the pages' checksums only where
// the stream is not authenticated end to end). Not owning the stream.
class StreamImageReader {
 public:
  // Reads the manifest (version checked) and the core.
  static absl::StatusOr<std::unique_ptr<StreamImageReader>> Open(ByteStream* in);

  const image::Manifest& manifest() const { return manifest_; }
  const image::Core& core() const { return core_; }
  // The next batch of pages (data holds them back to back); false after the trailer, whose
  // counts are checked.
  absl::StatusOr<bool> Next(image::PageBatch* batch, std::string* data);

 private:
  explicit StreamImageReader(ByteStream* in) : in_(in), what_(in->what()) {}
  // One frame: header checked, payload read and checksummed.
  absl::StatusOr<uint32_t> ReadFrame(std::string* payload);

  ByteStream* in_;
  std::string what_;
  image::Manifest manifest_;
  image::Core core_;
  uint64_t frames_ = 0, pages_ = 0;
};

}  // namespace mosix
