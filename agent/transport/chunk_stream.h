// An image carried in a gRPC stream of DepartChunk messages, as a ByteStream: a node writes a
// checkpoint of its guest straight into the call (no file on its disk); the home node keeps it
// (Mover::ReceiveImage). (A move sends its image on a connection of its own instead.)
//
// The first chunk carries the CPU time the copy used; the last one, the image's byte count,
// which the receiver checks against what it got (a stream cut short is DataLoss, not EOF).
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include <string>

#include "absl/status/status.h"
#include "base/byte_stream.h"
#include "proto/agent.pb.h"

namespace mosix::agent {

class ChunkWriter final : public ByteStream {
 public:
  ChunkWriter(grpc::ServerWriterInterface<DepartChunk>* writer, double cpu_seconds, std::string what);
  absl::Status Write(const void* data, size_t len) override;
  absl::StatusOr<size_t> ReadSome(void*, size_t) override;
  const std::string& what() const override { return what_; }
  // Sends what is buffered, then the count.
  absl::Status Finish();

 private:
  absl::Status Flush();

  grpc::ServerWriterInterface<DepartChunk>* writer_;
  DepartChunk pending_;
  uint64_t total_ = 0;
  std::string what_;
  bool broken_ = false;
};

}  // namespace mosix::agent
