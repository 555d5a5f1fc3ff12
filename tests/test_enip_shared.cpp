// EtherNet/IP and CIP on the shared real captures: otsensor's enip.log encapsulation commands and cip.log
// CIP services against the tshark oracle (command_hist, service_hist: embedded services included), code by
// code, counted as ../shared/tools/parity/ics_parity.py counts them, allowing exactly the differences
// tests/tshark_allowlist_enip.yaml explains.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_support.hpp"
#include "tests/tshark_allowlist.hpp"

namespace fs = std::filesystem;

namespace {

using Hist = std::map<int, long>;

using Allowed = ots::test::AllowedDiff;

std::vector<Allowed> load_allowlist() {
  return ots::test::load_tshark_allowlist({"enip", "cip"}, "tshark_allowlist_enip.yaml");
}

// Rows of a TSV log as field maps.
std::vector<std::map<std::string, std::string>> rows_of(const fs::path& log) {
  std::vector<std::map<std::string, std::string>> out;
  std::ifstream in(log);
  std::vector<std::string> fields;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    if (line.rfind("#fields", 0) == 0) {
      fields.assign(cols.begin() + 1, cols.end());
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::map<std::string, std::string> r;
    for (size_t i = 0; i < fields.size() && i < cols.size(); ++i) r[fields[i]] = cols[i];
    out.push_back(std::move(r));
  }
  return out;
}

int hex_code(const std::string& s) {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return -1;
  return static_cast<int>(std::stoul(s.substr(2), nullptr, 16));
}

std::string hex_key(const char* what, int v, int width) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s 0x%0*x", what, width, v);
  return buf;
}

}  // namespace

TEST_CASE("enip.log commands and cip.log services agree with tshark on the shared captures", "[enip][shared]") {
  const fs::path shared = ots::test::require_shared();
  const fs::path bin = ots::test::binary_dir() / "otsensor";
  if (!fs::exists(bin)) {
    std::fprintf(stderr, "SKIPPED: %s not built (ninja otsensor)\n", bin.c_str());
    std::exit(77);
  }
  auto allow = load_allowlist();
  const auto captures = ots::test::captures_under(shared / "pcaps" / "enip");
  REQUIRE_FALSE(captures.empty());

  std::vector<std::string> problems;
  long matched = 0, total_tshark = 0, total_ours = 0;
  for (const fs::path& pcap : captures) {
    const std::string rel = "enip/" + pcap.filename().string();
    const fs::path out = ots::test::scratch_dir("enip_shared/" + pcap.stem().string());
    const auto run = ots::test::run("'" + bin.string() + "' -r '" + pcap.string() + "' -l '" + out.string() + "'");
    if (run.exit_code != 0) {
      problems.push_back(rel + ": otsensor failed: " + run.output);
      continue;
    }
    std::ifstream oin(shared / "oracle" / (rel + ".json"));
    REQUIRE(oin.good());
    const auto oracle = nlohmann::json::parse(oin);

    // protocol, key -> (ours, tshark)
    std::map<std::pair<std::string, std::string>, std::pair<long, long>> both;
    for (const auto& r : rows_of(out / "enip.log")) {
      const auto it = r.find("enip_command_code");
      const int code = it == r.end() ? -1 : hex_code(it->second);
      ++both[{"enip", hex_key("enip_command", code, 4)}].first;
    }
    for (const auto& [k, v] : oracle["protocols"]["enip"]["command_hist"].items())
      both[{"enip", hex_key("enip_command", hex_code(k), 4)}].second += v.get<long>();
    for (auto r : rows_of(out / "cip.log")) {
      int code = hex_code(r["cip_service_code"]);
      // ics_parity.py: the reply bit from the direction column, or from the responder's side.
      std::string dir = r["direction"];
      std::transform(dir.begin(), dir.end(), dir.begin(), [](unsigned char ch) { return char(std::toupper(ch)); });
      if (code >= 0 && code < 0x80 && (dir.rfind("RESP", 0) == 0 || r["is_orig"] == "F")) code |= 0x80;
      ++both[{"cip", hex_key("cip_service", code, 2)}].first;
    }
    for (const auto& [k, v] : oracle["protocols"]["cip"]["service_hist"].items())
      both[{"cip", hex_key("cip_service", hex_code(k), 2)}].second += v.get<long>();

    for (const auto& entry : both) {
      // Plain names, not structured bindings: clang 14 (the sanitizer build) cannot capture those in a lambda.
      const auto& key = entry.first;
      const long o = entry.second.first, t = entry.second.second;
      matched += std::min(o, t);
      total_ours += o;
      total_tshark += t;
      if (o == t) continue;
      auto it = std::find_if(allow.begin(), allow.end(), [&](const Allowed& a) {
        return a.protocol == key.first && a.capture == rel && a.what == key.second && a.ours == o && a.tshark == t;
      });
      if (it != allow.end()) {
        it->used = true;
        continue;
      }
      problems.push_back(rel + ": " + key.first + " " + key.second + ": ours " + std::to_string(o) + ", tshark " +
                         std::to_string(t));
    }
  }
  for (const Allowed& a : allow) {
    if (!a.used)
      problems.push_back("stale allowlist entry (" + a.where + "): " + a.capture + " " + a.what +
                         " no longer differs that way");
  }
  INFO("matched " << matched << ", tshark " << total_tshark << ", ours " << total_ours);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}
