// assets.log during a run (issue 8), not only at its end.
//
// What a Zeek user expects of an inventory log is what known_hosts.log and software.log do: a record when
// something is new or changed, appended to a log that rotates like every other (SIGHUP, logrotate), never a
// file rewritten in place under the SIEM's reader. So every sensor.inventory_interval_s of packet time (the
// run loop asks the workers for snapshots at a tick, sensor/capture_loop.cpp), and at the end, this writes
// one assets.log record per address that is new or changed since its last record:
// - periodically, a change is a new address, MAC, role, protocol, identity field or zone. last_seen alone is
//   not one: a device seen again is not news, and counting it would repeat every active device every
//   interval;
// - at the end, last_seen counts too, so that the last record of every address is its final state, the one
//   record a replay without interval writes (the same log as before).
// An address's first record has ts = first_seen (as the single record of a replay always had); a later one
// has ts = the packet time of the write that found the change, so that a record follows the one it updates
// in the log (logs are ordered by ts) and a reader wanting the current inventory takes the last record per
// `ip`, as with Zeek's known_* logs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "inventory/asset_inventory.hpp"
#include "output/log_manager.hpp"

namespace ots {

class SitePolicy;

class InventoryWriter {
 public:
  InventoryWriter(LogSink& sink, LogId log) : sink_(sink), log_(log) {}

  // The workers' snapshots at packet time now_ns (merged here, the same whatever -w is), addresses placed
  // in `policy`'s zones (null: none). `final`: the end of the run. Returns the records written.
  size_t write(std::span<const std::vector<Asset>> parts, const SitePolicy* policy, uint64_t now_ns, bool final);

 private:
  // What a record said of an address, as far as a periodic write compares it.
  struct Written {
    std::string state;       // every field but last_seen, serialised
    uint64_t last_seen_ns = 0;
  };

  LogSink& sink_;
  LogId log_;
  std::unordered_map<std::string, Written> written_;  // by address text
};

}  // namespace ots
