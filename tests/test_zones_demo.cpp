// The demo capture (pcaps/demo.pcap, `gen_pcap.py demo`) with the example site model
// (config/site.example.yaml): the exact notices, and the zone columns of conn.log.
#include <catch2/catch.hpp>

#include <map>

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

std::string cols(const std::map<std::string, std::string>& row, std::initializer_list<const char*> names) {
  std::string s;
  for (const char* n : names) s += (s.empty() ? "" : " ") + row.at(n);
  return s;
}

}  // namespace

TEST_CASE("demo with the example model: one notice of each kind, exactly", "[zones][demo]") {
  const auto out = run_demo("zones_demo");
  std::vector<std::string> got;
  for (const auto& row : log_rows(out / "notice.log")) {
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
  const auto rows = log_rows(out / "notice.log");
  REQUIRE(rows.size() == expected.size());
  CHECK(rows[7].at("src") == "172.16.9.50");
  CHECK(rows[7].at("dst") == "-");
  CHECK(rows[0].at("msg") ==
        "modbus write_single_register from 10.20.1.10 (zone mes) to 192.168.100.20 (zone supervisory) is not allowed "
        "by conduit mes-to-supervisory");
  CHECK(rows[0].at("severity") == "high");
  CHECK(rows[5].at("severity") == "critical");  // a PLC stop is a control operation
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
