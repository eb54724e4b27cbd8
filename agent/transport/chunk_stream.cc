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

}  // namespace mosix::agent
