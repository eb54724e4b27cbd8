#include "checkpoint/image_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "base/file_util.h"
#include "base/status.h"

namespace mosix {

const char* FrameKindName(uint32_t kind) {
  switch (static_cast<FrameKind>(kind)) {
    case FrameKind::kManifest: return "manifest";
    case FrameKind::kCore: return "core";
    case FrameKind::kPageMap: return "pagemap";
    case FrameKind::kPages: return "pages";
    case FrameKind::kTrailer: return "trailer";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<ImageWriter>> ImageWriter::Create(const std::string& path) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open", tmp);
  return std::unique_ptr<ImageWriter>(new ImageWriter(path, UniqueFd(fd)));
}

ImageWriter::~ImageWriter() {
  if (!finished_) ::unlink((path_ + ".tmp").c_str());
}

absl::Status ImageWriter::WriteFrame(FrameKind kind, const void* data, size_t len) {
  FrameHeader h{kFrameMagic, static_cast<uint32_t>(kind), len, Crc32c(0, data, len), 0};
  h.header_crc = Crc32c(0, &h, offsetof(FrameHeader, header_crc));
  RETURN_IF_ERROR(WriteAll(fd_.get(), &h, sizeof h, path_ + ".tmp"));
  RETURN_IF_ERROR(WriteAll(fd_.get(), data, len, path_ + ".tmp"));
  ++frames_;
  bytes_ += sizeof h + len;
  return absl::OkStatus();
}

absl::Status ImageWriter::WriteMessage(FrameKind kind, const google::protobuf::MessageLite& msg) {
  std::string buf;
  if (!msg.SerializeToString(&buf)) return absl::InternalError("cannot serialize image frame");
  return WriteFrame(kind, buf.data(), buf.size());
}

absl::Status ImageWriter::WriteManifest(const image::Manifest& manifest) {
  return WriteMessage(FrameKind::kManifest, manifest);
}

absl::Status ImageWriter::WriteCore(const image::Core& core) {
  return WriteMessage(FrameKind::kCore, core);
}

absl::Status ImageWriter::WritePages(const image::PageBatch& batch, const void* data, size_t len) {
  uint64_t n = 0;
  for (const auto& run : batch.runs()) n += run.npages();
  if (n * 4096 != len) return absl::InternalError("page batch does not match its data");
  RETURN_IF_ERROR(WriteMessage(FrameKind::kPageMap, batch));
  RETURN_IF_ERROR(WriteFrame(FrameKind::kPages, data, len));
  pages_ += n;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ImageWriter::Finish() {
  image::Trailer t;
  t.set_frame_count(frames_);
  t.set_page_count(pages_);
  RETURN_IF_ERROR(WriteMessage(FrameKind::kTrailer, t));
  std::string tmp = path_ + ".tmp";
  if (::fdatasync(fd_.get()) != 0 && errno != EINVAL) return ErrnoStatus("fdatasync", tmp);
  fd_.reset();
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return ErrnoStatus("rename", tmp);
  finished_ = true;
  return bytes_;
}

LoadedImage::~LoadedImage() {
  if (map_ && map_ != MAP_FAILED) ::munmap(map_, size_);
}

absl::StatusOr<std::unique_ptr<LoadedImage>> LoadImage(const std::string& path) {
  auto err = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat("image ", path, ": ", what));
  };
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path);
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat("image ", path, ": not a regular file"));
  auto img = std::unique_ptr<LoadedImage>(new LoadedImage);
  img->path_ = path;
  img->size_ = st.st_size;
  if (img->size_ < sizeof(FrameHeader)) {
    return err(img->size_ == 0 ? "empty file" : "too short to be a mosix image");
  }
  img->map_ = ::mmap(nullptr, img->size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (img->map_ == MAP_FAILED) {
    img->map_ = nullptr;
    return ErrnoStatus("mmap", path);
  }
  const char* base = static_cast<const char*>(img->map_);
  uint64_t off = 0;
  uint64_t frames = 0;
  bool have_core = false, have_trailer = false;
  image::PageBatch pending_batch;
  bool batch_pending = false;
  image::Trailer trailer;
  while (off < img->size_) {
    if (have_trailer) return err(absl::StrCat("data after the trailer at byte ", off));
    if (img->size_ - off < sizeof(FrameHeader)) {
      return err(absl::StrCat("truncated at byte ", img->size_, " (frame header at ", off, " incomplete)"));
    }
    FrameHeader h;
    memcpy(&h, base + off, sizeof h);
    if (h.magic != kFrameMagic) {
      return err(frames == 0 ? "not a mosix image (bad magic)"
                             : absl::StrCat("corrupted: no frame header at byte ", off));
    }
    if (Crc32c(0, &h, offsetof(FrameHeader, header_crc)) != h.header_crc) {
      return err(absl::StrCat("corrupted: frame header checksum mismatch at byte ", off));
    }
    const char* payload = base + off + sizeof h;
    uint64_t avail = img->size_ - off - sizeof h;
    if (h.length > avail) {
      return err(absl::StrCat("truncated at byte ", img->size_, " (", FrameKindName(h.kind), " frame at ", off,
                              " needs ", h.length, " bytes, ", avail, " present)"));
    }
    if (Crc32c(0, payload, h.length) != h.payload_crc) {
      return err(absl::StrCat("corrupted: checksum mismatch in ", FrameKindName(h.kind), " frame at byte ", off));
    }
    auto kind = static_cast<FrameKind>(h.kind);
    if (frames == 0 && kind != FrameKind::kManifest) return err("first frame is not the manifest");
    switch (kind) {
      case FrameKind::kManifest:
        if (frames != 0) return err(absl::StrCat("second manifest at byte ", off));
        if (!img->manifest_.ParseFromArray(payload, static_cast<int>(h.length))) return err("unreadable manifest");
        if (img->manifest_.format_version() != kImageFormatVersion) {
          return absl::FailedPreconditionError(absl::StrCat(
              "image ", path, ": format version ", img->manifest_.format_version(),
              " is not readable by this mosix (it reads version ", kImageFormatVersion, ")"));
        }
        break;
      case FrameKind::kCore:
        if (have_core) return err("second core frame");
        if (!img->core_.ParseFromArray(payload, static_cast<int>(h.length))) return err("unreadable core frame");
        have_core = true;
        break;
      case FrameKind::kPageMap:
        if (!have_core || batch_pending) return err(absl::StrCat("pagemap frame out of order at byte ", off));
        if (!pending_batch.ParseFromArray(payload, static_cast<int>(h.length))) return err("unreadable pagemap frame");
        batch_pending = true;
        break;
      case FrameKind::kPages: {
        if (!batch_pending) return err(absl::StrCat("pages frame without pagemap at byte ", off));
        uint64_t n = 0;
        for (const auto& r : pending_batch.runs()) {
          if (r.vaddr() % 4096 != 0) return err("unaligned page run");
          n += r.npages();
        }
        if (n * 4096 != h.length) return err(absl::StrCat("pages frame at byte ", off, " does not match its pagemap"));
        img->chunks_.push_back(PageChunk{std::move(pending_batch), payload, h.length});
        pending_batch = image::PageBatch();
        img->page_count_ += n;
        batch_pending = false;
        break;
      }
      case FrameKind::kTrailer:
        if (!trailer.ParseFromArray(payload, static_cast<int>(h.length))) return err("unreadable trailer");
        have_trailer = true;
        break;
      default:
        return err(absl::StrCat("unknown frame kind ", h.kind, " at byte ", off));
    }
    off += sizeof h + h.length;
    if (kind != FrameKind::kTrailer) ++frames;
  }
  if (!have_trailer) return err(absl::StrCat("truncated at byte ", img->size_, " (no trailer)"));
  if (!have_core) return err("no core frame");
  if (trailer.frame_count() != frames || trailer.page_count() != img->page_count_) {
    return err("trailer does not match the frames (frames missing)");
  }
  return img;
}

}  // namespace mosix
