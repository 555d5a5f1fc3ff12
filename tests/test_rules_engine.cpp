// The rule engine on operation events built by hand: field conditions, content (all patterns, within
// the PDU), direction, port-only protocols, and the thresholds the notice stage applies; stream rules
// fed bytes as the flow table delivers them (patterns across calls, once per direction, gaps, the
// depth, the cap on open streams).
#include <catch2/catch.hpp>

#include <fstream>

#include "rules/rule_matcher.hpp"
#include "rules/rule_notice.hpp"
#include "rules/rule_thresholds.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::rules;
using namespace ots::test;

namespace {

std::unique_ptr<RuleDatabase> build(const std::string& name, const std::string& yaml) {
  const fs::path p = scratch_dir(name) / "r.yaml";
  std::ofstream(p) << yaml;
  std::vector<std::string> errors;
  auto db = load_rule_database({p.string()}, nullptr, errors);
  INFO((errors.empty() ? std::string() : errors[0]));
  REQUIRE(db);
  return db;
}

// The ids of the rules that fire.
std::vector<uint64_t> fired(RuleMatcher& m, const RuleDatabase& db, const OperationEvent& ev) {
  std::vector<uint64_t> ids;
  for (const uint32_t i : m.match(ev, FlowZones{})) ids.push_back(db.rules()[i].id);
  return ids;
}

OperationEvent modbus(uint32_t fc, int64_t unit, int64_t address, int64_t quantity, std::span<const uint8_t> pdu,
                      bool is_orig = true) {
  OperationEvent ev;
  ev.protocol = Protocol::Modbus;
  ev.is_orig = ev.is_request = is_orig;
  ev.code = fc;
  ev.unit = unit;
  ev.address = address;
  ev.quantity = quantity;
  ev.op_class = (fc == 5 || fc == 6 || fc == 15 || fc == 16) ? OpClass::Write : OpClass::Read;
  ev.pdu = pdu;
  return ev;
}

const char* kRules = R"(
- { id: 1, name: broadcast write, severity: high, protocol: modbus, direction: to_server, match: { unit_id: 0, is_write: true } }
- { id: 2, name: protected, severity: high, protocol: modbus, direction: to_server,
    match: { operation: [write_single_register, write_multiple_registers], address: "9000-9999" } }
- { id: 3, name: mass coils, severity: high, protocol: modbus, match: { operation: write_multiple_coils, quantity: "100-1968" } }
- { id: 4, name: two patterns, severity: low, protocol: modbus, direction: to_server, content: ["|de ad|", { regex: "BE+F", nocase: true }] }
- { id: 5, name: one pattern with a field, severity: low, protocol: modbus, direction: to_server,
    match: { operation: read_holding_registers }, content: ["|de ad|"] }
- { id: 6, name: answers, severity: low, protocol: modbus, direction: to_client, content: ["|de ad|"] }
- { id: 7, name: diag listen only, severity: high, protocol: modbus, match: { operation: diagnostics, subfunction: 4 } }
- { id: 8, name: tristation, severity: critical, protocol: tristation, direction: to_server }
- { id: 9, name: cip reset, severity: high, protocol: enip, match: { operation: [reset, list_identity] } }
)";

const char* kStreamRules = R"(
- { id: 1, name: split, severity: high, protocol: modbus, direction: to_server, scope: stream, content: [{ regex: "TRI.{0,16}TON" }] }
- { id: 2, name: split as pdu, severity: high, protocol: modbus, direction: to_server, content: [{ regex: "TRI.{0,16}TON" }] }
- { id: 3, name: two parts, severity: low, protocol: modbus, direction: to_server, scope: stream, content: ["ALPHA", "OMEGA"] }
- { id: 4, name: at the end, severity: low, protocol: modbus, direction: to_server, scope: stream, content: [{ regex: "BYE$" }] }
)";

