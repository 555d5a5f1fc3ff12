// The rule language's loader (rules/rule_yaml.cpp), content escapes (rules/content_pattern.cpp) and the
// compile step (rules/rule_database.cpp): every problem with FILE:LINE:COL.
#include <catch2/catch.hpp>

#include <fstream>

#include "conduits/site_policy.hpp"
#include "rules/content_pattern.hpp"
#include "rules/rule_database.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::rules;
using namespace ots::test;

namespace {

fs::path write(const std::string& dir, const std::string& name, const std::string& text) {
  const fs::path p = scratch_root() / dir / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p;
}

// Loads one file's text; returns the problems (empty when it loaded).
std::vector<std::string> problems(const std::string& text, std::vector<Rule>* out = nullptr) {
  const fs::path p = write("rules_loader", "r.yaml", text);
  std::vector<Rule> rules;
  std::vector<std::string> errors;
  const bool ok = load_rule_file(p.string(), rules, errors);
  CHECK(ok == errors.empty());
  if (out) *out = rules;
  for (auto& e : errors) e = e.substr(p.string().size());  // ":LINE:COL: ..."
  return errors;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* kGood = R"(- id: 7
  name: "S7 stop"
  severity: high
  protocol: s7comm
  direction: to_server
  match: { operation: [plc_stop, 0x28], address: "0-99", s7_db: 5 }
  content: ["P_|50 52|OGRAM", { regex: "p_prog", nocase: true }]
  threshold: { count: 3, seconds: 60, track: by_dst }
  mitre: [T0858, T0881]
  references: ["https://attack.mitre.org/techniques/T0858/"]
)";

}  // namespace

