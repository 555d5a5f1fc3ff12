// Which zone an address belongs to: the longest matching prefix over the zones' IPv4 and IPv6 networks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "capture/net_types.hpp"
#include "zones/cidr.hpp"

namespace ots {

struct ZoneMatch {
  int16_t zone = -1;                // index into the site model's zones; -1: in no zone
  bool directed_broadcast = false;  // the all-ones address of the matched IPv4 network (/30 or shorter)
};

// The prefixes are flattened at start-up into sorted, non-overlapping address ranges per family, each
// labelled with the zone of the longest prefix covering it; a lookup is one binary search (about
// log2(2 * networks) compares: 8 for a 50-zone model), with no allocation. CIDR prefixes are either
// nested or disjoint, so the flattening is exact. IPv4 and IPv6 are kept apart: an IPv6 network
// never covers an IPv4 address.
class ZoneLookup {
 public:
  struct Network {
    Cidr cidr;
    int16_t zone;
  };
  // Identical prefixes must have been rejected by the loader (here the first one would win).
  void build(std::span<const Network> networks);
  ZoneMatch find(const IpAddr& a) const;

  // 128-bit unsigned without __int128 (which -Wpedantic rejects); members in compare order.
  struct U128 {
    uint64_t hi = 0, lo = 0;
    auto operator<=>(const U128&) const = default;
  };

 private:
  template <class K>
  struct Ranges {
    std::vector<K> starts;        // ascending; starts[0] is 0, so every address falls in a range
    std::vector<int16_t> zones;   // zone of range i, -1 for gaps
    std::vector<uint8_t> bcast;   // 1: range i ends at the all-ones address of its zone's IPv4 network
  };
  template <class K>
  static void flatten(Ranges<K>& out, std::span<const Network> networks, bool v4);
  template <class K>
  static ZoneMatch find_in(const Ranges<K>& r, K key);

  Ranges<uint32_t> v4_;
  Ranges<U128> v6_;
};

}  // namespace ots
