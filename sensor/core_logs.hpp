// The logs the sensor core owns: conn.log, conn_long.log (interim records) and weird.log.
// Schema: Zeek 7.2's base scripts (conn.log as since 7.1, with ip_proto), then our zone columns; see
// docs/LOGS.md.
#pragma once

#include <array>

#include "capture/flow.hpp"
#include "capture/weird.hpp"
#include "output/log_manager.hpp"
#include "output/log_schema.hpp"

namespace ots {

const LogSchema& conn_schema();
const LogSchema& conn_long_schema();
const LogSchema& weird_schema();

// conn.log's service column from the confirmed-service bits (module order).
void services_text(uint32_t services, std::string& out);

// The zone model's view of a connection: conn.log's extension columns (empty = unset).
struct ConnZones {
  std::string_view orig, resp, conduit;
};

void write_conn(LogSink& sink, LogId log, const Conn& c, const ConnZones& z);
// conn_long.log: the same columns as conn.log at an interim point (duration up to now_ns).
void write_conn_interim(LogSink& sink, LogId log, const Conn& c, const ConnZones& z, uint64_t now_ns);
// The uid texts of recent weird.log rows, by connection: weirds come in runs per connection (one per
// retransmitted segment), interleaved with other connections' on a busy link, and the uid text (a 96-bit
// base62 conversion) was the costliest column of the row. Direct-mapped, so a lookup is one compare.
class UidTextCache {
 public:
  std::string_view get(const Uid& u) {
    Slot& s = slots_[(u.hi ^ u.lo) % kSlots];
    if (s.text.len == 0 || s.uid != u) {
      s.uid = u;
      s.text = u.text();
    }
    return s.text.view();
  }

 private:
  static constexpr size_t kSlots = 256;
  struct Slot {
    Uid uid;
    UidText text;
  };
  std::array<Slot, kSlots> slots_{};
};
void write_weird(LogSink& sink, LogId log, const WeirdEvent& ev, UidTextCache& uids);

}  // namespace ots
