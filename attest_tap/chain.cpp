#include "attest_tap/chain.hpp"

#include <fmt/format.h>

namespace ots::attest {

const TelemetryChain::Entry* TelemetryChain::seen(uint64_t seq) const {
  if (seq == 0 || ring_.empty()) return nullptr;
  const Entry& e = ring_[seq % kWindow];
  return e.seq == seq ? &e : nullptr;
}

Finding TelemetryChain::add(uint64_t seq, const Blake2b256& prev_hash, const Blake2b256& digest) {
  if (!started_) {
    started_ = true;
    ring_.assign(kWindow, Entry{});
    first_ = head_ = seq;
    slot(seq) = {seq, digest};
    // A chain may start anywhere (the sensor came up after the device); only seq 1 has a known predecessor.
    if (seq == 1 && !prev_hash.is_zero()) return {Verdict::ChainBroken, "seq 1 has a non-zero prev_hash"};
    return {};
  }
  const Blake2b256 head_digest = slot(head_).digest;
  if (seq > head_) {
    const uint64_t missing = seq - head_ - 1;
    slot(seq) = {seq, digest};
    const uint64_t previous = head_;
    head_ = seq;
    if (missing > 0)
      return {Verdict::ChainGap, fmt::format("{} record{} missing (seq {} to {})", missing, missing == 1 ? "" : "s",
                                             previous + 1, seq - 1)};
    if (prev_hash != head_digest)
      return {Verdict::ChainBroken, fmt::format("prev_hash is not the digest of seq {}", previous)};
    return {};
  }
  // At or behind the head.
  if (head_ - seq >= kWindow)
    return {Verdict::Replay, fmt::format("seq {} is older than the last {} records remembered (head {})", seq,
                                         kWindow, head_)};
  if (const Entry* e = seen(seq)) {
    if (e->digest == digest) return {Verdict::Replay, fmt::format("seq {} was seen before", seq)};
    return {Verdict::Fork, fmt::format("seq {} differs from the record seen before at that seq", seq)};
  }
  // Never seen: it fills a gap (or precedes the first record seen). It links if its predecessor is known.
  slot(seq) = {seq, digest};
  if (seq == 1 && !prev_hash.is_zero()) return {Verdict::ChainBroken, "seq 1 has a non-zero prev_hash"};
  if (const Entry* pred = seen(seq - 1); pred && pred->digest != prev_hash)
    return {Verdict::ChainBroken, fmt::format("late seq {}: prev_hash is not the digest of seq {}", seq, seq - 1)};
  if (seq < first_) return {Verdict::Late, fmt::format("precedes the first record seen (seq {})", first_)};
  return {Verdict::Late, "fills a reported gap"};
}

}  // namespace ots::attest
