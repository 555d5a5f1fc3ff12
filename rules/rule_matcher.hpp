// One worker's rule engine: its own Hyperscan scratch; scans an operation's PDU once against the
// database of its protocol and direction, then evaluates the field conditions of the rules whose
// patterns all matched and of the rules without content (allocates only at construction). Stream rules:
// the open Hyperscan streams of the worker's connections, fed their reassembled bytes
// (rules/rule_streams.cpp; each stream's state is allocated when it opens, at most max_streams).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "conduits/operation_vocabulary.hpp"
#include "dissectors/operation.hpp"
#include "rules/rule_database.hpp"
#include "rules/rule_streams.hpp"

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

  // Stream rules. The limits apply to streams opened from now on.
  void set_stream_limits(const StreamLimits& limits) { limits_ = limits; }
  bool has_stream_rules(RuleProtocol p) const { return db_.has_stream_rules(p); }
  // The next in-order bytes of one direction of a TCP connection whose protocol is `p`: scanned by the
  // stream rules of `p` and the direction, the stream opened on the first bytes. The rules that fired
  // (each at most once per connection direction); valid until the next stream call. `bound` says
  // whether these bytes hit the depth (the stream is closed, the rest of the direction not scanned) or
  // found max_streams open (not scanned); the direction stays unscanned until the connection ends.
  std::span<const StreamHit> stream_data(FlowStreams& fs, RuleProtocol p, bool to_server, std::span<const uint8_t> data,
                                         const FlowZones& zones, StreamBound& bound);
  // A hole in one direction's bytes (TCP content that never arrived): its streams start again after
  // it, so no pattern matches across the hole; rules that fired stay fired.
  void stream_gap(FlowStreams& fs, bool to_server);
  // Closes the connection's streams of `p` (RuleProtocol::Count_: all of them); patterns that match only
  // at the end of a stream (`$`) report now. `reload`: closed because the rule set is being replaced:
  // counted, nothing reported (the connection's zones may already be the reloaded model's).
  std::span<const StreamHit> stream_close(FlowStreams& fs, RuleProtocol p, const FlowZones& zones, bool reload = false);
  const StreamStats& stream_stats() const { return stream_stats_; }

 private:
  struct Stream {
    HsStream hs;
    const RuleDatabase::Slot* slot = nullptr;
    uint64_t scanned = 0;
    uint32_t next = FlowStreams::kNone;  // the connection's next stream, or the next free entry
    RuleProtocol protocol = RuleProtocol::Count_;
    bool to_server = false;
    std::vector<uint32_t> seen;   // pattern ids matched since the stream (re)started
    std::vector<uint32_t> fired;  // rules that fired on this direction
  };
  static void on_stream_pattern(unsigned id, void* self);
  void collect_stream_hits(Stream& st, const FlowZones& zones);
  void finish_stream(Stream& st, const FlowZones& zones);  // end of stream: its `$` matches are hits
  void release(uint32_t entry);
  void unlink_release(uint32_t* link);  // takes *link's entry out of its connection's chain, frees it
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
  // Stream rules: entries grow up to max_streams (freed ones are reused), so the Hyperscan states are
  // what the limit bounds.
  StreamLimits limits_;
  StreamStats stream_stats_;
  std::vector<Stream> streams_;
  uint32_t free_stream_ = FlowStreams::kNone;
  Stream* scanning_ = nullptr;            // during a stream scan
  std::vector<uint32_t> stream_complete_;  // rules whose every pattern matched in this stream scan
  std::vector<StreamHit> stream_hits_;
};

}  // namespace ots::rules
