// The site model written for the real captures (config/shared-captures.yaml) on a few of them: the
// notices they produce, exactly. Skipped when ../shared is absent.
#include <catch2/catch.hpp>

#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// notice.log of one shared capture replayed with the model, a line per notice: note, orig, resp, port,
// operation, src, n. Empty when the run wrote no notice.
std::vector<std::string> notices_of(const std::string& capture, const std::string& scratch) {
  const auto shared = require_shared();
  const auto out = scratch_dir(scratch);
  const auto r = run(otsensor() + " -q -r " + q(shared / "pcaps" / capture) + " -c " +
                     q(source_dir() / "config" / "shared-captures.yaml") + " -l " + q(out));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines;
  if (!fs::exists(out / "notice.log")) return lines;
  for (const auto& row : log_rows(out / "notice.log")) {
    std::string s;
    for (const char* c : {"note", "id.orig_h", "id.resp_h", "id.resp_p", "operation", "src", "n"})
      s += (s.empty() ? "" : " ") + row.at(c);
    lines.push_back(s);
  }
  return lines;
}

}  // namespace

TEST_CASE("shared captures with their model: DNP3 restarts are operations the conduit does not allow", "[zones][shared]") {
  CHECK(notices_of("dnp3/cold_restart_and_response.pcap", "zs_cold") ==
        std::vector<std::string>{
            "OT::Operation_Not_Allowed 192.168.60.1 192.168.60.130 20000 cold_restart 192.168.60.1 -"});
  CHECK(notices_of("dnp3/warm_restart_and_response.pcap", "zs_warm") ==
        std::vector<std::string>{
            "OT::Operation_Not_Allowed 192.168.60.1 192.168.60.130 20000 warm_restart 192.168.60.1 -"});
  // Reads, selects and operates pass.
  CHECK(notices_of("dnp3/read_and_response.pcap", "zs_read").empty());
  CHECK(notices_of("dnp3/select_operate_and_responses.pcap", "zs_selop").empty());
}

TEST_CASE("shared captures with their model: an S7 PLC stop and a CIP stop from engineering", "[zones][shared]") {
  CHECK(notices_of("s7comm/snap7_s300_stop.pcapng", "zs_s7stop") ==
        std::vector<std::string>{
            "OT::Operation_Not_Allowed 134.249.62.206 134.249.61.163 102 plc_stop 134.249.62.206 -"});
  CHECK(notices_of("s7comm/snap7_s300_readVar.pcapng", "zs_s7read").empty());
  CHECK(notices_of("enip/cip_stop_plc.pcap", "zs_cipstop") ==
        std::vector<std::string>{"OT::Operation_Not_Allowed 192.168.1.69 192.168.1.30 44818 stop 192.168.1.69 -"});
}

TEST_CASE("shared captures with their model: internet scanners on port 502 are unknown hosts", "[zones][shared]") {
  CHECK(notices_of("modbus/modbus-and-non-modbus-p502.pcap", "zs_scan") ==
        std::vector<std::string>{
            "OT::Unknown_Host 87.236.176.106 192.168.10.111 502 - 87.236.176.106 -",
            "OT::Unknown_Host 87.236.176.96 192.168.10.111 502 - 87.236.176.96 -",
            "OT::Unknown_Host 66.175.213.4 192.168.10.111 502 - 66.175.213.4 -",
            "OT::Unknown_Host 198.74.56.135 192.168.10.111 502 - 198.74.56.135 -",
            "OT::Unknown_Host 159.203.208.13 192.168.10.113 502 - 159.203.208.13 -",
            "OT::Unknown_Host 62.122.184.123 192.168.10.111 502 - 62.122.184.123 -",
        });
}

TEST_CASE("shared captures with their model: a Modbus function sweep, and a slave calling its master", "[zones][shared]") {
  CHECK(notices_of("modbus/MODBUS-TestDataPart1.pcap", "zs_sweep") ==
        std::vector<std::string>{
            "OT::Operation_Not_Allowed 10.0.0.57 10.0.0.3 502 diagnostics 10.0.0.57 -",
            "OT::Operation_Not_Allowed 10.0.0.57 10.0.0.8 502 encapsulated_interface_transport 10.0.0.57 -",
            "OT::Operation_Not_Allowed 10.0.0.57 10.0.0.3 502 report_server_id 10.0.0.57 -",
            // TCP 502 whose payload is not Modbus: not the protocol the conduit allows.
            "OT::Protocol_Not_Allowed 10.0.0.57 10.0.0.8 502 - 10.0.0.57 -",
            "OT::Protocol_Not_Allowed 10.0.0.8 10.0.0.57 4446 - 10.0.0.8 -",
            // The windows' summaries at the end of the capture: how many identical notices followed.
            "OT::Operation_Not_Allowed 10.0.0.57 10.0.0.3 502 diagnostics 10.0.0.57 7",
            "OT::Operation_Not_Allowed 10.0.0.57 10.0.0.8 502 encapsulated_interface_transport 10.0.0.57 1",
            "OT::Operation_Not_Allowed 10.0.0.57 10.0.0.3 502 report_server_id 10.0.0.57 1",
        });
}

TEST_CASE("shared captures with their model: NetBIOS between the office and an engineering station crosses no conduit", "[zones][shared]") {
  const auto got = notices_of("enip/EIP-IPAddressChangeAttempt.pcap", "zs_netbios");
  const std::vector<std::string> no_conduit = {
      "OT::No_Conduit 192.168.10.105 192.168.10.22 137 - 192.168.10.105 -",
      "OT::No_Conduit 192.168.10.22 192.168.10.105 139 - 192.168.10.22 -",
      "OT::No_Conduit 192.168.10.125 192.168.10.200 8 - 192.168.10.125 -",
      "OT::No_Conduit 192.168.10.105 192.168.10.21 137 - 192.168.10.105 -",
      "OT::No_Conduit 192.168.10.21 192.168.10.105 139 - 192.168.10.21 -",
      "OT::No_Conduit 192.168.10.105 192.168.10.24 137 - 192.168.10.105 -",
      "OT::No_Conduit 192.168.10.24 192.168.10.105 139 - 192.168.10.24 -",
  };
  std::vector<std::string> got_no_conduit;
  for (const auto& l : got)
    if (l.rfind("OT::No_Conduit", 0) == 0) got_no_conduit.push_back(l);
  CHECK(got_no_conduit == no_conduit);
  // The SSDP multicast from a public address: an unknown host (and its window's summary).
  CHECK(std::count(got.begin(), got.end(), "OT::Unknown_Host 208.73.217.142 239.255.255.100 0 - 208.73.217.142 -") == 1);
  CHECK(got.size() == no_conduit.size() + 2);
}