// Feeds `text` to the flow's to_server stream; the ids that fired.
std::vector<uint64_t> feed(RuleMatcher& m, const RuleDatabase& db, FlowStreams& fs, const std::string& text,
                           StreamBound* bound_out = nullptr) {
  StreamBound bound;
  std::vector<uint64_t> ids;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  for (const StreamHit& h : m.stream_data(fs, RuleProtocol::Modbus, true, {p, text.size()}, FlowZones{}, bound))
    ids.push_back(db.rules()[h.rule].id);
  if (bound_out) *bound_out = bound;
  return ids;
}

std::vector<uint64_t> close(RuleMatcher& m, const RuleDatabase& db, FlowStreams& fs) {
  std::vector<uint64_t> ids;
  for (const StreamHit& h : m.stream_close(fs, RuleProtocol::Count_, FlowZones{})) ids.push_back(db.rules()[h.rule].id);
  return ids;
}

}  // namespace

TEST_CASE("rules engine: field conditions select the operations", "[rules]") {
  const auto db = build("rules_engine_fields", kRules);
  RuleMatcher m(*db);
  const std::vector<uint8_t> none;
  CHECK(fired(m, *db, modbus(6, 0, 40, 1, none)) == std::vector<uint64_t>{1});
  CHECK(fired(m, *db, modbus(6, 1, 40, 1, none)).empty());
  CHECK(fired(m, *db, modbus(3, 0, 40, 1, none)).empty());  // a read to unit 0 is not a write
  CHECK(fired(m, *db, modbus(16, 1, 9000, 2, none)) == std::vector<uint64_t>{2});
  CHECK(fired(m, *db, modbus(16, 1, 9999, 2, none)) == std::vector<uint64_t>{2});
  CHECK(fired(m, *db, modbus(16, 1, 10000, 2, none)).empty());
  CHECK(fired(m, *db, modbus(16, 1, 8999, 2, none)).empty());
  CHECK(fired(m, *db, modbus(15, 1, 0, 100, none)) == std::vector<uint64_t>{3});
  CHECK(fired(m, *db, modbus(15, 1, 0, 99, none)).empty());
  // direction any: the response to the mass write fires too (its code is the request's).
  CHECK(fired(m, *db, modbus(15, 1, 0, 800, none, false)) == std::vector<uint64_t>{3});
  OperationEvent diag = modbus(8, 1, -1, -1, none);
  diag.subfunction = 4;
  CHECK(fired(m, *db, diag) == std::vector<uint64_t>{7});
  diag.subfunction = 1;
  CHECK(fired(m, *db, diag).empty());
}

TEST_CASE("rules engine: every content pattern must match within the PDU, in its direction", "[rules]") {
  const auto db = build("rules_engine_content", kRules);
  RuleMatcher m(*db);
  const std::vector<uint8_t> both = {0x03, 0x00, 0xde, 0xad, 'b', 'e', 'e', 'f'};
  const std::vector<uint8_t> one = {0x03, 0x00, 0xde, 0xad, 'b', 'e', 'e'};
  const std::vector<uint8_t> split = {0x03, 0xde, 0x00, 0xad, 'B', 'E', 'F'};
  CHECK(fired(m, *db, modbus(3, 1, 0, 1, both)) == std::vector<uint64_t>{4, 5});
  CHECK(fired(m, *db, modbus(3, 1, 0, 1, one)) == std::vector<uint64_t>{5});
  CHECK(fired(m, *db, modbus(3, 1, 0, 1, split)).empty());
  CHECK(fired(m, *db, modbus(4, 1, 0, 1, both)) == std::vector<uint64_t>{4});  // rule 5 wants FC 3
  CHECK(fired(m, *db, modbus(3, 1, 0, 1, both, false)) == std::vector<uint64_t>{6});
  // The same scan state is reused: a following event without the bytes fires nothing.
  CHECK(fired(m, *db, modbus(3, 1, 0, 1, std::vector<uint8_t>{1, 2, 3})).empty());
  CHECK(m.scan_errors() == 0);
}

