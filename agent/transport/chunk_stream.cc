#include "agent/transport/chunk_stream.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace mosix::agent {
namespace {
constexpr size_t kChunkBytes = 1 << 20;
}  // namespace

ChunkWriter::ChunkWriter(grpc::ServerWriterInterface<DepartChunk>* writer, double cpu_seconds, std::string what)
    : writer_(writer), what_(std::move(what)) {
  pending_.set_cpu_seconds(cpu_seconds);
}

absl::Status ChunkWriter::Flush() {
  if (broken_) return absl::UnavailableError(absl::StrCat(what_, ": the receiver stopped taking it"));
  if (!writer_->Write(pending_)) {
    broken_ = true;
    return absl::UnavailableError(absl::StrCat(what_, ": the receiver stopped taking it"));
  }
  pending_.Clear();
  return absl::OkStatus();
}

absl::Status ChunkWriter::Write(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    std::string* buf = pending_.mutable_data();
    if (buf->capacity() < kChunkBytes) buf->reserve(kChunkBytes);
    size_t n = std::min(len, kChunkBytes - buf->size());
    buf->append(p, n);
    p += n;
    len -= n;
    total_ += n;
    if (buf->size() == kChunkBytes) {
      absl::Status s = Flush();
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ChunkWriter::ReadSome(void*, size_t) {
  return absl::InternalError(absl::StrCat(what_, " is written, not read"));
}

absl::Status ChunkWriter::Finish() {
  pending_.set_image_bytes(total_);
  pending_.set_last(true);
  return Flush();
}

absl::Status ChunkReader::Write(const void*, size_t) {
  return absl::InternalError(absl::StrCat(what_, " is read, not written"));
}

absl::StatusOr<size_t> ChunkReader::ReadSome(void* data, size_t len) {
  while (offset_ >= static_cast<size_t>(chunk_.data().size())) {
    if (ended_) return 0;
    if (!reader_->Read(&chunk_)) return absl::DataLossError(absl::StrCat(what_, " ended early, after ", got_, " bytes"));
    offset_ = 0;
    if (first_) cpu_seconds_ = chunk_.cpu_seconds();
    first_ = false;
    got_ += chunk_.data().size();
    if (chunk_.last()) {
      if (chunk_.image_bytes() != got_) {
        return absl::DataLossError(absl::StrCat(what_, ": ", got_, " bytes came of ", chunk_.image_bytes()));
      }
      ended_ = true;
    }
  }
  size_t n = std::min(len, chunk_.data().size() - offset_);
  memcpy(data, chunk_.data().data() + offset_, n);
  offset_ += n;
  return n;
}

}  // namespace mosix::agent
