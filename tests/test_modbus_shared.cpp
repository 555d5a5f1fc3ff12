// Modbus on the shared real captures: otsensor's modbus.log against the tshark oracle, function code by
// function code (raw byte, 0x80 for exceptions), allowing exactly the differences the allowlist explains.
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

#include "dissectors/modbus/modbus.hpp"
#include "tests/test_support.hpp"
#include "tests/tshark_allowlist.hpp"

namespace fs = std::filesystem;

namespace {

using Hist = std::map<int, long>;

using Allowed = ots::test::AllowedDiff;

std::vector<Allowed> load_allowlist() {
  return ots::test::load_tshark_allowlist({"modbus"}, "tshark_allowlist_modbus.yaml");
}

// Zeek's func column back to the raw function byte: "<NAME>_EXCEPTION" and a set exception column carry
// the 0x80 bit.
int func_code(const std::string& func, const std::string& exception) {
  static const std::string kSuffix = "_EXCEPTION";
  std::string name = func;
  int bit = 0;
  if (name.size() > kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
    name.resize(name.size() - kSuffix.size());
    bit = 0x80;
  }
  const auto fc = ots::modbus_function_from_name(name);
  if (!fc) return -1;
  if (exception != "-" && exception != "(empty)") bit = 0x80;
  return *fc | bit;
}

Hist histogram_of(const fs::path& log) {
  Hist h;
  std::ifstream in(log);
  std::string line;
  std::vector<std::string> fields;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (line.rfind("#fields", 0) == 0) {
      fields.assign(cols.begin() + 1, cols.end());
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const auto at = [&](const char* name) -> std::string {
      const auto it = std::find(fields.begin(), fields.end(), name);
      const size_t i = static_cast<size_t>(it - fields.begin());
      return it == fields.end() || i >= cols.size() ? std::string("-") : cols[i];
    };
    ++h[func_code(at("func"), at("exception"))];
  }
  return h;
}

}  // namespace

TEST_CASE("modbus.log function codes agree with tshark on the shared captures", "[modbus][shared]") {
  const fs::path shared = ots::test::require_shared();
  const fs::path bin = ots::test::binary_dir() / "otsensor";
  if (!fs::exists(bin)) {
    std::fprintf(stderr, "SKIPPED: %s not built (ninja otsensor)\n", bin.c_str());
    std::exit(77);
  }
  auto allow = load_allowlist();

  std::vector<fs::path> captures;
  for (const auto& e : fs::directory_iterator(shared / "pcaps" / "modbus")) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") captures.push_back(e.path());
  }
  std::sort(captures.begin(), captures.end());
  REQUIRE_FALSE(captures.empty());

  std::vector<std::string> problems;
  long matched = 0, total_tshark = 0, total_ours = 0;
  for (const fs::path& pcap : captures) {
    const std::string rel = "modbus/" + pcap.filename().string();
    const fs::path out = ots::test::scratch_dir("modbus_shared/" + pcap.stem().string());
    const std::string cmd = "'" + bin.string() + "' -r '" + pcap.string() + "' -l '" + out.string() + "' >'" +
                            (out / "run.txt").string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      problems.push_back(rel + ": otsensor failed");
      continue;
    }
    const Hist ours = histogram_of(out / "modbus.log");

    std::ifstream oin(shared / "oracle" / (rel + ".json"));
    REQUIRE(oin.good());
    const auto oracle = nlohmann::json::parse(oin);
    Hist theirs;
    for (const auto& [k, v] : oracle["protocols"]["modbus"]["func_code_hist"].items()) theirs[std::stoi(k)] = v.get<long>();

    std::map<int, std::pair<long, long>> both;
    for (const auto& [k, v] : ours) both[k].first = v;
    for (const auto& [k, v] : theirs) both[k].second = v;
    for (const auto& [k, counts] : both) {
      // Plain names, not structured bindings: clang 14 (the sanitizer build) cannot capture those in a lambda.
      const long o = counts.first, t = counts.second;
      matched += std::min(o, t);
      total_ours += o;
      total_tshark += t;
      if (o == t) continue;
      const std::string what = "func_code " + std::to_string(k);
      auto it = std::find_if(allow.begin(), allow.end(), [&](const Allowed& a) {
        return a.capture == rel && a.what == what && a.ours == o && a.tshark == t;
      });
      if (it != allow.end()) {
        it->used = true;
        continue;
      }
      problems.push_back(rel + ": " + what + ": ours " + std::to_string(o) + ", tshark " + std::to_string(t));
    }
  }
  for (const Allowed& a : allow) {
    if (!a.used) {
      problems.push_back("stale allowlist entry (" + a.where + "): " + a.capture + " " + a.what +
                         " no longer differs that way");
    }
  }
  INFO("matched " << matched << ", tshark " << total_tshark << ", ours " << total_ours);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}
