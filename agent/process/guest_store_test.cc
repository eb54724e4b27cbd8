#include "agent/process/guest_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/file_util.h"
#include "test/util/spawn.h"

namespace mosix::agent {
namespace {

GuestRecord Record(int pid) {
  GuestRecord r;
  r.set_version(GuestStore::kVersion);
  r.set_local_pid(pid);
  r.set_start_time(12345);
  r.set_home_node("node1");
  r.set_home_pid(777);
  r.set_shim_text_start(0x1000);
  r.set_shim_text_end(0x2000);
  r.set_shim_info(0x3000);
  return r;
}

}  // namespace

TEST_CASE("guest records read back as written, and removed ones are gone") {
  std::string dir = testing::MakeTempDir("guests") + "/guests";
  GuestStore store(dir);
  REQUIRE(store.Open().ok());
  REQUIRE(store.Save(Record(41)).ok());
  REQUIRE(store.Save(Record(42)).ok());
  store.Remove(41);
  std::vector<std::string> skipped;
  auto all = store.LoadAll(&skipped);
  REQUIRE(skipped.empty());
  REQUIRE(all.size() == 1);
  REQUIRE(all[0].local_pid() == 42);
  REQUIRE(all[0].home_node() == "node1");
  REQUIRE(all[0].start_time() == 12345);
}

TEST_CASE("a damaged, foreign or half record loses that guest only, and is removed") {
  std::string dir = testing::MakeTempDir("guests_bad") + "/guests";
  GuestStore store(dir);
  REQUIRE(store.Open().ok());
  REQUIRE(store.Save(Record(50)).ok());
  REQUIRE(WriteFileAtomically(dir + "/51", "\xff\xff\xff garbage").ok());
  GuestRecord other = Record(52);
  other.set_local_pid(53);  // names another pid than its file
  REQUIRE(WriteFileAtomically(dir + "/52", other.SerializeAsString()).ok());
  GuestRecord newer = Record(54);
  newer.set_version(GuestStore::kVersion + 1);
  REQUIRE(WriteFileAtomically(dir + "/54", newer.SerializeAsString()).ok());
  GuestRecord homeless = Record(55);
  homeless.clear_home_node();
  REQUIRE(WriteFileAtomically(dir + "/55", homeless.SerializeAsString()).ok());
  std::vector<std::string> skipped;
  auto all = store.LoadAll(&skipped);
  REQUIRE(all.size() == 1);
  REQUIRE(all[0].local_pid() == 50);
  REQUIRE(skipped.size() == 4);
  for (int pid : {51, 52, 54, 55}) REQUIRE(::access((dir + "/" + std::to_string(pid)).c_str(), F_OK) != 0);
  skipped.clear();
  REQUIRE(store.LoadAll(&skipped).size() == 1);
  REQUIRE(skipped.empty());
}

}  // namespace mosix::agent
