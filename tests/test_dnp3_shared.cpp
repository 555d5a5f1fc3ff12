// DNP3 on the shared real captures: the application function codes of otsensor's dnp3.log (fc_request and
// fc_reply) against the tshark oracle's al_func_hist, code by code, allowing exactly the differences
// tests/tshark_allowlist_dnp3.yaml explains.
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

#include "dissectors/dnp3/dnp3_names.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;

namespace {

using Histogram = std::map<int, long>;

struct AllowEntry {
  std::string capture, what, why, where;
  long ours = 0;
  long tshark = 0;
  bool used = false;
};

// Entries with protocol: dnp3 from tests/tshark_allowlist.yaml (shared by every protocol's check) and
// tests/tshark_allowlist_dnp3.yaml: protocol, capture, what ("al_func N"), ours, tshark, why.
std::vector<AllowEntry> dnp3_allowlist() {
  std::vector<AllowEntry> out;
  for (const char* file : {"tshark_allowlist.yaml", "tshark_allowlist_dnp3.yaml"}) {
    const fs::path path = ots::test::source_dir() / "tests" / file;
    if (!fs::exists(path)) continue;
    YAML::Node entries = YAML::LoadFile(path.string());
    if (entries.IsMap() && entries["entries"]) entries = entries["entries"];
    if (!entries.IsSequence()) continue;
    for (size_t i = 0; i < entries.size(); ++i) {
      const YAML::Node e = entries[i];
      if (!e.IsMap() || !e["protocol"] || e["protocol"].as<std::string>() != "dnp3") continue;
      AllowEntry a;
      a.where = std::string(file) + " entry " + std::to_string(i + 1);
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

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> cols;
  std::stringstream ss(line);
  for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
  return cols;
}

// fc_request and fc_reply of every dnp3.log row, Zeek's names back to codes (-1 for a name we do not
// know, which then shows up as a difference).
Histogram function_histogram(const fs::path& log) {
  Histogram h;
  std::ifstream in(log);
  std::vector<std::string> fields;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#fields\t", 0) == 0) {
      fields = split_tabs(line);
      fields.erase(fields.begin());
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const auto cols = split_tabs(line);
    for (const char* name : {"fc_request", "fc_reply"}) {
      const auto it = std::find(fields.begin(), fields.end(), name);
      const size_t i = static_cast<size_t>(it - fields.begin());
      if (it == fields.end() || i >= cols.size() || cols[i] == "-") continue;
      const auto fc = ots::dnp3_function_from_name(cols[i]);
      ++h[fc ? int{*fc} : -1];
    }
  }
  return h;
}

}  // namespace

TEST_CASE("dnp3.log function codes agree with tshark on the shared captures", "[dnp3][shared]") {
  const fs::path shared = ots::test::require_shared();
  const fs::path bin = ots::test::binary_dir() / "otsensor";
  if (!fs::exists(bin)) {
    std::fprintf(stderr, "SKIPPED: %s not built (ninja otsensor)\n", bin.c_str());
    std::exit(77);
  }
  auto allow = dnp3_allowlist();

  std::vector<fs::path> captures;
  for (const auto& e : fs::directory_iterator(shared / "pcaps" / "dnp3")) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") captures.push_back(e.path());
  }
  std::sort(captures.begin(), captures.end());
  REQUIRE_FALSE(captures.empty());

  std::vector<std::string> problems;
  long matched = 0, tshark_total = 0, ours_total = 0;
  for (const fs::path& pcap : captures) {
    const std::string rel = "dnp3/" + pcap.filename().string();
    const fs::path out = ots::test::scratch_dir("dnp3_shared/" + pcap.stem().string());
    const std::string cmd = "'" + bin.string() + "' -r '" + pcap.string() + "' -l '" + (out / "logs").string() +
                            "' >'" + (out / "run.txt").string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      problems.push_back(rel + ": otsensor failed (" + (out / "run.txt").string() + ")");
      continue;
    }
    const Histogram ours = function_histogram(out / "logs" / "dnp3.log");

    std::ifstream oracle_in(shared / "oracle" / (rel + ".json"));
    REQUIRE(oracle_in.good());
    const auto oracle = nlohmann::json::parse(oracle_in);
    Histogram theirs;
    for (const auto& [k, v] : oracle["protocols"]["dnp3"]["al_func_hist"].items()) theirs[std::stoi(k)] = v.get<long>();

    std::map<int, std::pair<long, long>> counts;  // code -> (ours, tshark)
    for (const auto& [k, v] : ours) counts[k].first = v;
    for (const auto& [k, v] : theirs) counts[k].second = v;
    for (const auto& entry : counts) {
      // Plain names, not structured bindings: clang 14 (the sanitizer build) cannot capture those in a lambda.
      const int code = entry.first;
      const std::pair<long, long>& c = entry.second;
      matched += std::min(c.first, c.second);
      ours_total += c.first;
      tshark_total += c.second;
      if (c.first == c.second) continue;
      const std::string what = "al_func " + std::to_string(code);
      auto it = std::find_if(allow.begin(), allow.end(), [&](const AllowEntry& a) {
        return a.capture == rel && a.what == what && a.ours == c.first && a.tshark == c.second;
      });
      if (it != allow.end()) {
        it->used = true;
        continue;
      }
      problems.push_back(rel + ": " + what + ": ours " + std::to_string(c.first) + ", tshark " +
                         std::to_string(c.second));
    }
  }
  for (const AllowEntry& a : allow) {
    if (!a.used) problems.push_back("stale allowlist entry (" + a.where + "): " + a.capture + " " + a.what);
  }
  INFO("matched " << matched << ", tshark " << tshark_total << ", ours " << ours_total);
  for (const std::string& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}
