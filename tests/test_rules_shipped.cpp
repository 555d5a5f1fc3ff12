// The shipped rule set (rules/ics-default.yaml) in the pipeline: every rule fires on the generator's
// attacks capture (pcaps/attacks.pcap, `gen_pcap.py attacks`) with the notice it should give; the same
// notice.log with 1 and 3 workers (thresholds count one source's flows across workers); the normal
// captures give no hits beyond the control operations they deliberately contain.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "rules/rule.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
const fs::path kShipped = source_dir() / "rules" / "ics-default.yaml";

fs::path run_rules(const std::string& capture, const std::string& scratch, int workers = 1, const std::string& extra = "") {
  const auto out = scratch_dir(scratch);
  const auto r = run(otsensor() + " -q -w " + std::to_string(workers) + " -r " + q(source_dir() / "pcaps" / capture) +
                     " --rules " + q(kShipped) + " " + extra + " -l " + q(out));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return out;
}

// First notices (not suppression summaries) of Rule::Match: rule id -> "OPERATION RESP" lines.
std::map<std::string, std::vector<std::string>> hits(const fs::path& out) {
  std::map<std::string, std::vector<std::string>> by_rule;
  if (!fs::exists(out / "notice.log")) return by_rule;
  for (const auto& row : log_rows(out / "notice.log")) {
    if (row.at("note") != "Rule::Match" || row.at("n") != "-") continue;
    by_rule[row.at("rule_id")].push_back(row.at("operation") + " " + row.at("id.resp_h"));
  }
  return by_rule;
}

std::vector<ots::rules::Rule> shipped() {
  std::vector<ots::rules::Rule> rules;
  std::vector<std::string> errors;
  REQUIRE(ots::rules::load_rule_file(kShipped.string(), rules, errors));
  return rules;
}

}  // namespace

TEST_CASE("shipped rules: at least 40, each with an ATT&CK for ICS id and a reference", "[rules][shipped]") {
  const auto rules = shipped();
  CHECK(rules.size() >= 40);
  for (const auto& r : rules) {
    INFO(r.id << " " << r.name);
    CHECK_FALSE(r.mitre.empty());
    CHECK_FALSE(r.references.empty());
  }
}

TEST_CASE("shipped rules: each fires on the attacks capture with its notice", "[rules][shipped]") {
  // rule id -> the first notices it must give: "OPERATION RESPONDER" (the operation column is the
  // dissector's name of the event; TriStation has none). The sweeps fire at their count: the 10th PLC or
  // device, the 5th Modbus server.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"1000001", {"plc_stop 10.66.1.30"}},
      {"1000002", {"plc_control 10.66.1.30"}},
      {"1000003", {"plc_control 10.66.1.30"}},
      {"1000004", {"request_download 10.66.1.30"}},
      {"1000005", {"start_upload 10.66.1.30"}},
      {"1000006", {"plc_control 10.66.1.30"}},
      {"1000007", {"plc_control 10.66.1.30"}},
      {"1000008", {"plc_control 10.66.1.30"}},
      {"1000009", {"plc_control 10.66.1.30"}},
      {"1000010", {"write_var 10.66.1.30"}},
      {"1000011", {"userdata 10.66.1.30"}},
      {"1000012", {"userdata 10.66.2.10"}},
      {"1000020", {"diagnostics 10.66.1.21"}},
      {"1000021", {"diagnostics 10.66.1.21"}},
      {"1000022", {"diagnostics 10.66.1.21"}},
      {"1000023", {"write_single_register 10.66.1.21"}},
      {"1000024", {"write_multiple_coils 10.66.1.21"}},
      {"1000025", {"write_multiple_registers 10.66.1.21"}},
      {"1000026", {"write_single_coil 10.66.1.21"}},
      {"1000027", {"encapsulated_interface_transport 10.66.3.5"}},
      {"1000028", {"report_server_id 10.66.1.21"}},
      {"1000029", {"program_unity 10.66.1.21"}},
      {"1000030", {"program_unity 10.66.1.21"}},
      {"1000031", {"program_unity 10.66.1.21"}},
      {"1000032", {"program_unity 10.66.1.21"}},
      {"1000040", {"cold_restart 10.66.1.50"}},
      {"1000041", {"warm_restart 10.66.1.50"}},
      {"1000042", {"stop_application 10.66.1.50"}},
      {"1000043", {"initialize_application 10.66.1.50"}},
      {"1000044", {"disable_unsolicited 10.66.1.50"}},
      {"1000045", {"initialize_data 10.66.1.50"}},
      {"1000046", {"open_file 10.66.1.50", "get_file_info 10.66.1.50", "close_file 10.66.1.50"}},
      {"1000047", {"delete_file 10.66.1.50"}},
      {"1000048", {"activate_configuration 10.66.1.50"}},
      {"1000049", {"direct_operate_nr 10.66.1.50"}},
      {"1000050", {"read 10.66.1.50"}},
      {"1000060", {"reset 10.66.1.40"}},
      {"1000061", {"reset 10.66.1.40"}},
      {"1000062", {"stop 10.66.1.40"}},
      {"1000063", {"start 10.66.1.40"}},
      {"1000064", {"set_attribute_single 10.66.1.40"}},
      {"1000065", {"set_attribute_single 10.66.1.40"}},
      {"1000066", {"set_attribute_single 10.66.1.40"}},
      {"1000067", {"delete 10.66.1.40"}},
      {"1000068", {"list_identity 10.66.4.10"}},
      {"1000080", {"- 10.66.1.60"}},
  };
  const auto got = hits(run_rules("attacks.pcap", "rules_attacks"));
  // Every shipped rule is in the table, and nothing fires that the table does not list.
  std::set<std::string> ids;
  for (const auto& r : shipped()) ids.insert(std::to_string(r.id));
  std::set<std::string> table;
  for (const auto& [id, _] : expected) table.insert(id);
  CHECK(ids == table);
  for (const auto& [id, notices] : expected) {
    INFO("rule " << id);
    CHECK(got.count(id) == 1);
    if (got.count(id)) CHECK(got.at(id) == notices);
  }
  for (const auto& [id, notices] : got) {
    INFO("rule " << id);
    CHECK(expected.count(id) == 1);
  }
}

