#include "checkpoint/image_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/crc32c.h"
#include "base/file_util.h"
#include "base/parallel.h"
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

absl::StatusOr<std::unique_ptr<ImageWriter>> ImageWriter::Create(const std::string& path, std::optional<FsIdentity> owner) {
  std::string tmp = path + ".tmp";
  ScopedFsIdentity as(owner ? &*owner : nullptr);
  RETURN_IF_ERROR(as.status());
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("open", tmp);
  return std::unique_ptr<ImageWriter>(new ImageWriter(path, UniqueFd(fd), std::move(owner)));
}

ImageWriter::~ImageWriter() {
  if (finished_) return;
  ScopedFsIdentity as(owner_ ? &*owner_ : nullptr);
  if (as.status().ok()) ::unlink((path_ + ".tmp").c_str());
}

void PutFrameHeader(char* dest, FrameKind kind, const void* data, size_t len, bool checksum) {
  FrameHeader h{kFrameMagic, static_cast<uint32_t>(kind), len, checksum ? Crc32c(0, data, len) : 0, 0};
  h.header_crc = Crc32c(0, &h, offsetof(FrameHeader, header_crc));
  memcpy(dest, &h, sizeof h);
}

void AppendFrame(std::string* out, FrameKind kind, const void* data, size_t len) {
  size_t at = out->size();
  out->resize(at + sizeof(FrameHeader));
  PutFrameHeader(out->data() + at, kind, data, len);
  out->append(static_cast<const char*>(data), len);
}

absl::Status ImageWriter::AppendMessage(std::string* out, FrameKind kind, const google::protobuf::MessageLite& msg) {
  std::string buf;
  if (!msg.SerializeToString(&buf)) return absl::InternalError("cannot serialize image frame");
  AppendFrame(out, kind, buf.data(), buf.size());
  ++frames_;
  return absl::OkStatus();
}

absl::Status ImageWriter::WriteManifest(const image::Manifest& manifest) {
  return AppendMessage(&head_, FrameKind::kManifest, manifest);
}

absl::Status ImageWriter::WriteCore(const image::Core& core) {
  if (!pages_written_) return AppendMessage(&head_, FrameKind::kCore, core);
  // After the pages: appended to the file (the dumper gathers it while pages are copied).
  std::string frame;
  RETURN_IF_ERROR(AppendMessage(&frame, FrameKind::kCore, core));
  RETURN_IF_ERROR(PwriteAll(fd_.get(), {{frame.data(), frame.size()}}, file_size_, path_ + ".tmp"));
  file_size_ += frame.size();
  return absl::OkStatus();
}

absl::Status ImageWriter::WritePageBatches(const std::vector<image::PageBatch>& batches, const FillFn& fill) {
  if (pages_written_) return absl::InternalError("page batches written twice");
  pages_written_ = true;
  std::vector<std::string> maps(batches.size());
  std::vector<uint64_t> lens(batches.size());
  uint64_t total = head_.size();
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!batches[i].SerializeToString(&maps[i])) return absl::InternalError("cannot serialize page batch");
    for (const auto& r : batches[i].runs()) lens[i] += r.npages() * 4096;
    total += 2 * sizeof(FrameHeader) + maps[i].size() + lens[i];
  }
  std::string tmp = path_ + ".tmp";
  if (total == head_.size()) {
    RETURN_IF_ERROR(WriteAll(fd_.get(), head_.data(), head_.size(), tmp));
    file_size_ = total;
    head_.clear();
    return absl::OkStatus();
  }
  // Each worker fills a batch into a buffer of its own, used again for its next batch, and
  // writes it at its place in the file. The file's pages are then made by the kernel, as a
  // write() makes them, and never mapped here: on these VMs a page mapped into a process costs
  // 10-15 us the first time (the file mapped and populated, as this did before, took 12.5x dd's
  // time for 1 GiB on one of them), while the buffers' few thousand pages are touched once.
  if (::ftruncate(fd_.get(), static_cast<off_t>(total)) != 0) return ErrnoStatus("ftruncate", tmp);
  RETURN_IF_ERROR(PwriteAll(fd_.get(), {{head_.data(), head_.size()}}, 0, tmp));
  std::vector<uint64_t> offsets(batches.size());
  uint64_t off = head_.size();
  for (size_t i = 0; i < batches.size(); ++i) {
    offsets[i] = off;
    off += 2 * sizeof(FrameHeader) + maps[i].size() + lens[i];
    frames_ += 2;
    pages_ += lens[i] / 4096;
  }
  uint64_t longest = *std::max_element(lens.begin(), lens.end());
  absl::Mutex pool_mu;
  std::vector<std::unique_ptr<char[]>> pool;  // buffers not in use
  absl::Status status = ParallelFor(batches.size(), CopyThreads(), [&](size_t i) -> absl::Status {
    std::unique_ptr<char[]> buf;
    {
      absl::MutexLock lock(&pool_mu);
      if (!pool.empty()) {
        buf = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!buf) buf.reset(new char[longest]);
    absl::Status s = fill(i, buf.get());
    if (s.ok()) {
      char map_header[sizeof(FrameHeader)], pages_header[sizeof(FrameHeader)];
      PutFrameHeader(map_header, FrameKind::kPageMap, maps[i].data(), maps[i].size());
      PutFrameHeader(pages_header, FrameKind::kPages, buf.get(), lens[i]);
      s = PwriteAll(fd_.get(),
                    {{map_header, sizeof map_header}, {maps[i].data(), maps[i].size()}, {pages_header, sizeof pages_header},
                     {buf.get(), lens[i]}},
                    offsets[i], tmp);
    }
    absl::MutexLock lock(&pool_mu);
    pool.push_back(std::move(buf));
    return s;
  });
  RETURN_IF_ERROR(status);
  file_size_ = total;
  head_.clear();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ImageWriter::Finish() {
  std::string tmp = path_ + ".tmp";
  if (!head_.empty()) {
    RETURN_IF_ERROR(WriteAll(fd_.get(), head_.data(), head_.size(), tmp));
    file_size_ += head_.size();
    head_.clear();
  }
  image::Trailer t;
  t.set_frame_count(frames_);
  t.set_page_count(pages_);
  std::string tail;
  RETURN_IF_ERROR(AppendMessage(&tail, FrameKind::kTrailer, t));
  RETURN_IF_ERROR(PwriteAll(fd_.get(), {{tail.data(), tail.size()}}, file_size_, tmp));
  file_size_ += tail.size();
  if (::fdatasync(fd_.get()) != 0 && errno != EINVAL) return ErrnoStatus("fdatasync", tmp);
  fd_.reset();
  ScopedFsIdentity as(owner_ ? &*owner_ : nullptr);
  RETURN_IF_ERROR(as.status());
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return ErrnoStatus("rename", tmp);
  finished_ = true;
  return file_size_;
}

LoadedImage::~LoadedImage() {
  if (map_ && map_ != MAP_FAILED) ::munmap(map_, size_);
}

absl::StatusOr<std::unique_ptr<LoadedImage>> LoadImage(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_CLOEXEC));
  return LoadImage(fd.get(), path);
}

