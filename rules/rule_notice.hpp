// What a rule hit tells the SOC: a Rule::Match notice (rule id, name, severity, MITRE ids).
#pragma once

#include <string_view>

#include "capture/flow.hpp"
#include "dissectors/operation.hpp"
#include "output/notice.hpp"
#include "rules/rule.hpp"
#include "rules/rule_streams.hpp"

namespace ots::rules {

inline constexpr std::string_view kRuleMatchNote = "Rule::Match";

// Fills everything but the zone columns (the worker knows the zone model): the connection, src (the
// originator) and dst (the responder), p, protocol, operation (when `ev` is given), severity, rule id,
// MITRE ids, msg naming the rule and sub with the operation's details.
void fill_rule_notice(const Rule& r, const Conn& c, const OperationEvent* ev, uint64_t ts_ns, Notice& n);
// The same for a stream rule's hit: no operation; sub names the direction and how far into it the
// rule's patterns had all matched.
void fill_rule_stream_notice(const Rule& r, const Conn& c, const StreamHit& hit, uint64_t ts_ns, Notice& n);

}  // namespace ots::rules
