// Stream rules (scope: stream) in the sensor, on Modbus/TCP connections built with the packet builder: a
// pattern split over two PDUs fires as a stream rule and not as a PDU rule, the bounds give weirds and
// counts, a hole in the middle of a pattern hides it. The matcher alone: tests/test_rules_engine.cpp.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::test;

namespace {

// 101 and 102: one pattern, as a stream rule and as a PDU rule; 103: two patterns anywhere in the stream.
const char* kStreamRules = R"(
- id: 101
  name: "TRITON spelled over writes"
  severity: high
  protocol: modbus
  direction: to_server
  scope: stream
  content: [{ regex: "TRI.{0,16}TON" }]
- id: 102
  name: "TRITON within one write"
  severity: high
  protocol: modbus
  direction: to_server
  content: [{ regex: "TRI.{0,16}TON" }]
- id: 103
  name: "ALPHA then OMEGA"
  severity: low
  protocol: modbus
  scope: stream
  content: [ALPHA, OMEGA]
)";

using Frames = std::vector<std::pair<double, Bytes>>;

// A Modbus/TCP connection from port `sport` whose frames go to `frames`.
TcpConversation modbus_conn(Frames& frames, uint16_t sport = 40000, double t = 1) {
  TcpConversation c;
  c.sport = sport;
  c.t = t;
  c.out = [&frames](double ts, Bytes f) { frames.emplace_back(ts, std::move(f)); };
  return c;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs the sensor on `frames` with `rules` (and `sensor_section` in a site model, if any): the Rule::Match
// rule ids of notice.log in order, the weird names, the stats JSON.
struct Outcome {
  std::vector<std::string> hits, weirds, subs;
  nlohmann::json stats;
};
Outcome sense(const std::string& name, const Frames& frames, const std::string& rules,
              const std::string& sensor_section = "") {
  const fs::path dir = scratch_dir(name);
  write_pcap(dir / "in.pcap", frames);
  std::ofstream(dir / "r.yaml") << rules;
  std::ofstream(dir / "site.yaml") << "defaults: {notice_suppress_s: 0}\nrules: [r.yaml]\n" << sensor_section;
  const auto r = run(otsensor() + " -q -r " + q(dir / "in.pcap") + " -c " + q(dir / "site.yaml") + " -l " +
                     q(dir / "logs") + " --stats-json " + q(dir / "stats.json"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  Outcome o;
  if (fs::exists(dir / "logs" / "notice.log")) {
    for (const auto& row : log_rows(dir / "logs" / "notice.log")) {
      if (row.at("note") != "Rule::Match") continue;
      o.hits.push_back(row.at("rule_id"));
      o.subs.push_back(row.at("sub"));
    }
  }
  if (fs::exists(dir / "logs" / "weird.log")) {
    for (const auto& row : log_rows(dir / "logs" / "weird.log")) o.weirds.push_back(row.at("name"));
  }
  o.stats = nlohmann::json::parse(read_file(dir / "stats.json"));
  return o;
}

}  // namespace

TEST_CASE("stream rules in the sensor: a pattern split over two Modbus PDUs fires as a stream rule only",
          "[rules][stream]") {
  Frames frames;
  TcpConversation c = modbus_conn(frames);
  c.open();
  c.send(modbus_write_registers(1, "plcTRI"));
  c.send(modbus_write_registers(2, "TONxxx"));
  // One PDU cut over two segments: the stream has it whole, as the dissector does.
  Bytes adu = modbus_write_registers(3, "ALPHAOMEGA");
  c.send(Bytes(adu.begin(), adu.begin() + 12));
  c.send(Bytes(adu.begin() + 12, adu.end()));
  c.close();
  const auto o = sense("rules_stream_split", frames, kStreamRules);
  CHECK(o.hits == std::vector<std::string>{"101", "103"});
  REQUIRE(o.subs.size() == 2);
  CHECK(o.subs[0] == "modbus stream to_server, all patterns within its first 38 bytes");  // two 19-byte ADUs
  CHECK(o.weirds.empty());
  CHECK(o.stats["rule_streams"]["opened"] == 1);
  CHECK(o.stats["rule_streams"]["depth_reached"] == 0);
}

TEST_CASE("stream rules in the sensor: the depth and the cap on open streams are weirds and counted", "[rules][stream]") {
  Frames frames;
  // A: writes of 200 register bytes (213-byte ADUs): ALPHA in the first, OMEGA in the fourth (852 bytes,
  // within the 1 KiB depth); the fifth crosses it, so the sixth's TRI TON is beyond it.
  TcpConversation a = modbus_conn(frames, 40001);
  a.open();
  a.send(modbus_write_registers(1, "ALPHA" + std::string(195, '.')));
  for (uint16_t i = 2; i <= 3; ++i) a.send(modbus_write_registers(i, std::string(200, '.')));
  a.send(modbus_write_registers(4, std::string(195, '.') + "OMEGA"));
  // B while A's stream is open: one stream per worker only, so B's is not scanned.
  TcpConversation b = modbus_conn(frames, 40002, 2);
  b.open();
  b.send(modbus_write_registers(1, "TRI TON."));
  b.send(modbus_write_registers(2, "ALPHAOMEGA"));
  b.close();
  a.t = 3;
  a.send(modbus_write_registers(5, std::string(200, '.')));  // byte 1065: past 1 KiB
  a.send(modbus_write_registers(6, "TRI TON" + std::string(193, '.')));
  a.close();
  const auto o = sense("rules_stream_bounds", frames, kStreamRules,
                       "sensor: {rule_stream_depth_kb: 1, rule_streams_max: 1}\n");
  // A's ALPHA/OMEGA as a stream rule; B's TRI TON as a PDU rule only (no stream); A's TRI TON (past the
  // depth) as a PDU rule only.
  CHECK(o.hits == std::vector<std::string>{"103", "102", "102"});
  std::vector<std::string> weirds = o.weirds;
  std::sort(weirds.begin(), weirds.end());
  CHECK(weirds == std::vector<std::string>{"rule_stream_depth_reached", "rule_stream_limit_reached"});
  CHECK(o.stats["rule_streams"]["depth_reached"] == 1);
  CHECK(o.stats["rule_streams"]["limit_reached"] == 1);
  CHECK(o.stats["rule_streams"]["peak"] == 1);
}

TEST_CASE("stream rules in the sensor: a TCP gap in the middle of a pattern gives no match", "[rules][stream]") {
  const auto capture = [](bool hole) {
    Frames frames;
    TcpConversation c = modbus_conn(frames);
    c.open();
    const Bytes adu = modbus_write_registers(1, "xxxxTRI---TONxxx");
    const size_t cut1 = adu.size() - 9, cut2 = adu.size() - 6;  // "---" is the middle segment
    c.send(Bytes(adu.begin(), adu.begin() + static_cast<std::ptrdiff_t>(cut1)));
    c.send(Bytes(adu.begin() + static_cast<std::ptrdiff_t>(cut1), adu.begin() + static_cast<std::ptrdiff_t>(cut2)), !hole);
    c.send(Bytes(adu.begin() + static_cast<std::ptrdiff_t>(cut2), adu.end()));
    c.send(modbus_write_registers(2, "TRI TON."));  // after the hole the stream goes on
    c.close();
    return frames;
  };
  auto whole = sense("rules_stream_nogap", capture(false), kStreamRules);
  std::sort(whole.hits.begin(), whole.hits.end());
  CHECK(whole.hits == std::vector<std::string>{"101", "102", "102"});  // the stream rule once, the PDU rule per PDU
  auto holed = sense("rules_stream_gap", capture(true), kStreamRules);
  // The cut PDU is lost to both; the stream rule fires on the next one, after the hole.
  std::sort(holed.hits.begin(), holed.hits.end());
  CHECK(holed.hits == std::vector<std::string>{"101", "102"});
  CHECK(holed.stats["rule_streams"]["gaps"] == 1);
  CHECK(holed.stats["rule_streams"]["opened"] == 1);
}
