// The shipped rule set on the real captures of ../shared/pcaps: every hit is listed, with its
// justification, in tests/rules_shared_allowlist.yaml, and every listed hit happens. Skipped (77) when
// ../shared is absent.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

TEST_CASE("shipped rules on the shared captures: every hit is justified in the allowlist", "[rules][shared]") {
  const auto shared = require_shared();
  // (capture, rule) -> "ORIG RESP OPERATION" first notices.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> got;
  const fs::path pcaps = shared / "pcaps";
  for (const fs::path& capture : captures_under(pcaps)) {
    const std::string rel = fs::relative(capture, pcaps).string();
    const auto out = scratch_dir("rules_shared");
    const auto r = run(otsensor() + " -q -r '" + capture.string() + "' --rules '" +
                       (source_dir() / "rules" / "ics-default.yaml").string() + "' -l '" + out.string() + "'");
    INFO(rel << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
    if (!fs::exists(out / "notice.log")) continue;
    for (const auto& row : log_rows(out / "notice.log")) {
      if (row.at("note") != "Rule::Match" || row.at("n") != "-") continue;
      got[{rel, row.at("rule_id")}].insert(row.at("id.orig_h") + " " + row.at("id.resp_h") + " " + row.at("operation"));
    }
  }
  std::map<std::pair<std::string, std::string>, std::set<std::string>> allowed;
  const YAML::Node list = YAML::LoadFile((source_dir() / "tests" / "rules_shared_allowlist.yaml").string());
  for (const auto& e : list) {
    const auto key = std::make_pair(e["capture"].as<std::string>(), e["rule"].as<std::string>());
    INFO(key.first << " rule " << key.second);
    CHECK_FALSE(e["why"].as<std::string>().empty());
    CHECK(allowed.count(key) == 0);
    for (const auto& h : e["hits"]) allowed[key].insert(h.as<std::string>());
  }
  for (const auto& [key, lines] : got) {
    INFO("hit not in tests/rules_shared_allowlist.yaml: " << key.first << " rule " << key.second);
    CHECK(allowed.count(key) == 1);
    if (allowed.count(key)) CHECK(allowed.at(key) == lines);
  }
  for (const auto& [key, lines] : allowed) {
    INFO("allowlist entry no hit uses: " << key.first << " rule " << key.second);
    CHECK(got.count(key) == 1);
  }
  CHECK(got.size() == allowed.size());
}