TEST_CASE("rules engine: enip rules see ENIP commands and the CIP services, tristation datagrams by port", "[rules]") {
  const auto db = build("rules_engine_enip", kRules);
  RuleMatcher m(*db);
  OperationEvent ev;
  ev.protocol = Protocol::Cip;
  ev.code = 0x05;
  ev.cip_class = 1;
  CHECK(fired(m, *db, ev) == std::vector<uint64_t>{9});
  ev.code = 0x07;
  CHECK(fired(m, *db, ev).empty());
  ev.protocol = Protocol::Enip;
  ev.code = 0x63;
  CHECK(fired(m, *db, ev) == std::vector<uint64_t>{9});
  CHECK(db->udp_port_protocol(1502) == rules::RuleProtocol::Tristation);
  CHECK(db->udp_port_protocol(1503) == rules::RuleProtocol::Count_);
  const std::vector<uint8_t> d = {1, 2, 3};
  auto hits = m.match_datagram(rules::RuleProtocol::Tristation, true, d, FlowZones{});
  REQUIRE(hits.size() == 1);
  CHECK(db->rules()[hits[0]].id == 8);
  CHECK(m.match_datagram(rules::RuleProtocol::Tristation, false, d, FlowZones{}).empty());
}

TEST_CASE("rules engine: a hit is a Rule::Match notice with the rule's id, severity and MITRE ids", "[rules]") {
  const auto db = build("rules_engine_notice",
                        "- { id: 42, name: \"stop\", severity: critical, protocol: s7comm, match: { operation: plc_stop }, "
                        "mitre: [T0858, T0881] }\n");
  Conn c;
  c.set_id(ConnId{IpAddr::v4(0x0A000001u), IpAddr::v4(0x0A000002u), 50000, 102, Transport::Unknown});
  OperationEvent ev;
  ev.conn = &c;
  ev.protocol = Protocol::S7comm;
  ev.code = 0x29;
  ev.name = "plc_stop";
  RuleMatcher m(*db);
  const auto hits = m.match(ev, FlowZones{});
  REQUIRE(hits.size() == 1);
  Notice n;
  fill_rule_notice(db->rules()[hits[0]], c, &ev, 5, n);
  CHECK(n.note == "Rule::Match");
  CHECK(n.rule_id == 42);
  CHECK(n.severity == Severity::Critical);
  CHECK(n.mitre == "T0858,T0881");
  CHECK(n.msg == "rule 42 \"stop\": s7comm plc_stop from 10.0.0.1 to 10.0.0.2");
  CHECK(n.src.to_string() == "10.0.0.1");
  CHECK(n.p == 102);
  CHECK(n.operation == "plc_stop");
}

