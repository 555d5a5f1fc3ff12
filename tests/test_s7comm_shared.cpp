// S7comm on the shared real captures: otsensor's s7comm.log against the tshark oracle, ROSCTR by ROSCTR and
// (ROSCTR, function) by (ROSCTR, function) as tools/parity/ics_parity.py counts them, userdata (type,
// function group, sub-function) and SZL ids (s7comm_read_szl.log), allowing exactly the differences the
// allowlist explains; and s7comm_plus.log rows against the oracle's count of COTP payloads starting with
// 0x72 (tshark 4.0 has no S7comm-plus dissector, only that heuristic).
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

// Keys as the oracle writes them: "r:7" for a ROSCTR, "f:1:0x04" for a Job / Ack_Data function,
// "u:4:4:1" for a userdata type / group / sub-function, "z:0x0011" for an SZL id.
using Hist = std::map<std::string, long>;

using Allowed = ots::test::AllowedDiff;

std::vector<Allowed> load_allowlist() {
  return ots::test::load_tshark_allowlist({"s7comm"}, "tshark_allowlist_s7comm.yaml");
}

std::vector<std::string> split_tab(const std::string& l) {
  std::vector<std::string> out;
  std::stringstream ss(l);
  std::string c;
  while (std::getline(ss, c, '\t')) out.push_back(c);
  return out;
}

// Rows of a Zeek TSV log as field-name -> value maps.
std::vector<std::map<std::string, std::string>> read_log(const fs::path& log) {
  std::vector<std::map<std::string, std::string>> rows;
  std::ifstream in(log);
  std::string line;
  std::vector<std::string> fields;
  while (std::getline(in, line)) {
    if (line.rfind("#fields", 0) == 0) {
      auto cols = split_tab(line);
      fields.assign(cols.begin() + 1, cols.end());
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const auto cols = split_tab(line);
    std::map<std::string, std::string> r;
    for (size_t i = 0; i < fields.size() && i < cols.size(); ++i) r[fields[i]] = cols[i];
    rows.push_back(std::move(r));
  }
  return rows;
}

// s7comm.log's rosctr_code and, for Job and Ack_Data, function_code (ics_parity.py's keys); for userdata
// the type / group byte and the sub-function; s7comm_read_szl.log's SZL ids.
Hist histogram_of(const fs::path& dir) {
  Hist h;
  for (const auto& r : read_log(dir / "s7comm.log")) {
    const std::string rosctr = r.at("rosctr_code");
    ++h["r:" + rosctr];
    const std::string fc = r.count("function_code") ? r.at("function_code") : "-";
    if (fc == "-") continue;
    const unsigned long f = std::strtoul(fc.c_str(), nullptr, 16);
    char key[48];
    if (rosctr == "1" || rosctr == "3") {
      std::snprintf(key, sizeof key, "f:%s:0x%02lx", rosctr.c_str(), f);
      ++h[key];
    } else if (rosctr == "7") {
      const std::string sf = r.count("subfunction_code") ? r.at("subfunction_code") : "-";
      const std::string sub = sf == "-" ? "None" : std::to_string(std::strtoul(sf.c_str(), nullptr, 16));
      std::snprintf(key, sizeof key, "u:%lu:%lu:%s", f >> 4, f & 0x0F, sub.c_str());
      ++h[key];
    }
  }
  for (const auto& r : read_log(dir / "s7comm_read_szl.log")) ++h["z:" + r.at("szl_id")];
  return h;
}

std::string describe(const std::string& key) {
  if (key.rfind("r:", 0) == 0) return "rosctr " + key.substr(2);
  if (key.rfind("f:", 0) == 0) return "func " + key.substr(2);
  if (key.rfind("u:", 0) == 0) return "userdata " + key.substr(2);
  if (key.rfind("z:", 0) == 0) return "szl_id " + key.substr(2);
  return key;
}

}  // namespace

