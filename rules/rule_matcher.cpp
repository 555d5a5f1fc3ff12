#include "rules/rule_matcher.hpp"

#include <algorithm>

#include "conduits/operation_vocabulary.hpp"

namespace ots::rules {

namespace {

// Requests are keyed as the conduit policy keys them (qualified Modbus diagnostics, S7 userdata, the
// CIP Connection Manager's meanings); what the policy never checks (responses, DNP3 confirm, S7
// download parts) by its code, and sub-function when the rule names one. `po`: policy_operation(ev),
// computed once per event.
bool operation_holds(const std::vector<OperationRef>& ops, const OperationEvent& ev,
                     const std::optional<PolicyOperation>& po) {
  for (const OperationRef& r : ops) {
    if (r.protocol != ev.protocol) continue;
    if (ev.protocol == Protocol::Enip) {
      if (r.key == ev.code) return true;
      continue;
    }
    if (po) {
      if (r.key == po->primary || r.key == po->parent) return true;
      continue;
    }
    const uint32_t qual = r.key >> 16;
    if ((r.key & 0xFFFF) == (ev.code & 0xFFFF) && (qual == 0 || static_cast<int64_t>(qual) - 1 == ev.subfunction))
      return true;
  }
  return false;
}

template <class T>
bool eq(const std::optional<int64_t>& want, T have) {
  return !want || *want == static_cast<int64_t>(have);
}

bool in(const std::optional<Range>& want, int64_t have) { return !want || (have >= 0 && want->contains(have)); }

}  // namespace

RuleMatcher::RuleMatcher(const RuleDatabase& db)
    : db_(db),
      scratch_(db.scratch_prototype().clone()),
      seen_gen_(db.rules().size(), 0),
      seen_count_(db.rules().size(), 0) {
  complete_.reserve(db.rules().size());
  hits_.reserve(db.rules().size());
}

void RuleMatcher::on_pattern(unsigned id, void* p) {
  auto* self = static_cast<RuleMatcher*>(p);
  const uint32_t rule = self->slot_->pattern_rule[id];
  if (self->seen_gen_[rule] != self->gen_) {
    self->seen_gen_[rule] = self->gen_;
    self->seen_count_[rule] = 0;
  }
  // Single-match patterns: each reports once per scan, so the count reaching the rule's number of
  // patterns means all of them matched.
  if (++self->seen_count_[rule] == self->db_.rules()[rule].content.size()) self->complete_.push_back(rule);
}

bool RuleMatcher::holds(uint32_t rule, const OperationEvent* ev, const std::optional<PolicyOperation>& po,
                        const FlowZones& z) const {
  const RuleDatabase::Zones& rz = db_.zones(rule);
  if (rz.from != RuleDatabase::kAnyZone && rz.from != z.orig) return false;
  if (rz.to != RuleDatabase::kAnyZone && rz.to != z.resp) return false;
  if (rz.conduit != RuleDatabase::kAnyZone && rz.conduit != z.conduit) return false;
  if (!ev) return true;  // a datagram: port-only rules have no field conditions
  const FieldMatch& m = db_.rules()[rule].match;
  if (!m.operations.empty() && !operation_holds(m.operations, *ev, po)) return false;
  if (m.is_write && *m.is_write != (ev->op_class == OpClass::Write)) return false;
  return eq(m.subfunction, ev->subfunction) && eq(m.unit_id, ev->unit) && in(m.address, ev->address) &&
         in(m.quantity, ev->quantity) && eq(m.dnp3_object_group, ev->dnp3_object_group) && eq(m.s7_area, ev->s7_area) &&
         in(m.s7_db, ev->s7_db) && eq(m.cip_class, ev->cip_class) && eq(m.cip_instance, ev->cip_instance) &&
         eq(m.cip_attribute, ev->cip_attribute);
}

std::span<const uint32_t> RuleMatcher::run(RuleProtocol p, bool to_server, const OperationEvent* ev,
                                           std::span<const uint8_t> pdu, const FlowZones& zones) {
  hits_.clear();
  const RuleDatabase::Slot& s = db_.slot(p, to_server);
  const std::optional<PolicyOperation> po = ev ? policy_operation(*ev) : std::nullopt;
  // Port-only protocols (no event) always scan; operation events only when a content rule can hold.
  if (s.db && !pdu.empty() && (!ev || s.wants_scan(ev->code))) {
    if (++gen_ == 0) {  // wrapped: forget every stamp
      std::fill(seen_gen_.begin(), seen_gen_.end(), 0);
      gen_ = 1;
    }
    complete_.clear();
    slot_ = &s;
    if (!hs_scan_block(*s.db, scratch_, pdu, &RuleMatcher::on_pattern, this)) ++scan_errors_;
    slot_ = nullptr;
    for (const uint32_t r : complete_)
      if (holds(r, ev, po, zones)) hits_.push_back(r);
  }
  if (!ev) {
    for (const uint32_t r : s.field_only)
      if (holds(r, ev, po, zones)) hits_.push_back(r);
  } else {
    for (const uint32_t r : s.field_any)
      if (holds(r, ev, po, zones)) hits_.push_back(r);
    const uint32_t code = ev->code & 0xFFFF;
    auto it = std::lower_bound(s.field_by_code.begin(), s.field_by_code.end(), std::make_pair(code, uint32_t{0}));
    for (; it != s.field_by_code.end() && it->first == code; ++it)
      if (holds(it->second, ev, po, zones)) hits_.push_back(it->second);
  }
  std::sort(hits_.begin(), hits_.end());
  return hits_;
}

std::span<const uint32_t> RuleMatcher::match(const OperationEvent& ev, const FlowZones& zones) {
  return run(rule_protocol(ev.protocol), ev.is_orig, &ev, ev.pdu, zones);
}

std::span<const uint32_t> RuleMatcher::match_datagram(RuleProtocol p, bool to_server, std::span<const uint8_t> payload,
                                                      const FlowZones& zones) {
  return run(p, to_server, nullptr, payload, zones);
}

}  // namespace ots::rules
