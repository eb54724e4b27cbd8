#include "checkpoint/image_stream.h"

#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/crc32c.h"
#include "base/file_util.h"
#include "base/status.h"

namespace mosix {
namespace {

constexpr uint64_t kMaxFrame = 256ull << 20;

}  // namespace

absl::Status StreamImageWriter::Send(FrameKind kind, const void* data, size_t len) {
  char header[sizeof(FrameHeader)];
  PutFrameHeader(header, kind, data, len);
  RETURN_IF_ERROR(out_->Write(header, sizeof header));
  RETURN_IF_ERROR(out_->Write(data, len));
  bytes_ += sizeof header + len;
  if (kind != FrameKind::kTrailer) ++frames_;
  return absl::OkStatus();
}

absl::Status StreamImageWriter::SendMessage(FrameKind kind, const google::protobuf::MessageLite& msg) {
  std::string buf;
  if (!msg.SerializeToString(&buf)) return absl::InternalError("cannot serialize image frame");
  return Send(kind, buf.data(), buf.size());
}

absl::Status StreamImageWriter::WriteManifest(const image::Manifest& manifest) {
  return SendMessage(FrameKind::kManifest, manifest);
}

absl::Status StreamImageWriter::WriteCore(const image::Core& core) { return SendMessage(FrameKind::kCore, core); }

absl::Status StreamImageWriter::WritePageBatches(const std::vector<image::PageBatch>& batches, const FillFn& fill) {
  // Two buffers in turn: a helper thread fills (and checksums) batch i + 1 while this one
  // sends batch i. Over an authenticated stream (TLS: its records carry their own tags) the
  // pages go without a checksum of ours, and its reader checks none: 4% of a move's CPU.
  const bool checksum = !out_->Authenticated();
  struct Slot {
    std::string data;
    char header[sizeof(FrameHeader)];
    absl::Status status;
  };
  Slot slots[2];
  absl::Mutex mu;
  size_t filled = 0;  // batches [0, filled) are ready to send
  size_t sent = 0;    // batches [0, sent) are sent: their slots are free again
  bool quit = false;
  std::thread filler([&] {
    for (size_t i = 0; i < batches.size(); ++i) {
      {
        absl::MutexLock lock(&mu);
        auto free_slot = [&] { return quit || i < sent + 2; };
        mu.Await(absl::Condition(&free_slot));
        if (quit) return;
      }
      Slot& s = slots[i % 2];
      uint64_t len = 0;
      for (const auto& r : batches[i].runs()) len += r.npages() * 4096;
      s.data.resize(len);
      s.status = fill(i, s.data.data());
      if (s.status.ok()) PutFrameHeader(s.header, FrameKind::kPages, s.data.data(), len, checksum);
      absl::MutexLock lock(&mu);
      filled = i + 1;
    }
  });
  absl::Status status;
  for (size_t i = 0; i < batches.size() && status.ok(); ++i) {
    {
      absl::MutexLock lock(&mu);
      auto ready = [&] { return i < filled; };
      mu.Await(absl::Condition(&ready));
    }
    Slot& s = slots[i % 2];
    status = s.status;
    if (status.ok()) status = SendMessage(FrameKind::kPageMap, batches[i]);
    if (status.ok()) status = out_->Write(s.header, sizeof s.header);
    if (status.ok()) status = out_->WriteBulk(s.data.data(), s.data.size());  // (sealed in place: sent)
    if (status.ok()) {
      bytes_ += sizeof s.header + s.data.size();
      ++frames_;
      pages_ += s.data.size() / 4096;
    }
    absl::MutexLock lock(&mu);
    sent = i + 1;
    if (!status.ok()) quit = true;
  }
  filler.join();
  return status;
}

absl::StatusOr<uint64_t> StreamImageWriter::Finish() {
  image::Trailer t;
  t.set_frame_count(frames_);
  t.set_page_count(pages_);
  RETURN_IF_ERROR(SendMessage(FrameKind::kTrailer, t));
  return bytes_;
}

absl::StatusOr<uint32_t> StreamImageReader::ReadFrame(std::string* payload) {
  FrameHeader h;
  RETURN_IF_ERROR(Annotate(in_->Read(&h, sizeof h), "image stream"));
  if (h.magic != kFrameMagic || Crc32c(0, &h, offsetof(FrameHeader, header_crc)) != h.header_crc) {
    return absl::DataLossError(absl::StrCat(what_, ": corrupted image stream (bad frame header)"));
  }
  if (h.length > kMaxFrame) return absl::DataLossError(absl::StrCat(what_, ": image frame too large"));
  payload->resize(h.length);
  // (Pages come as the writer sent them: a bulk record where the stream has those.)
  if (static_cast<FrameKind>(h.kind) == FrameKind::kPages) {
    RETURN_IF_ERROR(Annotate(in_->ReadBulk(payload->data(), h.length), "image stream"));
  } else {
    RETURN_IF_ERROR(Annotate(in_->Read(payload->data(), h.length), "image stream"));
  }
  bool unchecked = in_->Authenticated() && static_cast<FrameKind>(h.kind) == FrameKind::kPages;
  if (!unchecked && Crc32c(0, payload->data(), payload->size()) != h.payload_crc) {
    return absl::DataLossError(absl::StrCat(what_, ": corrupted image stream (checksum mismatch in a ", FrameKindName(h.kind), " frame)"));
  }
  return h.kind;
}

absl::StatusOr<std::unique_ptr<StreamImageReader>> StreamImageReader::Open(ByteStream* in) {
  auto r = std::unique_ptr<StreamImageReader>(new StreamImageReader(in));
  std::string payload;
  ASSIGN_OR_RETURN(uint32_t kind, r->ReadFrame(&payload));
  if (static_cast<FrameKind>(kind) != FrameKind::kManifest || !r->manifest_.ParseFromString(payload)) {
    return absl::DataLossError(absl::StrCat(r->what_, ": an image stream must start with its manifest"));
  }
  if (r->manifest_.format_version() != kImageFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(r->what_, ": image format version ", r->manifest_.format_version(),
                                                      " is not readable by this mosix (it reads version ", kImageFormatVersion, ")"));
  }
  ASSIGN_OR_RETURN(kind, r->ReadFrame(&payload));
  if (static_cast<FrameKind>(kind) != FrameKind::kCore || !r->core_.ParseFromString(payload)) {
    return absl::DataLossError(absl::StrCat(r->what_, ": an image stream must have its core second"));
  }
  r->frames_ = 2;
  return r;
}

absl::StatusOr<bool> StreamImageReader::Next(image::PageBatch* batch, std::string* data) {
  std::string payload;
  ASSIGN_OR_RETURN(uint32_t kind, ReadFrame(&payload));
  if (static_cast<FrameKind>(kind) == FrameKind::kTrailer) {
    image::Trailer t;
    if (!t.ParseFromString(payload) || t.frame_count() != frames_ || t.page_count() != pages_) {
      return absl::DataLossError(absl::StrCat(what_, ": image stream incomplete (trailer does not match)"));
    }
    return false;
  }
  if (static_cast<FrameKind>(kind) != FrameKind::kPageMap || !batch->ParseFromString(payload)) {
    return absl::DataLossError(absl::StrCat(what_, ": image stream out of order (pagemap expected)"));
  }
  ASSIGN_OR_RETURN(kind, ReadFrame(data));
  uint64_t n = 0;
  for (const auto& r : batch->runs()) n += r.npages();
  if (static_cast<FrameKind>(kind) != FrameKind::kPages || n * 4096 != data->size()) {
    return absl::DataLossError(absl::StrCat(what_, ": image stream out of order (pages expected)"));
  }
  frames_ += 2;
  pages_ += n;
  return true;
}

}  // namespace mosix
