// The justified differences from tshark that the shared-capture tests accept: entries of
// tests/tshark_allowlist.yaml and the protocol's own tests/tshark_allowlist_<proto>.yaml.
#pragma once

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tests/test_support.hpp"

namespace ots::test {

struct AllowedDiff {
  std::string protocol, capture, what, why, where;
  long ours = 0, tshark = 0;
  bool used = false;  // set by the test when a difference matched it; unused entries are stale
};

// Entries whose `protocol` is one of `protocols`, from the shared file and `own_file`. Each must say why.
inline std::vector<AllowedDiff> load_tshark_allowlist(std::initializer_list<std::string_view> protocols,
                                                      const char* own_file) {
  std::vector<AllowedDiff> out;
  for (const char* name : {"tshark_allowlist.yaml", own_file}) {
    const std::filesystem::path p = source_dir() / "tests" / name;
    if (!std::filesystem::exists(p)) continue;
    YAML::Node root = YAML::LoadFile(p.string());
    if (root.IsMap() && root["entries"]) root = root["entries"];
    if (!root.IsSequence()) continue;
    for (size_t i = 0; i < root.size(); ++i) {
      const YAML::Node e = root[i];
      if (!e.IsMap() || !e["protocol"]) continue;
      const std::string proto = e["protocol"].as<std::string>();
      bool wanted = false;
      for (std::string_view w : protocols) wanted = wanted || proto == w;
      if (!wanted) continue;
      AllowedDiff a;
      a.protocol = proto;
      a.where = std::string(name) + " entry " + std::to_string(i + 1);
      a.capture = e["capture"].as<std::string>();
      a.what = e["what"].as<std::string>();
      a.ours = e["ours"].as<long>();
      a.tshark = e["tshark"].as<long>();
      a.why = e["why"] ? e["why"].as<std::string>() : std::string();
      INFO(a.where);
      REQUIRE_FALSE(a.why.empty());
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace ots::test