TEST_CASE("rules: a valid rule loads into plain structs", "[rules]") {
  std::vector<Rule> rules;
  REQUIRE(problems(kGood, &rules).empty());
  REQUIRE(rules.size() == 1);
  const Rule& r = rules[0];
  CHECK(r.id == 7);
  CHECK(r.name == "S7 stop");
  CHECK(r.severity == Severity::High);
  CHECK(r.protocol == rules::RuleProtocol::S7comm);
  CHECK(r.direction == Direction::ToServer);
  CHECK(r.match.operation_text == std::vector<std::string>{"plc_stop", "plc_control"});
  REQUIRE(r.match.operations.size() == 2);
  CHECK(r.match.operations[0].key == 0x29);
  CHECK(r.match.address->lo == 0);
  CHECK(r.match.address->hi == 99);
  CHECK(r.match.s7_db->lo == 5);
  CHECK(r.match.s7_db->hi == 5);
  REQUIRE(r.content.size() == 2);
  CHECK(r.content[0].expression == literal_expression("P_PROGRAM"));
  CHECK(r.content[1].regex);
  CHECK(r.content[1].nocase);
  REQUIRE(r.threshold);
  CHECK(r.threshold->count == 3);
  CHECK(r.threshold->seconds_ns == 60'000'000'000ull);
  CHECK(r.threshold->track == Track::ByDst);
  CHECK(r.mitre_text == "T0858,T0881");
  CHECK(r.mark.line == 1);
  CHECK(r.mark.column == 3);
}

TEST_CASE("rules: unknown keys, bad values and unknown operations are errors at their line and column", "[rules]") {
  const auto e = problems(R"(- id: 1
  name: x
  severity: urgent
  protocol: modbus
  colour: red
  match:
    operation: [read_coils, plc_stop, write_singel_register]
    address: "99-0"
    s7_area: 0x84
    speed: 3
  mitre: [T1234]
)");
  for (const auto& x : e) UNSCOPED_INFO(x);
  REQUIRE(e.size() == 8);
  CHECK(e[0] == ":5:3: unknown key 'colour' in a rule, expected one of id, name, severity, protocol, direction, "
                "scope, match, content, threshold, mitre, references");
  CHECK(e[1] == ":3:13: unknown severity 'urgent', expected low, medium, high or critical");
  CHECK(contains(e[2], ":10:5: unknown key 'speed' in 'match'"));
  CHECK(e[3] == ":7:29: 'plc_stop' is an operation of s7comm, not of modbus");
  CHECK(e[4] == ":7:39: unknown modbus operation 'write_singel_register', did you mean 'write_single_register'?");
  CHECK(contains(e[5], ":8:14: 'address' must be a range \"LO-HI\""));
  CHECK(e[6] == ":9:5: 's7_area' does not apply to modbus rules (s7comm only)");
  CHECK(e[7] == ":11:10: 'T1234' is not an ATT&CK for ICS technique id (T08xx)");
}

TEST_CASE("rules: scope stream takes content and zone conditions only and applies to TCP protocols", "[rules][stream]") {
  const auto e = problems(R"(- id: 1
  name: a
  severity: low
  protocol: modbus
  scope: streem
- id: 2
  name: b
  severity: low
  protocol: modbus
  scope: stream
- id: 3
  name: c
  severity: low
  protocol: tristation
  scope: stream
  content: ["x"]
- id: 4
  name: d
  severity: low
  protocol: s7comm
  scope: stream
  match: { operation: plc_stop, from_zone: it, s7_db: 5 }
  content: ["x"]
)");
  for (const auto& x : e) UNSCOPED_INFO(x);
  REQUIRE(e.size() == 5);
  CHECK(e[0] == ":5:10: unknown scope 'streem', expected pdu or stream");
  CHECK(e[1] == ":10:10: a stream rule needs 'content' (it matches patterns in the connection's bytes)");
  CHECK(e[2] == ":15:10: scope: stream does not apply to tristation rules (its UDP datagrams are matched one by one); "
                "it applies to modbus, dnp3, enip, s7comm and s7comm-plus");
  CHECK(e[3] == ":22:12: 'operation' does not apply to stream rules (they match the connection's reassembled bytes, "
                "not its operation events); they take from_zone, to_zone and conduit");
  CHECK(contains(e[4], ":22:48: 's7_db' does not apply to stream rules"));
  std::vector<Rule> rules;
  REQUIRE(problems("- { id: 5, name: e, severity: low, protocol: enip, scope: stream, match: { to_zone: plc },\n"
                   "    content: [\"x\", { regex: \"y+z\" }] }\n- { id: 6, name: f, severity: low, protocol: dnp3, scope: pdu }\n",
                   &rules)
              .empty());
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].scope == Scope::Stream);
  CHECK(rules[0].match.to_zone == "plc");
  CHECK(rules[1].scope == Scope::Pdu);
  CHECK(problems("- { id: 7, name: g, severity: low, protocol: cip, scope: stream, content: [x] }\n") ==
        std::vector<std::string>{":1:58: scope: stream does not apply to cip rules (CIP travels inside ENIP: write "
                                 "protocol: enip); it applies to modbus, dnp3, enip, s7comm and s7comm-plus"});
}

TEST_CASE("rules: missing keys are reported at the rule's mapping", "[rules]") {
  const auto e = problems("- id: 3\n  name: x\n  mitre: [T0801]\n-\n  id: 4\n  name: y\n  severity: low\n  protocol: dnp3\n"
                          "  threshold: { count: 2 }\n");
  REQUIRE(e.size() == 3);
  CHECK(e[0] == ":1:3: rule has no 'severity' (required: id, name, severity, protocol)");
  CHECK(e[1] == ":1:3: rule has no 'protocol' (required: id, name, severity, protocol)");
  CHECK(e[2] == ":9:14: threshold has no 'seconds' (required: count, seconds)");
}

