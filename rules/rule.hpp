// Detection rules (issue 9): the plain, validated structs the YAML loader (rule_yaml.cpp) produces.
// Nothing downstream of the loader sees YAML; docs/RULES.md describes the language.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conduits/operation_vocabulary.hpp"
#include "dissectors/operation.hpp"
#include "output/notice.hpp"

namespace ots::rules {

// What a rule watches: the dissectors' protocols, and protocols the sensor knows by port only (no
// dissector): their "events" are the UDP datagrams to or from the port, with no fields but the payload.
enum class RuleProtocol : uint8_t {
  Modbus, Dnp3, Enip, Cip, S7comm, S7commPlus, Aqat,  // as ots::Protocol, same order
  Tristation,                                          // Triconex TriStation: UDP 1502, by port
  Count_
};
inline constexpr size_t kRuleProtocols = static_cast<size_t>(RuleProtocol::Count_);
std::string_view rule_protocol_name(RuleProtocol p);  // "modbus", ..., "tristation"
constexpr RuleProtocol rule_protocol(Protocol p) { return static_cast<RuleProtocol>(p); }
// The port of a port-only protocol (0 for dissected ones); its transport is UDP.
uint16_t port_only_udp_port(RuleProtocol p);

enum class Direction : uint8_t { Any, ToServer, ToClient };
// Where a rule's content must match: within one operation's PDU (or datagram), or anywhere in the
// reassembled TCP byte stream of one direction of the connection (docs/RULES.md, "Stream rules").
enum class Scope : uint8_t { Pdu, Stream };
// Whether `scope: stream` applies to rules of `p`: protocols with a TCP byte stream of their own.
bool stream_scope_applies(RuleProtocol p);
enum class Track : uint8_t { BySrc, ByDst, ByBoth };

struct SourceMark {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string text() const;  // "FILE:LINE:COL"
};

struct Range {
  int64_t lo = 0, hi = 0;  // inclusive
  bool contains(int64_t v) const { return v >= lo && v <= hi; }
};

// One operation a rule names: the event protocol it applies to and its key (operation_vocabulary.hpp;
// ENIP encapsulation commands: the command code).
struct OperationRef {
  Protocol protocol;
  OpKey key;
};

// Conditions on the operation event; unset ones always hold.
struct FieldMatch {
  std::vector<OperationRef> operations;    // any of them
  std::vector<std::string> operation_text;  // canonical names, for messages
  std::optional<int64_t> subfunction, unit_id;
  std::optional<Range> address, quantity, s7_db;
  std::optional<bool> is_write;            // the operation writes (OpClass::Write)
  std::optional<int64_t> dnp3_object_group, s7_area, cip_class, cip_instance, cip_attribute;
  // Zone model conditions (names as in the site model; resolved when the rule set is built).
  std::string from_zone, to_zone, conduit;  // from: the connection's originator, to: its responder
  bool empty() const;
};

struct ContentPattern {
  std::string text;        // as written (literal with |hex| escapes, or the regex)
  std::string expression;  // the Hyperscan expression (content_pattern.hpp)
  bool regex = false;
  bool nocase = false;
  SourceMark mark;
};

struct Threshold {
  uint32_t count = 1;
  uint64_t seconds_ns = 0;
  Track track = Track::BySrc;
  bool operator==(const Threshold&) const = default;
};

struct Rule {
  uint64_t id = 0;
  std::string name;
  Severity severity = Severity::Medium;
  RuleProtocol protocol = RuleProtocol::Modbus;
  Direction direction = Direction::Any;
  Scope scope = Scope::Pdu;
  FieldMatch match;                     // a stream rule: zone conditions only
  std::vector<ContentPattern> content;  // all must match within the PDU (a stream rule: within the stream)
  std::optional<Threshold> threshold;
  std::vector<std::string> mitre;       // T08xx
  std::string mitre_text;               // "T0816,T0858" (notice.log's mitre column)
  std::vector<std::string> references;
  SourceMark mark;                      // the rule's mapping in its file
};

// Loads one rule file (a YAML list of rules) and appends its rules to `out`. On problems returns false
// and appends "FILE:LINE:COL: what is wrong, what was expected" lines to `errors` (every problem of the
// file, not only the first). Throws nothing.
bool load_rule_file(const std::string& path, std::vector<Rule>& out, std::vector<std::string>& errors);

// Loads several files; duplicate ids across all of them are errors naming both places. A file named
// twice (by the site model's `rules:` and by --rules) is read once.
bool load_rule_files(const std::vector<std::string>& paths, std::vector<Rule>& out, std::vector<std::string>& errors);

// The site model's `rules: [paths]` section: the files, relative paths resolved against the site file's
// directory. Appends problems as above; an absent section gives no files.
bool load_rules_section(const std::string& site_path, std::vector<std::string>& files, std::vector<std::string>& errors);

}  // namespace ots::rules
