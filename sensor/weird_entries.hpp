// The weird filter's remembered (name, identifier) entries and the packet time each lasts until.
//
// Open addressing with linear probing, an entry a 64-byte slot holding its key, hash and time: a lookup
// reads one or two slots where std::unordered_map followed a bucket to a chain of nodes on the heap
// (_M_find_before_node was 2.9% of the worker's perf samples on the Modbus/DNP3 benchmark, the nodes
// scattered). Deletion shifts the entries behind back (no tombstones), so lookups stay short after
// expiry sweeps. The slots double past half full and are never given back, like the map's buckets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "capture/net_types.hpp"

namespace ots {

// (name, identifier): kind 0 net weird (no addresses), 1 flow weird (address pair), 2 connection
// (5-tuple), 3 originator host, 4 the name alone.
struct WeirdKey {
  IpAddr a, b;
  uint16_t pa = 0, pb = 0;
  uint32_t name = 0;
  uint8_t proto = 0, kind = 0;
  bool operator==(const WeirdKey&) const = default;
};

class WeirdEntries {
 public:
  static constexpr size_t npos = SIZE_MAX;

  // The index of k's entry, or npos.
  size_t find(const WeirdKey& k) const;
  // The index of k's entry, and whether it was added now (with `until`). Indexes hold until the next
  // insert or erase.
  std::pair<size_t, bool> insert(const WeirdKey& k, uint64_t until);
  uint64_t& until(size_t i) { return slots_[i].until; }
  void erase(size_t i);
  size_t size() const { return size_; }

 private:
  // Members without initialisers: grow() marks new slots unused and nothing else (zeroing 64 bytes a
  // slot on growth cost as much as the lookups of the benchmark capture, callgrind).
  struct Slot {
    WeirdKey key;
    uint32_t hash;
    uint64_t until;
    bool used;
  };
  static_assert(sizeof(Slot) <= 64, "a weird entry's slot outgrew a cache line");
  static uint32_t hash_of(const WeirdKey& k);
  void grow();

  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;  // slot count - 1 (none before the first insert)
  size_t size_ = 0;
};

}  // namespace ots
