// An image stream carried in a gRPC stream of DepartChunk messages, as a ByteStream: the node a
// process leaves writes its image straight into the call (no file on its disk), and the home
// node reads it straight into the process it restores or passes it on to the next node.
//
// The first chunk carries the CPU time the leaving copy used; the last one, the image's byte
// count, which the reader checks against what it got (a stream cut short is DataLoss, not EOF).
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

class ChunkReader final : public ByteStream {
 public:
  ChunkReader(grpc::ClientReaderInterface<DepartChunk>* reader, std::string what) : reader_(reader), what_(std::move(what)) {}
  absl::Status Write(const void*, size_t) override;
  // 0 only once the sender's count was seen and matched.
  absl::StatusOr<size_t> ReadSome(void* data, size_t len) override;
  const std::string& what() const override { return what_; }
  double cpu_seconds() const { return cpu_seconds_; }
  uint64_t bytes() const { return got_; }

 private:
  grpc::ClientReaderInterface<DepartChunk>* reader_;
  std::string what_;
  DepartChunk chunk_;
  size_t offset_ = 0;
  uint64_t got_ = 0;
  double cpu_seconds_ = 0;
  bool first_ = true, ended_ = false;
};

}  // namespace mosix::agent
