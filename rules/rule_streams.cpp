// Stream rules (scope: stream): each connection direction of a protocol with stream rules gets one
// Hyperscan stream of that protocol and direction's streaming database, fed the bytes its dissector
// receives, so that a rule's patterns match across segments and PDUs. Bounded by a depth per direction
// and a number of open streams per worker; reset at TCP content gaps.
#include <algorithm>

#include "rules/rule_matcher.hpp"

namespace ots::rules {

namespace {

uint16_t stop_bit(RuleProtocol p, bool to_server) {
  return static_cast<uint16_t>(1u << (static_cast<unsigned>(p) * 2 + (to_server ? 1 : 0)));
}
static_assert(kRuleProtocols * 2 <= 16, "FlowStreams::stopped has a bit per protocol and direction");

}  // namespace

void RuleMatcher::on_stream_pattern(unsigned id, void* p) {
  auto* self = static_cast<RuleMatcher*>(p);
  Stream& st = *self->scanning_;
  const std::vector<uint32_t>& owner = st.slot->stream_pattern_rule;
  const uint32_t rule = owner[id];
  // Single-match patterns report once per stream (until a gap resets it), so the rule's patterns seen
  // reaching its number of patterns means all of them matched, in any order, in any PDUs.
  st.seen.push_back(id);
  const auto n = std::count_if(st.seen.begin(), st.seen.end(), [&](uint32_t s) { return owner[s] == rule; });
  if (static_cast<size_t>(n) != self->db_.rules()[rule].content.size()) return;
  if (std::find(st.fired.begin(), st.fired.end(), rule) != st.fired.end()) return;
  // Fired even when its zone conditions do not hold: they are the connection's and will not start to.
  st.fired.push_back(rule);
  self->stream_complete_.push_back(rule);
}

void RuleMatcher::collect_stream_hits(Stream& st, const FlowZones& zones) {
  std::sort(stream_complete_.begin(), stream_complete_.end());
  for (const uint32_t r : stream_complete_)
    if (holds(r, nullptr, std::nullopt, zones)) stream_hits_.push_back({r, st.to_server, st.scanned});
  stream_complete_.clear();
}

void RuleMatcher::finish_stream(Stream& st, const FlowZones& zones) {
  scanning_ = &st;
  st.hs.close(&scratch_, &RuleMatcher::on_stream_pattern, this);
  scanning_ = nullptr;
  collect_stream_hits(st, zones);
}

void RuleMatcher::unlink_release(uint32_t* link) {
  const uint32_t e = *link;
  *link = streams_[e].next;
  release(e);
}

void RuleMatcher::release(uint32_t entry) {
  Stream& st = streams_[entry];
  st.hs.close(nullptr, nullptr, nullptr);
  st.seen.clear();  // the vectors keep their capacity for the entry's next stream
  st.fired.clear();
  st.scanned = 0;
  st.slot = nullptr;
  st.next = free_stream_;
  free_stream_ = entry;
  --stream_stats_.open;
}

std::span<const StreamHit> RuleMatcher::stream_data(FlowStreams& fs, RuleProtocol p, bool to_server,
                                                    std::span<const uint8_t> data, const FlowZones& zones,
                                                    StreamBound& bound) {
  stream_hits_.clear();
  bound = StreamBound::None;
  const RuleDatabase::Slot& slot = db_.slot(p, to_server);
  const uint16_t bit = stop_bit(p, to_server);
  if (!slot.stream_db || data.empty() || (fs.stopped & bit)) return {};
  // `link` is where the direction's entry hangs in the connection's chain, for the depth bound's unlink.
  uint32_t* link = &fs.first;
  while (*link != FlowStreams::kNone && (streams_[*link].protocol != p || streams_[*link].to_server != to_server))
    link = &streams_[*link].next;
  uint32_t e = *link;
  if (e == FlowStreams::kNone) {
    if (stream_stats_.open >= limits_.max_streams) {
      fs.stopped |= bit;
      ++stream_stats_.limit_reached;
      bound = StreamBound::Limit;
      return {};
    }
    if (free_stream_ != FlowStreams::kNone) {
      e = free_stream_;
      free_stream_ = streams_[e].next;
    } else {
      e = static_cast<uint32_t>(streams_.size());
      streams_.emplace_back();
    }
    Stream& st = streams_[e];
    ++stream_stats_.open;
    if (!st.hs.open(*slot.stream_db)) {
      ++stream_stats_.errors;
      fs.stopped |= bit;
      release(e);
      return {};
    }
    st.slot = &slot;
    st.protocol = p;
    st.to_server = to_server;
    st.next = fs.first;
    fs.first = e;
    link = &fs.first;
    ++stream_stats_.opened;
    stream_stats_.peak = std::max(stream_stats_.peak, stream_stats_.open);
  }
  Stream& st = streams_[e];
  const uint64_t room = limits_.depth_bytes - st.scanned;
  const size_t take = static_cast<size_t>(std::min<uint64_t>(room, data.size()));
  if (take) {
    scanning_ = &st;
    if (!st.hs.scan(scratch_, data.first(take), &RuleMatcher::on_stream_pattern, this)) ++stream_stats_.errors;
    scanning_ = nullptr;
    st.scanned += take;
    collect_stream_hits(st, zones);
  }
  if (take < data.size()) {
    // The depth: what the direction carries beyond it is not scanned; the stream ends here (its
    // end-of-stream matches are reported) and the bound is said, never silently.
    finish_stream(st, zones);
    unlink_release(link);
    fs.stopped |= bit;
    ++stream_stats_.depth_reached;
    bound = StreamBound::Depth;
  }
  return stream_hits_;
}

void RuleMatcher::stream_gap(FlowStreams& fs, bool to_server) {
  for (uint32_t e = fs.first; e != FlowStreams::kNone; e = streams_[e].next) {
    Stream& st = streams_[e];
    if (st.to_server != to_server) continue;
    if (!st.hs.reset()) ++stream_stats_.errors;
    st.seen.clear();
    ++stream_stats_.gaps;
  }
}

std::span<const StreamHit> RuleMatcher::stream_close(FlowStreams& fs, RuleProtocol p, const FlowZones& zones,
                                                     bool reload) {
  stream_hits_.clear();
  uint32_t* link = &fs.first;
  while (*link != FlowStreams::kNone) {
    Stream& st = streams_[*link];
    if (p != RuleProtocol::Count_ && st.protocol != p) {
      link = &st.next;
      continue;
    }
    if (reload) {
      ++stream_stats_.reload_closed;  // release() frees it unreported
    } else {
      finish_stream(st, zones);
    }
    unlink_release(link);
  }
  return stream_hits_;
}

}  // namespace ots::rules
