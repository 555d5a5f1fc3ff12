// The demo capture (pcaps/demo.pcap, `gen_pcap.py demo`) with the example site model
// (config/site.example.yaml): the exact notices, and the zone columns of conn.log; and the same replay
// through a FIFO whose writer pauses.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <set>

#include "tests/live_support.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs the sensor on the demo capture with the example model; returns the log directory.
fs::path run_demo(const std::string& name, int workers = 1) {
  const auto out = scratch_dir(name);
  const auto r = run(otsensor() + " -q -w " + std::to_string(workers) + " -r " +
                     q(source_dir() / "pcaps" / "demo.pcap") + " -c " + q(source_dir() / "config" / "site.example.yaml") +
                     " -l " + q(out));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return out;
}

// "1710144000.123456" (a Zeek time) in microseconds.
uint64_t zeek_time_us(const std::string& t) {
  const size_t dot = t.find('.');
  return std::stoull(t.substr(0, dot)) * 1'000'000 + std::stoull(t.substr(dot + 1, 6));
}

std::string cols(const std::map<std::string, std::string>& row, std::initializer_list<const char*> names) {
  std::string s;
  for (const char* n : names) s += (s.empty() ? "" : " ") + row.at(n);
  return s;
}

}  // namespace

TEST_CASE("demo with the example model: one notice of each kind, exactly", "[zones][demo]") {
  const auto out = run_demo("zones_demo");
  // The zone model's notices; the example model's attestation section adds Attest:: ones (checked below).
  std::vector<std::map<std::string, std::string>> rows;
  for (auto& row : log_rows(out / "notice.log")) {
    if (row.at("note").rfind("OT::", 0) == 0) rows.push_back(std::move(row));
  }
  std::vector<std::string> got;
  for (const auto& row : rows) {
    got.push_back(cols(row, {"note", "id.orig_h", "id.resp_h", "id.resp_p", "zone_orig", "zone_resp", "conduit",
                             "protocol", "operation", "n"}));
  }
  // In notice.log's order (time).
  const std::vector<std::string> expected = {
      // A Modbus write from MES into the read-only conduit.
      "OT::Operation_Not_Allowed 10.20.1.10 192.168.100.20 502 mes supervisory mes-to-supervisory modbus "
      "write_single_register -",
      // RDP from an office PC to the HMI: no conduit joins enterprise and supervisory.
      "OT::No_Conduit 10.1.20.15 192.168.100.10 3389 enterprise supervisory - - - -",
      // SMB from the vendor's jump host: its conduit allows RDP only.
      "OT::Protocol_Not_Allowed 10.60.0.25 192.168.100.70 445 remote_access engineering remote-access-to-engineering "
      "- - -",
      // One safety controller to another: the safety zone denies traffic inside it.
      "OT::Intra_Zone_Denied 192.168.120.10 192.168.120.11 44818 safety safety - - - -",
      // A DNP3 cold restart and an S7 PLC stop from supervisory: not in the conduit's operations.
      "OT::Operation_Not_Allowed 192.168.100.30 192.168.110.50 20000 supervisory control supervisory-to-control dnp3 "
      "cold_restart -",
      "OT::Operation_Not_Allowed 192.168.100.10 192.168.110.30 102 supervisory control supervisory-to-control s7comm "
      "plc_stop -",
      // The patch server in the DMZ connects to MES: only MES initiates on that conduit.
      "OT::Wrong_Initiator 10.50.0.20 10.20.1.10 443 dmz mes mes-to-dmz - - -",
      // A laptop in no zone reads PLC1.
      "OT::Unknown_Host 172.16.9.50 192.168.110.21 502 - control - - - -",
  };
  CHECK(got == expected);
  REQUIRE(rows.size() == expected.size());
  CHECK(rows[7].at("src") == "172.16.9.50");
  CHECK(rows[7].at("dst") == "-");
  CHECK(rows[0].at("msg") ==
        "modbus write_single_register from 10.20.1.10 (zone mes) to 192.168.100.20 (zone supervisory) is not allowed "
        "by conduit mes-to-supervisory");
  CHECK(rows[0].at("severity") == "high");
  CHECK(rows[5].at("severity") == "critical");  // a PLC stop is a control operation
}