TEST_CASE("rules: duplicate ids are errors naming both places", "[rules]") {
  const fs::path a = write("rules_dup", "a.yaml", "- { id: 5, name: a, severity: low, protocol: modbus }\n");
  const fs::path b = write("rules_dup", "b.yaml",
                           "# another file\n- { id: 6, name: b, severity: low, protocol: modbus }\n"
                           "- { id: 5, name: c, severity: low, protocol: dnp3 }\n");
  std::vector<Rule> rules;
  std::vector<std::string> errors;
  CHECK_FALSE(load_rule_files({a.string(), b.string()}, rules, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == b.string() + ":3:3: duplicate rule id 5 (first defined at " + a.string() + ":1:3)");
}

TEST_CASE("rules: YAML syntax errors and unreadable files", "[rules]") {
  const auto e = problems("- id: 1\n  name: [unclosed\n");
  REQUIRE(e.size() == 1);
  CHECK(contains(e[0], ":3:1:"));
  std::vector<Rule> rules;
  std::vector<std::string> errors;
  CHECK_FALSE(load_rule_file("/nonexistent/rules.yaml", rules, errors));
  CHECK(errors == std::vector<std::string>{"/nonexistent/rules.yaml: cannot read the file"});
  CHECK(problems("id: 1\n") == std::vector<std::string>{":1:1: a rule file is a list of rules (\"- id: ...\")"});
}

TEST_CASE("rules: content literals decode Suricata's |hex| escapes", "[rules]") {
  std::string bytes, why;
  REQUIRE(decode_content_literal("ab|00 ff|c|7C|", bytes, why));
  CHECK(bytes == std::string("ab\x00\xff" "c|", 6));
  REQUIRE(decode_content_literal("|de ad be ef|", bytes, why));
  CHECK(bytes == "\xde\xad\xbe\xef");
  CHECK(literal_expression("a.\n") == "\\x61\\x2e\\x0a");
  CHECK_FALSE(decode_content_literal("ab|00", bytes, why));
  CHECK(why == "unterminated |...| hex block starting at offset 2");
  CHECK_FALSE(decode_content_literal("|0g|", bytes, why));
  CHECK(why == "'g' is not a hex digit (in the |...| block at offset 0)");
  CHECK_FALSE(decode_content_literal("|abc|", bytes, why));
  CHECK(why == "odd number of hex digits in the |...| block at offset 0");
  CHECK_FALSE(decode_content_literal("||", bytes, why));
  CHECK(why == "empty content: a pattern must have at least one byte");
  const auto e = problems("- { id: 1, name: a, severity: low, protocol: modbus,\n    content: [\"ok\", \"|zz|\"] }\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0] == ":2:21: bad content \"|zz|\": 'z' is not a hex digit (in the |...| block at offset 0)");
}

TEST_CASE("rules: a pattern Hyperscan cannot compile is reported with Hyperscan's message and the rule's place",
          "[rules]") {
  const fs::path p = write("rules_hs", "r.yaml",
                           "- id: 1\n  name: fine\n  severity: low\n  protocol: modbus\n  content: [abc]\n"
                           "- id: 2\n  name: broken\n  severity: low\n  protocol: modbus\n"
                           "  content: [\"x\", { regex: \"a(b\" }]\n");
  std::vector<std::string> errors;
  CHECK(load_rule_database({p.string()}, nullptr, errors) == nullptr);
  REQUIRE(errors.size() == 1);
  // Hyperscan's own words for an unbalanced parenthesis.
  CHECK(errors[0] == p.string() + ":10:18: rule 2: Hyperscan cannot compile regex \"a(b\": Missing close parenthesis "
                                  "for group started at index 1.");
}

TEST_CASE("rules: zone conditions need a site model and name its zones and conduits", "[rules]") {
  const fs::path p = write("rules_zones", "r.yaml",
                           "- { id: 1, name: a, severity: low, protocol: modbus, match: { from_zone: mes, conduit: "
                           "mes-to-supervisory } }\n"
                           "- { id: 2, name: b, severity: low, protocol: modbus, match: { to_zone: moon } }\n");
  std::vector<std::string> errors;
  CHECK(load_rule_database({p.string()}, nullptr, errors) == nullptr);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == p.string() + ":1:3: rule 1 has 'from_zone: mes', but no site model with zones is loaded");
  SitePolicy policy;
  std::vector<std::string> site_errors;
  REQUIRE(load_site_policy((source_dir() / "config" / "site.example.yaml").string(), policy, site_errors));
  errors.clear();
  CHECK(load_rule_database({p.string()}, &policy, errors) == nullptr);
  CHECK(errors == std::vector<std::string>{p.string() + ":2:3: rule 2: 'moon' names no zone of the site model"});
}

