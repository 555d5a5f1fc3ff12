// One worker's rule engine: its own Hyperscan scratch; scans an operation's PDU once against the
// database of its protocol and direction, then evaluates the field conditions of the rules whose
// patterns all matched and of the rules without content. Allocates only at construction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "conduits/operation_vocabulary.hpp"
#include "dissectors/operation.hpp"
#include "rules/rule_database.hpp"

namespace ots::rules {

// The connection's place in the zone model (-1: none), from its policy verdict.
struct FlowZones {
  int16_t orig = -1, resp = -1, conduit = -1;
};

class RuleMatcher {
 public:
  // Clones the database's scratch (start-up; throws std::runtime_error when Hyperscan cannot).
  explicit RuleMatcher(const RuleDatabase& db);

  // The rules (indices into db.rules(), ascending) that fire on `ev`; valid until the next call.
  std::span<const uint32_t> match(const OperationEvent& ev, const FlowZones& zones);
  // The same for one datagram of a port-only protocol (no fields but the payload).
  std::span<const uint32_t> match_datagram(RuleProtocol p, bool to_server, std::span<const uint8_t> payload,
                                           const FlowZones& zones);
  uint64_t scan_errors() const { return scan_errors_; }

 private:
  std::span<const uint32_t> run(RuleProtocol p, bool to_server, const OperationEvent* ev, std::span<const uint8_t> pdu,
                                const FlowZones& zones);
  bool holds(uint32_t rule, const OperationEvent* ev, const std::optional<PolicyOperation>& po,
             const FlowZones& zones) const;
  static void on_pattern(unsigned id, void* self);

  const RuleDatabase& db_;
  HsScratch scratch_;
  const RuleDatabase::Slot* slot_ = nullptr;  // during a scan
  std::vector<uint32_t> seen_gen_;            // per rule: the scan that last counted a pattern of it
  std::vector<uint16_t> seen_count_;          // per rule: patterns matched in that scan
  std::vector<uint32_t> complete_;            // rules whose every pattern matched (this scan)
  std::vector<uint32_t> hits_;
  uint32_t gen_ = 0;
  uint64_t scan_errors_ = 0;
};

}  // namespace ots::rules
