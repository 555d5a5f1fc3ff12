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
};

}  // namespace ots
