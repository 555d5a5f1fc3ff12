// Stream rules (scope: stream, docs/RULES.md "Stream rules"): what a connection keeps for them, their
// bounds and what a worker counts. The matching itself is RuleMatcher's (rules/rule_streams.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

namespace ots::rules {

// The site model's sensor.rule_stream_depth_kb and sensor.rule_streams_max.
struct StreamLimits {
  // Bytes of each connection direction that stream rules scan (Suricata's stream.reassembly.depth,
  // 1 MiB by default there too): a program download or file transfer is usually far shorter, a
  // long-lived polling connection never ends, so it is the depth that bounds the work.
  uint64_t depth_bytes = 1u << 20;
  // Hyperscan streams open at once per worker; each holds RuleDatabase::stream_state_bytes().
  uint32_t max_streams = 65536;
};

// Counters since the start (stats JSON, the run's summary); every bound hit is also a weird.
struct StreamStats {
  uint64_t opened = 0;         // streams opened (one per connection direction and protocol)
  uint64_t open = 0;           // open now
  uint64_t peak = 0;           // most open at once
  uint64_t depth_reached = 0;  // directions whose bytes beyond depth_bytes went unscanned (rule_stream_depth_reached)
  uint64_t limit_reached = 0;  // directions not scanned because max_streams were open (rule_stream_limit_reached)
  uint64_t gaps = 0;           // streams started again after a TCP content gap
  uint64_t reload_closed = 0;  // streams closed by a reload (the new rules start afresh)
  uint64_t errors = 0;         // Hyperscan could not open or scan a stream

  StreamStats& operator+=(const StreamStats& o) {
    opened += o.opened;
    open += o.open;
    peak = std::max(peak, o.peak);
    depth_reached += o.depth_reached;
    limit_reached += o.limit_reached;
    gaps += o.gaps;
    reload_closed += o.reload_closed;
    errors += o.errors;
    return *this;
  }
};

// One connection's stream state: the chain of its open streams in its worker's RuleMatcher, and the
// (protocol, direction) pairs done for good (a bound was hit). 8 bytes, in the connection's AppState.
struct FlowStreams {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t first = kNone;
  uint16_t stopped = 0;  // bit protocol * 2 + to_server
  bool empty() const { return first == kNone; }
};

// A bound that bytes of a stream hit (the worker writes the weird).
enum class StreamBound : uint8_t { None, Depth, Limit };

struct StreamHit {
  uint32_t rule = 0;     // index into RuleDatabase::rules()
  bool to_server = false;
  uint64_t scanned = 0;  // bytes of the direction scanned when it fired: its last pattern ended within them
};

}  // namespace ots::rules