TEST_CASE("rules: the site model's rules: section resolves paths against the site file", "[rules]") {
  const fs::path dir = scratch_dir("rules_section");
  write("rules_section", "sub/mine.yaml", "- { id: 1, name: a, severity: low, protocol: modbus }\n");
  const fs::path site = write("rules_section", "site.yaml", "site: x\nrules: [sub/mine.yaml, missing.yaml]\n");
  std::vector<std::string> files, errors;
  CHECK_FALSE(load_rules_section(site.string(), files, errors));
  CHECK(files == std::vector<std::string>{(dir / "sub" / "mine.yaml").string()});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == site.string() + ":2:24: rule file 'missing.yaml' not found (" + (dir / "missing.yaml").string() + ")");
}

TEST_CASE("rules: check-config validates the rule files and counts them", "[rules]") {
  const fs::path dir = scratch_dir("rules_check");
  const fs::path shipped = source_dir() / "rules" / "ics-default.yaml";
  const fs::path site = write("rules_check", "site.yaml", "site: x\nrules: [" + shipped.string() + "]\n");
  auto r = run(otsensor() + " check-config '" + site.string() + "'");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "\nrules: 46 from 1 file ("));
  write("rules_check", "bad.yaml", "- { id: 1000001, name: dup, severity: low, protocol: dnp3, match: { operation: stop } }\n");
  r = run(otsensor() + " check-config '" + site.string() + "' --rules '" + (dir / "bad.yaml").string() + "'");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, (dir / "bad.yaml").string() + ":1:80: 'stop' is an operation of cip, not of dnp3"));
}

TEST_CASE("rules: check-config reports stream rules and their bounds and refuses a bad scope with FILE:LINE:COL",
          "[rules][stream]") {
  const fs::path dir = scratch_dir("rules_check_stream");
  write("rules_check_stream", "stream.yaml",
        "- { id: 1, name: s, severity: low, protocol: s7comm, scope: stream, content: [\"P_PROGRAM\"] }\n");
  const fs::path site = write("rules_check_stream", "site.yaml",
                              "site: x\nrules: [stream.yaml]\nsensor: {rule_stream_depth_kb: 64, rule_streams_max: 100}\n");
  auto r = run(otsensor() + " check-config '" + site.string() + "'");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "\nstream rules: 1 ("));
  CHECK(contains(r.output, " bytes of Hyperscan state per open stream; depth 64 KiB per direction, at most 100 streams, "));
  write("rules_check_stream", "bad.yaml", "- { id: 2, name: b, severity: low, protocol: modbus, scope: [stream], content: [x] }\n");
  write("rules_check_stream", "site.yaml", "site: x\nrules: [bad.yaml]\n");
  r = run(otsensor() + " check-config '" + site.string() + "'");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, (dir / "bad.yaml").string() + ":1:61: 'scope' must be a single value, not a list"));
  write("rules_check_stream", "site.yaml", "site: x\nrules: [stream.yaml]\nsensor: {rule_stream_depth_kb: 0}\n");
  r = run(otsensor() + " check-config '" + site.string() + "'");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, site.string() + ":3:32: sensor.rule_stream_depth_kb is 0, expected 1 to 1048576"));
}