// The example model lists the shipped rules (rules: [../rules/ics-default.yaml]). Of the scenario's
// operations (tools/gen_pcap.py demo) two are attacks the shipped set knows: the DNP3 cold restart and the
// S7 PLC stop from supervisory hosts. The rest is polling, setpoint writes the conduits allow, one
// ListIdentity (below the discovery sweep's threshold) and the MES write (a policy matter, not a
// signature): no rule fires on them.
TEST_CASE("demo with the example model: exactly the two control attacks fire the shipped rules", "[zones][demo][rules]") {
  const auto out = run_demo("zones_demo_rules");
  std::vector<std::string> got;
  for (const auto& row : log_rows(out / "notice.log")) {
    if (row.at("note") != "Rule::Match") continue;
    got.push_back(cols(row, {"rule_id", "id.orig_h", "id.resp_h", "id.resp_p", "zone_orig", "zone_resp", "conduit",
                             "protocol", "operation", "severity", "mitre", "n"}));
  }
  const std::vector<std::string> expected = {
      "1000040 192.168.100.30 192.168.110.50 20000 supervisory control supervisory-to-control dnp3 cold_restart high "
      "T0816 -",
      "1000001 192.168.100.10 192.168.110.30 102 supervisory control supervisory-to-control s7comm plc_stop high "
      "T0858,T0881 -",
  };
  CHECK(got == expected);
}

TEST_CASE("demo with the example model: conn.log places each flow in its zones and conduit", "[zones][demo]") {
  const auto out = run_demo("zones_demo_conn");
  std::map<std::string, std::string> by_flow;  // "orig resp port proto" -> "zone_orig zone_resp conduit"
  size_t placed = 0;
  const auto rows = log_rows(out / "conn.log");
  for (const auto& row : rows) {
    by_flow[cols(row, {"id.orig_h", "id.resp_h", "id.resp_p", "proto"})] = cols(row, {"zone_orig", "zone_resp", "conduit"});
    placed += row.at("zone_orig") != "-" && row.at("zone_resp") != "-";
  }
  CHECK(by_flow.at("192.168.100.10 192.168.110.21 502 tcp") == "supervisory control supervisory-to-control");
  CHECK(by_flow.at("fd00:100::10 fd00:110::24 502 tcp") == "supervisory control supervisory-to-control");
  CHECK(by_flow.at("192.168.100.70 192.168.110.30 102 tcp") == "engineering control engineering-to-control");
  CHECK(by_flow.at("192.168.110.40 192.168.130.23 502 tcp") == "control field control-to-field");  // on VLAN 130
  CHECK(by_flow.at("192.168.100.70 192.168.120.10 44818 tcp") == "engineering safety engineering-to-safety");
  CHECK(by_flow.at("10.50.0.30 203.0.113.40 8883 tcp") == "dmz cloud_analytics dmz-to-cloud");
  CHECK(by_flow.at("192.168.110.21 192.168.110.1 123 udp") == "control control -");
  CHECK(by_flow.at("10.1.20.15 192.168.100.10 3389 tcp") == "enterprise supervisory -");
  CHECK(by_flow.at("172.16.9.50 192.168.110.21 502 tcp") == "- control -");
  // Every flow but the rogue laptop's has both ends in a zone.
  CHECK(rows.size() == 25);
  CHECK(placed == rows.size() - 1);
}

TEST_CASE("demo with the example model: the same logs with 1, 2 and 3 workers", "[zones][demo][replay]") {
  const auto w1 = run_demo("zones_demo_w1", 1), w2 = run_demo("zones_demo_w2", 2), w3 = run_demo("zones_demo_w3", 3);
  for (const char* log : {"notice.log", "conn.log", "modbus.log", "dnp3.log", "s7comm.log", "cip.log"}) {
    INFO(log);
    const auto a = log_without_times(w1 / log);
    REQUIRE(!a.empty());
    CHECK(a == log_without_times(w2 / log));
    CHECK(a == log_without_times(w3 / log));
  }
}

// The demo as tools/demo.sh runs it: the plant's traffic and its attesting fleet (pcaps/attest_fleet.pcap,
// tools/aqat_fleet.py --seed 1: five healthy PLCs and the HMI 192.168.100.25 send AQAT, the PLC
// 192.168.110.106 does not). Every fleet record verifies; exactly the OT devices in zones that require
// attestation and send no AQAT are unattested: the fleet's PLC and the demo plant's devices.
TEST_CASE("demo with the example model and the fleet: attested devices pass, unattested ones are flagged",
          "[zones][demo][attest]") {
  const auto out = scratch_dir("zones_demo_fleet");
  const auto r = run(otsensor() + " -q -r " + q(source_dir() / "pcaps" / "demo.pcap") + " -r " +
                     q(source_dir() / "pcaps" / "attest_fleet.pcap") + " -c " +
                     q(source_dir() / "config" / "site.example.yaml") + " -l " + q(out));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, int> verdicts;
  for (const auto& row : log_rows(out / "attest.log")) ++verdicts[row.at("verdict")];
  CHECK(verdicts["ok"] > 200);
  CHECK(verdicts.size() == 2);  // ok and unattested_device only
  std::set<std::string> unattested;
  for (const auto& row : log_rows(out / "notice.log")) {
    if (row.at("note").rfind("Attest::", 0) != 0) continue;
    CHECK(row.at("note") == "Attest::Unattested_Device");
    CHECK(unattested.insert(row.at("src")).second);  // once per address
  }
  const std::set<std::string> expected = {
      "192.168.110.106",                                                        // the fleet's unattested PLC
      "10.20.1.10",     "192.168.100.10", "192.168.100.20", "192.168.100.30",  // the demo plant: MES, HMIs,
      "192.168.100.70", "192.168.110.21", "192.168.110.22", "192.168.110.30",  // engineering, PLCs, RTU,
      "192.168.110.40", "192.168.110.50", "192.168.120.10", "192.168.120.11",  // safety controllers
      "fd00:100::10",   "fd00:110::24"};
  CHECK(unattested == expected);
  // The fleet's HMI and healthy PLCs talk Modbus/S7 in attested zones and are never flagged.
  for (const char* a : {"192.168.100.25", "192.168.110.101", "192.168.110.102", "192.168.110.103", "192.168.110.104",
                        "192.168.110.105"})
    CHECK(unattested.count(a) == 0);
}