TEST_CASE("rules thresholds: count per source within the window, once per window, across flows", "[rules]") {
  const auto db = build("rules_engine_threshold",
                        "- { id: 1, name: sweep, severity: low, protocol: enip, match: { operation: list_identity },\n"
                        "    threshold: { count: 3, seconds: 10, track: by_src } }\n"
                        "- { id: 2, name: plain, severity: low, protocol: enip, match: { operation: list_identity } }\n");
  RuleThresholds t(*db);
  auto hit = [&](uint64_t rule, const char* src, const char* dst, uint64_t s) {
    Notice n;
    n.note = kRuleMatchNote;
    n.rule_id = rule;
    n.ts_ns = s * 1'000'000'000ull;
    n.has_src = n.has_dst = true;
    IpAddr::parse(src, n.src);
    IpAddr::parse(dst, n.dst);
    const bool pass = t.admit(n);
    if (pass && rule == 1) CHECK(n.sub.rfind("threshold: 3 hits from this source within 10 s", 0) == 0);
    return pass;
  };
  CHECK_FALSE(hit(1, "10.0.0.1", "10.0.1.1", 0));
  CHECK_FALSE(hit(1, "10.0.0.2", "10.0.1.1", 1));  // another source: its own count
  CHECK_FALSE(hit(1, "10.0.0.1", "10.0.1.2", 2));
  CHECK(hit(1, "10.0.0.1", "10.0.1.3", 3));        // the third from 10.0.0.1 within 10 s
  CHECK_FALSE(hit(1, "10.0.0.1", "10.0.1.4", 4));  // once per window
  CHECK(hit(2, "10.0.0.1", "10.0.1.4", 4));        // rules without a threshold always pass
  t.advance(11'000'000'000ull);
  CHECK_FALSE(hit(1, "10.0.0.1", "10.0.1.5", 12));  // a new window starts
  CHECK_FALSE(hit(1, "10.0.0.1", "10.0.1.6", 13));
  CHECK(hit(1, "10.0.0.1", "10.0.1.7", 14));
  Notice other;
  other.note = "OT::No_Conduit";
  CHECK(t.admit(other));
}

TEST_CASE("rules thresholds: a reloaded rule set keeps the counts of rules kept as they were, drops the others",
          "[rules][reload]") {
  const char* kSweep = "- { id: 1, name: sweep, severity: low, protocol: enip, match: { operation: list_identity },\n"
                       "    threshold: { count: 3, seconds: 10, track: by_src } }\n";
  const char* kScan = "- { id: 2, name: scan, severity: low, protocol: enip, match: { operation: list_services },\n"
                      "    threshold: { count: 2, seconds: 10, track: by_src } }\n";
  const auto before = build("rules_engine_rebind_a", std::string(kSweep) + kScan);
  RuleThresholds t(*before);
  auto hit = [&](uint64_t rule, uint64_t s) {
    Notice n;
    n.note = kRuleMatchNote;
    n.rule_id = rule;
    n.ts_ns = s * 1'000'000'000ull;
    n.has_src = n.has_dst = true;
    IpAddr::parse("10.0.0.1", n.src);
    IpAddr::parse("10.0.1.1", n.dst);
    return t.admit(n);
  };
  CHECK_FALSE(hit(1, 0));
  CHECK_FALSE(hit(1, 1));
  CHECK_FALSE(hit(2, 1));
  // Rule 1 unchanged, rule 2 with another count: 1 goes on counting, 2 starts again.
  const auto after = build("rules_engine_rebind_b",
                           std::string(kSweep) +
                               "- { id: 2, name: scan, severity: low, protocol: enip, match: { operation: list_services },\n"
                               "    threshold: { count: 2, seconds: 10, track: by_dst } }\n");
  t.rebind(*after);
  CHECK(t.windows() == 1);
  CHECK(hit(1, 2));  // the third within 10 s, two of them before the reload
  CHECK_FALSE(hit(2, 2));
  CHECK(hit(2, 3));
  // A set without rule 1 forgets its window, a later set with it counts from scratch.
  const auto without = build("rules_engine_rebind_c", kScan);
  t.rebind(*without);
  CHECK(t.windows() == 0);
  t.rebind(*after);
  CHECK_FALSE(hit(1, 4));
}

TEST_CASE("stream rules: patterns match across the bytes of several calls and fire once per direction", "[rules][stream]") {
  const auto db = build("rules_stream_engine", kStreamRules);
  CHECK(db->stream_rules() == 3);
  CHECK(db->has_stream_rules(RuleProtocol::Modbus));
  CHECK_FALSE(db->has_stream_rules(RuleProtocol::Dnp3));
  CHECK(db->stream_state_bytes() > 0);
  RuleMatcher m(*db);
  FlowStreams fs;
  CHECK(feed(m, *db, fs, "xxTR").empty());
  CHECK(fs.first != FlowStreams::kNone);
  CHECK(feed(m, *db, fs, "I--header--TO").empty());
  CHECK(feed(m, *db, fs, "N ALPHA") == std::vector<uint64_t>{1});
  CHECK(feed(m, *db, fs, "TRI TON OMEGA") == std::vector<uint64_t>{3});  // rule 1 has fired on this direction
  CHECK(feed(m, *db, fs, "BYE").empty());
  CHECK(close(m, *db, fs) == std::vector<uint64_t>{4});  // `$`: the end of the stream
  CHECK(fs.empty());
  CHECK(m.stream_stats().opened == 1);
  CHECK(m.stream_stats().open == 0);
  // PDU scope: the same pattern must lie within one PDU.
  OperationEvent ev;
  ev.protocol = Protocol::Modbus;
  ev.is_orig = true;
  ev.code = 16;
  const std::string part = "xxTRI";
  ev.pdu = {reinterpret_cast<const uint8_t*>(part.data()), part.size()};
  CHECK(m.match(ev, FlowZones{}).empty());
  const std::string whole = "TRI--TON";
  ev.pdu = {reinterpret_cast<const uint8_t*>(whole.data()), whole.size()};
  const auto pdu_hits = m.match(ev, FlowZones{});
  REQUIRE(pdu_hits.size() == 1);
  CHECK(db->rules()[pdu_hits[0]].id == 2);
}

TEST_CASE("stream rules: a gap starts the stream again so no pattern matches across the hole", "[rules][stream]") {
  const auto db = build("rules_stream_gap", kStreamRules);
  RuleMatcher m(*db);
  FlowStreams fs;
  CHECK(feed(m, *db, fs, "..TRI").empty());
  m.stream_gap(fs, false);  // the other direction's hole changes nothing here
  m.stream_gap(fs, true);
  CHECK(feed(m, *db, fs, "TON..").empty());
  CHECK(feed(m, *db, fs, "ALPHA").empty());
  m.stream_gap(fs, true);
  CHECK(feed(m, *db, fs, "OMEGA").empty());  // ALPHA was before the hole
  CHECK(feed(m, *db, fs, "TRI TON") == std::vector<uint64_t>{1});
  CHECK(m.stream_stats().gaps == 2);
  close(m, *db, fs);
}

TEST_CASE("stream rules: the depth ends the direction's scanning and the cap refuses new streams", "[rules][stream]") {
  const auto db = build("rules_stream_bounds", kStreamRules);
  RuleMatcher m(*db);
  m.set_stream_limits({16, 2});
  FlowStreams a, b, c;
  StreamBound bound;
  CHECK(feed(m, *db, a, "0123456789", &bound).empty());
  CHECK(bound == StreamBound::None);
  // 16 bytes are scanned: "TRI" and "TO" are, the "N" beyond them is not.
  CHECK(feed(m, *db, a, "TRI TO", &bound).empty());
  CHECK(bound == StreamBound::None);
  CHECK(feed(m, *db, a, "N", &bound).empty());
  CHECK(bound == StreamBound::Depth);
  CHECK(a.empty());
  CHECK(feed(m, *db, a, "TRI TON", &bound).empty());  // the direction stays unscanned
  CHECK(bound == StreamBound::None);
  CHECK(m.stream_stats().depth_reached == 1);
  CHECK(feed(m, *db, b, "x").empty());
  CHECK(feed(m, *db, c, "y").empty());
  CHECK(feed(m, *db, a, "z").empty());
  FlowStreams d;
  CHECK(feed(m, *db, d, "TRI TON", &bound).empty());
  CHECK(bound == StreamBound::Limit);
  CHECK(m.stream_stats().limit_reached == 1);
  CHECK(m.stream_stats().peak == 2);
  close(m, *db, b);
  FlowStreams e;
  CHECK(feed(m, *db, e, "TRI TON", &bound) == std::vector<uint64_t>{1});  // a stream was freed
  close(m, *db, c);
  close(m, *db, e);
  CHECK(m.stream_stats().open == 0);
}
