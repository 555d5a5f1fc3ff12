// attest_tap in the pipeline: the fleet simulator (tools/aqat_fleet.py, an independent implementation in
// PyNaCl) writes a plant with one device per fault of issue 6 plus healthy ones, and the verdicts each
// device's datagrams must get. otsensor runs on it with the example site model and the simulator's
// attestation section; attest.log and notice.log must say exactly that, whatever the number of workers.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

namespace {

struct Fleet {
  fs::path dir, pcap, site;
  nlohmann::json expect;
};

// Generates the fleet once per test process (the simulator takes a few seconds).
const Fleet& fleet() {
  static const Fleet f = [] {
    Fleet r;
    const fs::path tool = source_dir() / "tools" / "aqat_fleet.py";
    if (!fs::exists(tool) || !fs::exists("/usr/bin/python3")) {
      std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py or /usr/bin/python3 not found\n");
      std::exit(77);
    }
    r.dir = scratch_dir("attest_pipeline");
    r.pcap = r.dir / "fleet.pcap";
    std::string faults;
    for (const char* k : {"forged", "deleted", "modified", "replay", "fork", "late", "malformed", "clone", "expired",
                          "untrusted_ca", "bad_certificate", "software_key", "bad_firmware", "tamper", "silence",
                          "clock_skew", "bad_sbom", "unknown_device", "unattested"})
      faults += fmt::format(" --fault {}", k);
    const auto gen = run(fmt::format("/usr/bin/python3 {} {} --seed 23 --devices 24 --duration 300{} "
                                     "--emit-config {} --emit-expect {}",
                                     tool.string(), r.pcap.string(), faults, (r.dir / "attestation.yaml").string(),
                                     (r.dir / "expect.json").string()));
    if (gen.exit_code != 0) {
      std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py failed (PyNaCl missing?): %s\n", gen.output.c_str());
      std::exit(77);
    }
    // The example plant with the simulator's trust anchor and golden firmware in place of its own section.
    r.site = r.dir / "site.yaml";
    std::string model = example_site_model();
    if (const size_t at = model.find("\nattestation:"); at != std::string::npos) {
      const size_t end = model.find("\n", model.find("unattested_grace_s", at));  // the section's last key
      model.erase(at + 1, end == std::string::npos ? std::string::npos : end - at);
    }
    std::ofstream(r.site) << model << "\n" << read_file(r.dir / "attestation.yaml");
    r.expect = nlohmann::json::parse(std::ifstream(r.dir / "expect.json"));
    return r;
  }();
  return f;
}

fs::path run_sensor(const Fleet& f, const std::string& name, unsigned workers) {
  const fs::path logs = f.dir / name;
  const auto r = run(fmt::format("{} -q -c {} -r {} -l {} -w {}", otsensor(), f.site.string(), f.pcap.string(),
                                 logs.string(), workers));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return logs;
}

}  // namespace

TEST_CASE("attest pipeline: attest.log gives every device of the fleet exactly its expected verdicts",
          "[attest][pipeline]") {
  const Fleet& f = fleet();
  const fs::path logs = run_sensor(f, "w1", 1);
  REQUIRE(fs::exists(logs / "attest.log"));
  std::map<std::string, std::map<std::string, int>> got;  // device_id (or address, when none) -> verdict counts
  std::map<std::string, int> stale;
  std::map<std::string, std::vector<std::map<std::string, std::string>>> unattested;  // by address
  for (const auto& row : log_rows(logs / "attest.log")) {
    const std::string& v = row.at("verdict");
    if (v == "stale") {
      ++stale[row.at("device_id")];
      continue;
    }
    if (v == "unattested_device") {
      unattested[row.at("id.orig_h")].push_back(row);
      continue;
    }
    ++got[row.at("device_id") != "-" ? row.at("device_id") : row.at("id.orig_h")][v];
  }
  size_t unattested_expected = 0;
  for (const auto& d : f.expect["devices"]) {
    const std::string address = d["address"].get<std::string>();
    const std::string fault = d["fault"].is_null() ? "none" : d["fault"].get<std::string>();
    INFO(d["name"].get<std::string>() << " (fault " << fault << ")");
    bool want_unattested = false, want_stale = false;
    for (const auto& e : d["elapsed"]) {
      want_unattested |= e["notice"] == "Attest::Unattested_Device";
      want_stale |= e["notice"] == "Attest::Stale";
    }
    // The headline alert: exactly the unattested devices, never an attested one, once each.
    if (want_unattested) {
      ++unattested_expected;
      REQUIRE(unattested[address].size() == 1);
      const auto& first = d["elapsed"].back()["first_ot_conn"];
      const auto& row = unattested[address][0];
      CHECK(row.at("uid") != "-");
      CHECK((row.at("id.resp_h") == first["resp_h"].get<std::string>() ||
             row.at("id.resp_h") == first["orig_h"].get<std::string>()));
    } else {
      CHECK(unattested[address].empty());
    }
    if (d["device_id"].is_null()) {
      CHECK(got[address].empty());
      continue;
    }
    std::map<std::string, int> counts = got[d["device_id"].get<std::string>()];
    for (const auto& [verdict, n] : got[address]) counts[verdict] += n;  // malformed: no device_id
    std::map<std::string, int> expected;
    for (const auto& [verdict, n] : d["verdicts"].items()) expected[verdict] = n.get<int>();
    CHECK(counts == expected);
    CHECK(stale[d["device_id"].get<std::string>()] == (want_stale ? 1 : 0));
  }
  size_t unattested_got = 0;
  for (const auto& [addr, rows] : unattested) unattested_got += rows.size();
  CHECK(unattested_got == unattested_expected);
}