absl::StatusOr<std::unique_ptr<LoadedImage>> LoadImage(int image_fd, const std::string& path) {
  auto err = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat("image ", path, ": ", what));
  };
  struct stat st;
  if (::fstat(image_fd, &st) != 0) return ErrnoStatus("fstat", path);
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat("image ", path, ": not a regular file"));
  auto img = std::unique_ptr<LoadedImage>(new LoadedImage);
  img->path_ = path;
  img->size_ = st.st_size;
  if (img->size_ == 0) return err("empty file");
  uint32_t magic = 0;
  if (img->size_ < sizeof magic || ::pread(image_fd, &magic, sizeof magic, 0) != sizeof magic || magic != kFrameMagic) {
    return err("not a mosix image (bad magic)");
  }
  if (img->size_ < sizeof(FrameHeader)) return err("truncated: shorter than one frame header");
  img->map_ = ::mmap(nullptr, img->size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, image_fd, 0);
  if (img->map_ == MAP_FAILED) {
    img->map_ = nullptr;
    return ErrnoStatus("mmap", path);
  }
  const char* base = static_cast<const char*>(img->map_);
  uint64_t off = 0;
  uint64_t frames = 0;
  struct CrcJob {
    uint64_t off;
    uint32_t kind;
    const char* data;
    uint64_t len;
    uint32_t crc;
  };
  std::vector<CrcJob> crc_jobs;
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
    auto kind = static_cast<FrameKind>(h.kind);
    if (kind == FrameKind::kPages) {
      crc_jobs.push_back({off, h.kind, payload, h.length, h.payload_crc});
    } else if (Crc32c(0, payload, h.length) != h.payload_crc) {
      return err(absl::StrCat("corrupted: checksum mismatch in ", FrameKindName(h.kind), " frame at byte ", off));
    }
    if (frames == 0 && kind != FrameKind::kManifest) return err("first frame is not the manifest");
    if (batch_pending && kind != FrameKind::kPages) {
      return err(absl::StrCat("pagemap frame not followed by its pages at byte ", off));
    }
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
        if (batch_pending) return err(absl::StrCat("pagemap frame out of order at byte ", off));
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
  std::vector<char> bad(crc_jobs.size(), 0);
  (void)ParallelFor(crc_jobs.size(), CopyThreads(), [&](size_t i) {
    bad[i] = Crc32c(0, crc_jobs[i].data, crc_jobs[i].len) != crc_jobs[i].crc;
    return absl::OkStatus();
  });
  for (size_t i = 0; i < crc_jobs.size(); ++i) {
    if (bad[i]) {
      return err(absl::StrCat("corrupted: checksum mismatch in ", FrameKindName(crc_jobs[i].kind), " frame at byte ",
                              crc_jobs[i].off));
    }
  }
  if (!have_core) return err("no core frame");
  if (trailer.frame_count() != frames || trailer.page_count() != img->page_count_) {
    return err("trailer does not match the frames (frames missing)");
  }
  return img;
}

}  // namespace mosix