TEST_CASE("s7comm.log ROSCTRs and functions agree with tshark on the shared captures", "[s7comm][shared]") {
  const fs::path shared = ots::test::require_shared();
  const fs::path bin = ots::test::binary_dir() / "otsensor";
  if (!fs::exists(bin)) {
    std::fprintf(stderr, "SKIPPED: %s not built (ninja otsensor)\n", bin.c_str());
    std::exit(77);
  }
  auto allow = load_allowlist();

  std::vector<fs::path> captures;
  for (const auto& e : fs::directory_iterator(shared / "pcaps" / "s7comm")) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") captures.push_back(e.path());
  }
  std::sort(captures.begin(), captures.end());
  REQUIRE_FALSE(captures.empty());

  std::vector<std::string> problems;
  long matched = 0, total_tshark = 0, total_ours = 0, plus_ours = 0, plus_tshark = 0;
  const auto check = [&](const std::string& rel, const std::string& what, long o, long t) {
    if (o == t) return;
    auto it = std::find_if(allow.begin(), allow.end(), [&](const Allowed& a) {
      return a.capture == rel && a.what == what && a.ours == o && a.tshark == t;
    });
    if (it != allow.end()) {
      it->used = true;
      return;
    }
    problems.push_back(rel + ": " + what + ": ours " + std::to_string(o) + ", tshark " + std::to_string(t));
  };
  for (const fs::path& pcap : captures) {
    const std::string rel = "s7comm/" + pcap.filename().string();
    const fs::path out = ots::test::scratch_dir("s7comm_shared/" + pcap.stem().string());
    const std::string cmd = "'" + bin.string() + "' -r '" + pcap.string() + "' -l '" + out.string() + "' >'" +
                            (out / "run.txt").string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      problems.push_back(rel + ": otsensor failed");
      continue;
    }
    const Hist ours = histogram_of(out);

    std::ifstream oin(shared / "oracle" / (rel + ".json"));
    REQUIRE(oin.good());
    const auto oracle = nlohmann::json::parse(oin);
    const auto& s = oracle["protocols"]["s7comm"];
    Hist theirs;
    for (const auto& [k, v] : s["rosctr_hist"].items()) theirs["r:" + k] = v.get<long>();
    for (const auto& [k, v] : s["func_hist"].items()) theirs["f:" + k] = v.get<long>();
    for (const auto& [k, v] : s["userdata_hist"].items()) theirs["u:" + k] = v.get<long>();
    for (const auto& [k, v] : s["szl_id_hist"].items()) theirs["z:" + k] = v.get<long>();

    std::map<std::string, std::pair<long, long>> both;
    for (const auto& [k, v] : ours) both[k].first = v;
    for (const auto& [k, v] : theirs) both[k].second = v;
    for (const auto& [k, counts] : both) {
      const auto [o, t] = counts;
      if (k[0] == 'r' || k[0] == 'f') {  // the figures parity.sh reports
        matched += std::min(o, t);
        total_ours += o;
        total_tshark += t;
      }
      check(rel, describe(k), o, t);
    }

    // S7comm-plus: one s7comm_plus.log row per COTP TSDU starting with 0x72, as the oracle's heuristic
    // counts them.
    const long po = static_cast<long>(read_log(out / "s7comm_plus.log").size());
    const long pt = oracle["protocols"]["s7commplus_heuristic"]["cotp_payloads_0x72"].get<long>();
    plus_ours += po;
    plus_tshark += pt;
    check(rel, "s7comm_plus rows", po, pt);
  }
  for (const Allowed& a : allow) {
    if (!a.used) {
      problems.push_back("stale allowlist entry (" + a.where + "): " + a.capture + " " + a.what +
                         " no longer differs that way");
    }
  }
  INFO("matched " << matched << ", tshark " << total_tshark << ", ours " << total_ours << "; s7comm_plus rows "
                  << plus_ours << ", tshark's 0x72 payloads " << plus_tshark);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}
