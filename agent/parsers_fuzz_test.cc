// Fuzzes the agent's parsers of bytes it does not make itself: a mosrun's registration on the
// channel (any local user may send one) and the records of its table on disk (a damaged file
// must lose one process, never the agent). Seeded random and mutated valid inputs.
//   MOSIX_FUZZ_ITERATIONS=1000000 bazel test --config=asan //agent:parsers_fuzz_test
#include <cstring>

#include <catch2/catch.hpp>
#include <google/protobuf/stubs/logging.h>

#include "agent/channel_server.h"
#include "agent/process/table_store.h"
#include "agent/process_table.h"
#include "interceptor/channel_protocol.h"
#include "test/util/fuzz.h"

namespace mosix::agent {
namespace {

std::string ValidRegister(std::mt19937_64& rng) {
  mosix_register head{MOSIX_CHANNEL_VERSION, static_cast<uint32_t>(1 + rng() % 4), 60.0, MOSIX_REGISTER_LOCKED, 64};
  std::string p(reinterpret_cast<const char*>(&head), sizeof head);
  p += std::string("/tmp/ck") + '\0' + "node2" + '\0';
  for (uint32_t i = 0; i < head.argc; ++i) p += "arg" + std::to_string(i) + '\0';
  return p;
}

TEST_CASE("a registration of any bytes is parsed or refused with a reason") {
  auto rng = testing::FuzzRng("ParseRegister");
  uint64_t n = testing::FuzzIterations(20000);
  for (uint64_t it = 0; it < n; ++it) {
    std::string payload = rng() % 3 == 0 ? testing::RandomBytes(rng, 200) : testing::Mutate(rng, ValidRegister(rng));
    auto r = ParseRegister(payload);
    if (r.ok()) {
      REQUIRE(r->argv_size() >= 1);
      REQUIRE(static_cast<size_t>(r->argv_size()) <= MOSIX_REGISTER_MAX_ARGC);
    } else {
      REQUIRE(!r.status().message().empty());
    }
  }
  auto valid = ParseRegister(ValidRegister(rng));
  REQUIRE(valid.ok());
  REQUIRE(valid->start_on() == "node2");
  REQUIRE(valid->locked());
  REQUIRE(valid->memory_mb() == 64);
}

TEST_CASE("a table record of any bytes is read or refused, never trusted") {
  auto rng = testing::FuzzRng("FromRecord");
  google::protobuf::SetLogHandler(nullptr);  // (invalid UTF-8 in a string field is expected here)
  ProcessEntry e;
  e.pid = 4242;
  e.start_time = 99;
  e.argv = {"xz", "-9"};
  e.state = ProcState::kRemote;
  e.where = "node2";
  e.remote_pid = 77;
  e.shim_info = 0x7f0000001000;
  e.shim_ranges = {{0x7f0000000000, 0x7f0000010000}};
  std::string valid;
  REQUIRE(ToRecord(e).SerializeToString(&valid));
  auto back = FromRecord(ToRecord(e));
  REQUIRE(back.ok());
  REQUIRE(back->where == "node2");
  uint64_t n = testing::FuzzIterations(20000);
  for (uint64_t it = 0; it < n; ++it) {
    std::string bytes = rng() % 4 == 0 ? testing::RandomBytes(rng, 300) : testing::Mutate(rng, valid);
    ProcessRecord r;
    if (!r.ParseFromString(bytes)) continue;
    auto got = FromRecord(r);
    if (got.ok()) {
      REQUIRE(got->pid > 0);
      if (got->state == ProcState::kRemote) REQUIRE((!got->where.empty() && got->remote_pid > 0 && got->shim_info != 0));
      for (const auto& [start, end] : got->shim_ranges) REQUIRE(end > start);
    }
  }
}

}  // namespace
}  // namespace mosix::agent
