// The compiled rule set: the content patterns of PDU rules in Hyperscan block-mode databases and those
// of stream rules (scope: stream) in streaming-mode ones, one of each per event protocol and direction,
// built once at start-up (and on reload) and shared read-only by every worker; the rules without content
// listed per slot; zone conditions resolved against the site model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/hyperscan.hpp"
#include "rules/rule.hpp"

namespace ots {
class SitePolicy;
}

namespace ots::rules {

class RuleDatabase {
 public:
  static constexpr int16_t kAnyZone = -2;  // no zone condition

  // Compiles `rules`. `policy` resolves from_zone/to_zone/conduit (null or without zones: rules with such
  // conditions are errors). On problems returns null and appends "FILE:LINE:COL: ..." lines to `errors`:
  // unknown zones and conduits, patterns Hyperscan rejects (with Hyperscan's message). Throws nothing.
  static std::unique_ptr<RuleDatabase> build(std::vector<Rule> rules, const SitePolicy* policy,
                                             std::vector<std::string>& errors);

  // Per event protocol (RuleProtocol order) and direction.
  struct Slot {
    std::unique_ptr<HsDatabase> db;     // null when no rule of the slot has content
    std::vector<uint32_t> pattern_rule;  // pattern id -> rule index
    std::vector<uint32_t> field_only;    // rules of the slot without content, in rule order
    // The same rules indexed by what an event must have for them to hold, so that an event is checked
    // against the few rules that can fire: field-only rules without an operation condition, and
    // (code, rule) pairs, sorted, for those with one (the code: the low 16 bits of an operation key,
    // which is the event's code).
    std::vector<uint32_t> field_any;
    std::vector<std::pair<uint32_t, uint32_t>> field_by_code;
    // The database needs scanning only for events whose code a content rule's operation names, unless
    // a content rule has no operation condition.
    bool scan_always = false;
    std::vector<uint32_t> scan_codes;  // sorted
    bool wants_scan(uint32_t code) const;
    // Stream rules of the slot's protocol and direction: their patterns in one streaming-mode database,
    // scanned over a connection direction's reassembled bytes (RuleMatcher::stream_data).
    std::unique_ptr<HsDatabase> stream_db;  // null when the slot has no stream rule
    std::vector<uint32_t> stream_pattern_rule;  // pattern id -> rule index
  };
  const Slot& slot(RuleProtocol p, bool to_server) const { return slots_[static_cast<size_t>(p) * 2 + (to_server ? 1 : 0)]; }

  struct Zones {
    int16_t from = kAnyZone, to = kAnyZone, conduit = kAnyZone;
  };
  const std::vector<Rule>& rules() const { return rules_; }
  const Zones& zones(uint32_t rule) const { return zones_[rule]; }
  const Rule* find(uint64_t id) const;
  // A scratch sized for every database: each worker clones it (RuleMatcher).
  const HsScratch& scratch_prototype() const { return scratch_; }
  // Rules of a port-only protocol listen on this UDP port (RuleProtocol::Count_ when none).
  RuleProtocol udp_port_protocol(uint16_t port) const;
  size_t patterns() const { return patterns_; }
  size_t database_bytes() const;
  // Stream rules: how many, whether `p` has any (either direction), and the largest state one open
  // stream needs (what sensor.rule_streams_max multiplies).
  size_t stream_rules() const { return stream_rules_; }
  bool has_stream_rules(RuleProtocol p) const { return slot(p, true).stream_db || slot(p, false).stream_db; }
  size_t stream_state_bytes() const;

 private:
  RuleDatabase() = default;
  std::vector<Rule> rules_;
  std::vector<Zones> zones_;
  std::vector<Slot> slots_;
  std::vector<std::pair<uint64_t, uint32_t>> by_id_;  // sorted
  HsScratch scratch_;
  size_t patterns_ = 0;
  size_t stream_rules_ = 0;
};

// The sensor's one way to get a rule set: load the files (rule_yaml.cpp), then build. Null with every
// problem in `errors` ("FILE:LINE:COL: ...").
std::unique_ptr<RuleDatabase> load_rule_database(const std::vector<std::string>& files, const SitePolicy* policy,
                                                 std::vector<std::string>& errors);

}  // namespace ots::rules
