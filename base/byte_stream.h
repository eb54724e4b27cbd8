// A connection that bytes go through in order: a socket or pipe as it is (FdStream), or the
// same inside TLS (security/tls.h). Image streams and relays are written against this.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mosix {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // All of it, or an error.
  virtual absl::Status Write(const void* data, size_t len) = 0;
  // Up to len bytes, at least one; 0 at the end of the stream.
  virtual absl::StatusOr<size_t> ReadSome(void* data, size_t len) = 0;
  // What the stream is, for messages ("image stream to node2").
  virtual const std::string& what() const = 0;
  // Whether every byte across it is authenticated between its two ends (TLS): a checksum of the
  // writer's own adds nothing there.
  virtual bool Authenticated() const { return false; }

  // A large payload whose length the reader learns first (from a frame header), read back with
  // ReadBulk of that length. A stream may seal it in place (its bytes are then garbage) and
  // carry it apart from its other bytes (TlsConnection); others write and read it as any bytes.
  virtual absl::Status WriteBulk(char* data, size_t len) { return Write(data, len); }
  virtual absl::Status ReadBulk(char* data, size_t len) { return Read(data, len); }

  // Exactly len bytes, or an error (DataLoss if the stream ends first).
  absl::Status Read(void* data, size_t len);
};

// A file descriptor, not owned.
class FdStream final : public ByteStream {
 public:
  FdStream(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  absl::Status Write(const void* data, size_t len) override;
  absl::StatusOr<size_t> ReadSome(void* data, size_t len) override;
  const std::string& what() const override { return what_; }

 private:
  int fd_;
  std::string what_;
};

}  // namespace mosix