TEST_CASE("attest pipeline: every finding is an Attest notice with the device and its zone", "[attest][pipeline]") {
  const Fleet& f = fleet();
  const fs::path logs = run_sensor(f, "w1n", 1);
  std::map<std::string, std::set<std::string>> notes;  // src -> notes
  for (const auto& row : log_rows(logs / "notice.log")) {
    const std::string& note = row.at("note");
    if (note.rfind("Attest::", 0) != 0) continue;
    notes[row.at("src")].insert(note);
    CHECK(row.at("zone_orig") != "-");
    if (note != "Attest::Unattested_Device" && note != "Attest::Malformed") CHECK(row.at("device_id") != "-");
  }
  for (const auto& d : f.expect["devices"]) {
    INFO(d["name"].get<std::string>());
    // Notices by source address: the device's own (a clone's come from the clone host, checked below).
    std::set<std::string> expected;
    for (const auto& n : d["notices"]) expected.insert(n.get<std::string>());
    const std::string fault = d["fault"].is_null() ? "none" : d["fault"].get<std::string>();
    if (fault == "clone") continue;
    CHECK(notes[d["address"].get<std::string>()] == expected);
  }
  const std::string clone_host = f.expect["clone_host"]["address"].get<std::string>();
  CHECK(notes[clone_host].count("Attest::Identity_Clone") == 1);
}

TEST_CASE("attest pipeline: attest.log and notice.log are the same with 1 and 3 workers", "[attest][pipeline]") {
  const Fleet& f = fleet();
  const fs::path one = run_sensor(f, "par1", 1), three = run_sensor(f, "par3", 3);
  CHECK(log_without_times(one / "attest.log") == log_without_times(three / "attest.log"));
  CHECK(log_without_times(one / "notice.log") == log_without_times(three / "notice.log"));
}

TEST_CASE("attest pipeline: without an attestation section nothing is verified and no attest.log is written",
          "[attest][pipeline]") {
  const fs::path dir = scratch_dir("attest_pipeline_off");
  // The shared captures' model has zones but no attestation section.
  const auto r = run(fmt::format("{} -q -c {} -r {} -l {}", otsensor(),
                                 (source_dir() / "config" / "shared-captures.yaml").string(),
                                 (source_dir() / "pcaps" / "attest_fleet.pcap").string(), dir.string()));
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(dir / "attest.log"));
  CHECK(read_file(dir / "notice.log").find("Attest::") == std::string::npos);
}

namespace {

// The fleet's model with `sensor: attest_queue_ticks: N` (0: the stage on the run loop's thread, as before
// it had a thread of its own); runs the sensor with --stats-json and returns the log directory.
fs::path run_with_queue(const Fleet& f, const std::string& name, unsigned workers, unsigned queue_ticks,
                        nlohmann::json* stats = nullptr) {
  const fs::path model = f.dir / (name + ".yaml");
  std::ofstream(model) << read_file(f.site) << "\nsensor:\n  attest_queue_ticks: " << queue_ticks << "\n";
  const fs::path logs = f.dir / name;
  const auto r = run(fmt::format("{} -q -c {} -r {} -l {} -w {} --stats-json {}", otsensor(), model.string(),
                                 f.pcap.string(), logs.string(), workers, (logs / "stats.json").string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  if (stats) *stats = nlohmann::json::parse(std::ifstream(logs / "stats.json"));
  return logs;
}

}  // namespace

// Issue 6: the crypto runs on the stage's own thread. Its logs must be those of the stage on the run loop's
// thread (attest_queue_ticks: 0), whose verdicts the first test of this file checks against the simulator's.
TEST_CASE("attest pipeline: the stage on its own thread writes the same attest.log and notice.log as on the "
          "loop's thread with 1 and 2 workers", "[attest][pipeline][thread]") {
  const Fleet& f = fleet();
  const fs::path inline_logs = run_with_queue(f, "q0", 1, 0);
  const std::string attest = log_without_times(inline_logs / "attest.log");
  const std::string notices = log_without_times(inline_logs / "notice.log");
  REQUIRE(attest.find("unattested_device") != std::string::npos);  // every fault's verdict is in there
  REQUIRE(attest.find("\tstale\t") != std::string::npos);
  for (const unsigned w : {1u, 2u}) {
    INFO("-w " << w);
    nlohmann::json stats;
    const fs::path logs = run_with_queue(f, fmt::format("q1024w{}", w), w, 1024, &stats);
    CHECK(log_without_times(logs / "attest.log") == attest);
    CHECK(log_without_times(logs / "notice.log") == notices);
    CHECK(stats["attest"]["queue_capacity"] == 1024);
    CHECK(stats["attest"]["cpu_seconds"].is_number());  // the stage had a thread
  }
}

// A queue of one tick: the run loop waits for the stage's thread at nearly every tick. Nothing may be lost.
TEST_CASE("attest pipeline: a full hand-off queue makes the run loop wait and loses no record",
          "[attest][pipeline][thread]") {
  const Fleet& f = fleet();
  const fs::path inline_logs = run_with_queue(f, "bp0", 2, 0);
  nlohmann::json stats;
  const fs::path logs = run_with_queue(f, "bp1", 2, 1, &stats);
  INFO(stats.dump());
  CHECK(stats["attest"]["queue_capacity"] == 1);
  CHECK(stats["attest"]["queue_full_waits"].get<uint64_t>() > 0);
  CHECK(stats["attest"]["queue_wait_seconds"].get<double>() > 0);
  CHECK(stats["attest"]["datagrams"].get<uint64_t>() > 1000);
  CHECK(log_without_times(logs / "attest.log") == log_without_times(inline_logs / "attest.log"));
  CHECK(log_without_times(logs / "notice.log") == log_without_times(inline_logs / "notice.log"));
}