TEST_CASE("the example model trusts the demo fleet's CA and golden firmware, as the simulator emits them",
          "[zones][demo][attest]") {
  const fs::path tool = source_dir() / "tools" / "aqat_fleet.py";
  const auto dir = scratch_dir("zones_demo_fleet_config");
  const auto gen = run("/usr/bin/python3 " + q(tool) + " " + q(dir / "fleet.pcap") +
                       " --seed 1 --devices 6 --duration 180 --start 1710144420 --fault unattested --emit-config " +
                       q(dir / "attestation.yaml"));
  if (gen.exit_code != 0) {
    std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py failed (PyNaCl missing?): %s\n", gen.output.c_str());
    std::exit(77);
  }
  CHECK(read_file(dir / "fleet.pcap") == read_file(source_dir() / "pcaps" / "attest_fleet.pcap"));
  std::string emitted = read_file(dir / "attestation.yaml");
  emitted = emitted.substr(emitted.find("attestation:"));
  const std::string model = read_file(source_dir() / "config" / "site.example.yaml");
  CHECK(model.find(emitted) != std::string::npos);
}

TEST_CASE("demo through a FIFO whose writer pauses: the threaded worker's notice reaches notice.log while it waits",
          "[zones][demo][fifo]") {
  // The first OT:: notice of the whole replay, raised by a packet of the first part written below.
  const auto whole = run_demo("zones_demo_fifo_whole");
  std::map<std::string, std::string> first;
  for (auto& row : log_rows(whole / "notice.log")) {
    if (row.at("note").rfind("OT::", 0) == 0) {
      first = std::move(row);
      break;
    }
  }
  REQUIRE(!first.empty());
  const uint64_t first_us = zeek_time_us(first.at("ts"));

  // demo.pcap: classic pcap, little-endian, microseconds (pcaps/README.md). The first part: every record up
  // to a second after that notice's packet time; the capture goes on for many seconds more.
  const std::string pcap = read_file(source_dir() / "pcaps" / "demo.pcap");
  const auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(pcap[at + size_t(i)]);
    return v;
  };
  size_t part = 24;
  while (part + 16 <= pcap.size() && uint64_t{u32(part)} * 1'000'000 + u32(part + 4) <= first_us + 1'000'000) {
    part += 16 + u32(part + 8);
  }
  REQUIRE(part < pcap.size());

  const auto dir = scratch_dir("zones_demo_fifo_pause");
  const fs::path fifo = dir / "demo.fifo", logs = dir / "logs";
  FifoWriter writer(fifo);
  REQUIRE(writer.made());
  // The default -w 1: a reading thread and a worker thread.
  Child sensor({otsensor(), "-q", "-r", fifo.string(), "-c", (source_dir() / "config" / "site.example.yaml").string(),
                "-l", logs.string()},
               dir / "sensor.out");
  REQUIRE(sensor.started());
  REQUIRE_WITHIN(std::chrono::seconds(20), dir, writer.try_open());
  const auto write_to = [&](size_t from, size_t to) {
    REQUIRE(writer.write(std::string_view(pcap).substr(from, to - from)));
  };
  write_to(0, part);
  // The writer pauses: the notice must not wait for more input. (10 s: generous, on a loaded machine.)
  const auto in_log = [&] {
    for (const auto& row : log_rows(logs / "notice.log")) {
      if (row.at("note") == first.at("note") && row.at("uid") == first.at("uid")) return true;
    }
    return false;
  };
  REQUIRE_WITHIN(std::chrono::seconds(10), dir, in_log());
  CHECK_FALSE(sensor.wait(std::chrono::milliseconds(0)));  // still waiting for the rest

  write_to(part, pcap.size());
  writer.close();
  const auto rc = sensor.wait(std::chrono::seconds(60));
  INFO(read_file(dir / "sensor.out"));
  REQUIRE(rc);
  CHECK(*rc == 0);
  // The pause changed when notice.log was written, not what it holds.
  CHECK(log_lines(logs / "notice.log") == log_lines(whole / "notice.log"));
}