TEST_CASE("shipped rules: a hit's notice carries severity, MITRE ids and the zone columns", "[rules][shipped]") {
  const auto out = run_rules("attacks.pcap", "rules_attacks_cols");
  bool seen = false;
  for (const auto& row : log_rows(out / "notice.log")) {
    if (row.at("rule_id") != "1000042") continue;
    seen = true;
    CHECK(row.at("severity") == "critical");
    CHECK(row.at("mitre") == "T0881,T0858");
    CHECK(row.at("protocol") == "dnp3");
    CHECK(row.at("src") == "10.66.0.10");
    CHECK(row.at("dst") == "10.66.1.50");
    CHECK(row.at("p") == "20000");
    CHECK(row.at("msg") == "rule 1000042 \"DNP3 stop application\": dnp3 stop_application from 10.66.0.10 to 10.66.1.50");
  }
  CHECK(seen);
  // With the example site model the flow's zones fill the columns (10.66.0.0/16 is in no zone there).
  const auto with_model = run_rules("demo.pcap", "rules_demo_model", 1, "-c " + q(source_dir() / "config" / "site.example.yaml"));
  std::vector<std::string> rows;
  for (const auto& row : log_rows(with_model / "notice.log")) {
    if (row.at("note") == "Rule::Match")
      rows.push_back(row.at("rule_id") + " " + row.at("zone_orig") + " " + row.at("zone_resp") + " " + row.at("conduit"));
  }
  CHECK(rows == std::vector<std::string>{"1000040 supervisory control supervisory-to-control",
                                         "1000001 supervisory control supervisory-to-control"});
}

TEST_CASE("shipped rules: notice.log is the same with 1 and 3 workers (thresholds across workers)", "[rules][shipped][replay]") {
  const auto w1 = run_rules("attacks.pcap", "rules_w1", 1);
  const auto w3 = run_rules("attacks.pcap", "rules_w3", 3);
  const auto a = log_without_times(w1 / "notice.log");
  REQUIRE(a.find("Rule::Match") != std::string::npos);
  CHECK(a == log_without_times(w3 / "notice.log"));
  // The sweeps' flows are spread over the workers, and the thresholds still fire once, at the same hit.
  CHECK(hits(w3).at("1000068") == std::vector<std::string>{"list_identity 10.66.4.10"});
}

TEST_CASE("shipped rules: normal polling gives no hits, only the captures' deliberate control operations fire",
          "[rules][shipped]") {
  // The generator's protocol captures poll and read; a few also contain one deliberate control operation
  // each (the zone tests use them): those, and nothing else, are hits.
  const std::map<std::string, std::map<std::string, std::vector<std::string>>> expected = {
      {"modbus.pcap", {}},
      {"conn-states.pcap", {}},
      {"fragments.pcap", {}},
      {"attest_fleet.pcap", {}},
      {"dnp3.pcap", {{"1000040", {"cold_restart 10.40.1.50"}}}},
      {"enip.pcap", {{"1000060", {"reset 10.30.1.20"}}, {"1000062", {"stop 10.30.1.20"}}}},
      {"s7comm.pcap",
       {{"1000001", {"plc_stop 10.20.1.30"}},
        {"1000002", {"plc_control 10.20.1.30"}},
        {"1000004", {"request_download 10.20.1.30"}},
        {"1000005", {"start_upload 10.20.1.30"}},
        {"1000007", {"plc_control 10.20.1.30"}}}},
      {"demo.pcap", {{"1000001", {"plc_stop 192.168.110.30"}}, {"1000040", {"cold_restart 192.168.110.50"}}}},
  };
  for (const auto& [capture, want] : expected) {
    INFO(capture);
    CHECK(hits(run_rules(capture, "rules_normal_" + capture)) == want);
  }
}
