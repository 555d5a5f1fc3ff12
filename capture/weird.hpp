// Weirds: protocol violations and oddities, reported as values, written to weird.log (Zeek's format).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "capture/net_types.hpp"

namespace ots {

struct WeirdEvent {
  uint64_t ts_ns = 0;
  // Zeek's weird name where Zeek has one (e.g. "truncated_IP", "bad_TCP_checksum",
  // "fragment_overlap"); ours are lower_snake_case in the same style ("modbus_bad_length").
  std::string_view name;
  std::string addl;            // detail, may be empty
  Uid uid;                     // unset when no connection is known
  ConnId id;                   // filled as far as known: addresses may be set without a connection
  bool has_addrs = false;      // id.orig_h/resp_h are meaningful even without a connection
  bool is_orig = false;
  std::string_view source;     // the stage that saw it: "decode", "tcp", "modbus", ...
};

class WeirdSink {
 public:
  virtual ~WeirdSink() = default;
  virtual void weird(const WeirdEvent& ev) = 0;

  // Repeats the sink counts and drops (sensor/weird_filter.hpp logs a weird once per identifier within
  // its 10 minutes). A retransmitting connection raises the same weird on nearly every segment (on the
  // Modbus benchmark capture, 35 k of 38 k weirds were dropped repeats), and building each event only
  // to drop it cost more than the segment's reassembly. A caller that sees such runs sends the first
  // weird through weird_hinted(), keeps the hint, and offers each repeat (same name, same identifier:
  // for a connection, the same ConnId) to weird_repeated(), which counts it and says true when the
  // hint still holds, so that the event need not be built; false: send it through weird_hinted() again.
  struct RepeatHint {
    uint64_t until_ns = 0;  // a repeat before this packet time is dropped...
    uint64_t epoch = 0;     // ...while the sink has forgotten nothing since (its epoch is still this)
    uint32_t name = 0;      // the sink's index of the name
    bool valid = false;
  };
  // weird(), and a hint when the sink has one. The default gives none: every weird goes through weird().
  virtual RepeatHint weird_hinted(const WeirdEvent& ev) {
    weird(ev);
    return {};
  }
  // Counts a repeat of the hinted weird `name` at ts_ns and says true when the hint covers it (it is
  // dropped, as weird() would have dropped it); false changes nothing.
  virtual bool weird_repeated(const RepeatHint& /*hint*/, std::string_view /*name*/, uint64_t /*ts_ns*/) {
    return false;
  }
};

}  // namespace ots
