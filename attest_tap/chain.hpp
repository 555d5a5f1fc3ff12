// One device's TELEMETRY hash chain (PROTOCOL.md, "Chain rules"): the head, and the last kWindow records
// as (seq, digest of the whole datagram) in a ring indexed by seq, for replay, fork and late decisions.
// Only records whose signature verified are given to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attest_tap/crypto.hpp"
#include "attest_tap/verdict.hpp"

namespace ots::attest {

class TelemetryChain {
 public:
  static constexpr uint64_t kWindow = 1024;

  // Decides one record and remembers it: Ok, ChainBroken, ChainGap (detail: how many are missing),
  // Replay, Fork or Late. ChainBroken and ChainGap records become the head; Replay, Fork and Late never
  // move it.
  Finding add(uint64_t seq, const Blake2b256& prev_hash, const Blake2b256& digest);

  bool started() const { return started_; }
  uint64_t head() const { return head_; }
  uint64_t first() const { return first_; }

 private:
  struct Entry {
    uint64_t seq = 0;  // 0: empty (seq counts from 1)
    Blake2b256 digest;
  };
  Entry& slot(uint64_t seq) { return ring_[seq % kWindow]; }
  const Entry* seen(uint64_t seq) const;  // the remembered record at seq, or nullptr

  bool started_ = false;
  uint64_t first_ = 0;  // the first record seen: earlier ones can only be late
  uint64_t head_ = 0;
  std::vector<Entry> ring_;  // kWindow entries once started (about 40 KiB)
};

}  // namespace ots::attest
