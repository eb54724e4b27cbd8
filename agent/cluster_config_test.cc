#include "agent/cluster_config.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace mosix::agent {

TEST_CASE("a valid cluster map parses") {
  auto m = ParseClusterMap(R"(
    this_node: "b"
    nodes { name: "a" address: "127.0.0.1:7700" }
    nodes { name: "b" address: "127.0.0.2:7700" speed: 2 }
  )", "test");
  REQUIRE(m.ok());
  REQUIRE(m->nodes_size() == 2);
  REQUIRE(FindNode(*m, "b")->speed() == 2);
  REQUIRE(FindNode(*m, "c") == nullptr);
}

TEST_CASE("bad cluster maps are refused with what is wrong") {
  struct Case {
    const char* text;
    const char* why;
  };
  for (Case c : {Case{"nodes { name: \"a\" address: \"x:1\" }", "this_node is not set"},
                 Case{"this_node: \"z\" nodes { name: \"a\" address: \"x:1\" }", "'z' is not one of the nodes"},
                 Case{"this_node: \"a\" nodes { name: \"a\" address: \"x\" }", "not host:port"},
                 Case{"this_node: \"a\" nodes { name: \"a\" address: \"x:1\" } nodes { name: \"a\" address: \"y:1\" }", "appears twice"},
                 Case{"this_node: \"a\" nodes { nme: \"a\" }", "line 1"},
                 Case{"this_node: \"a\"", "no nodes"}}) {
    auto m = ParseClusterMap(c.text, "f.textproto");
    INFO(c.text << " -> " << m.status().message());
    REQUIRE(!m.ok());
    REQUIRE(absl::StrContains(m.status().message(), c.why));
    REQUIRE(absl::StrContains(m.status().message(), "f.textproto"));
  }
}

}  // namespace mosix::agent
