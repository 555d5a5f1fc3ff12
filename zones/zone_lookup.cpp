#include "zones/zone_lookup.hpp"

#include <algorithm>
#include <limits>

namespace ots {

namespace {

using U128 = ZoneLookup::U128;

// Key arithmetic for the two families.
uint32_t key_max(uint32_t) { return std::numeric_limits<uint32_t>::max(); }
U128 key_max(U128) { return {~0ull, ~0ull}; }
uint32_t key_dec(uint32_t k) { return k - 1; }
U128 key_dec(U128 k) {
  if (k.lo == 0) --k.hi;
  --k.lo;
  return k;
}
uint32_t key_inc(uint32_t k) { return k + 1; }
U128 key_inc(U128 k) {
  if (++k.lo == 0) ++k.hi;
  return k;
}

uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
uint32_t key_of_v4(const IpAddr& a) {
  return (uint32_t(a.bytes[12]) << 24) | (uint32_t(a.bytes[13]) << 16) | (uint32_t(a.bytes[14]) << 8) | a.bytes[15];
}
U128 key_of_v6(const IpAddr& a) { return {load_be64(a.bytes.data()), load_be64(a.bytes.data() + 8)}; }

// First and last address of a prefix.
void bounds(const Cidr& c, uint32_t& first, uint32_t& last) {
  first = key_of_v4(c.addr);
  const uint32_t host = c.len == 0 ? ~0u : (c.len >= 32 ? 0u : (~0u >> c.len));
  last = first | host;
}
void bounds(const Cidr& c, U128& first, U128& last) {
  first = key_of_v6(c.addr);
  const uint64_t hi_host = c.len == 0 ? ~0ull : (c.len >= 64 ? 0ull : (~0ull >> c.len));
  const uint64_t lo_host = c.len <= 64 ? ~0ull : (c.len >= 128 ? 0ull : (~0ull >> (c.len - 64)));
  last = {first.hi | hi_host, first.lo | lo_host};
}

}  // namespace

template <class K>
void ZoneLookup::flatten(Ranges<K>& out, std::span<const Network> networks, bool v4) {
  struct Prefix {
    K first, last;
    uint8_t len;
    int16_t zone;
    bool has_broadcast;
  };
  std::vector<Prefix> prefixes;
  for (const Network& n : networks) {
    if (n.cidr.is_v4() != v4) continue;
    Prefix p{};
    bounds(n.cidr, p.first, p.last);
    p.len = n.cidr.len;
    p.zone = n.zone;
    // RFC 919 directed broadcast; /31 (RFC 3021) and /32 have none.
    p.has_broadcast = v4 && n.cidr.len <= 30;
    prefixes.push_back(p);
  }
  // By first address, then shortest first, so that an enclosing prefix is opened before those inside it.
  std::stable_sort(prefixes.begin(), prefixes.end(), [](const Prefix& a, const Prefix& b) {
    return a.first != b.first ? a.first < b.first : a.len < b.len;
  });
  const K kMax = key_max(K{});
  std::vector<K> cuts{K{}};
  for (const Prefix& p : prefixes) {
    cuts.push_back(p.first);
    if (p.last != kMax) cuts.push_back(key_inc(p.last));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  out = {};
  std::vector<const Prefix*> open;  // the chain of nested prefixes covering the current cut
  size_t next = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    const K at = cuts[i];
    while (!open.empty() && open.back()->last < at) open.pop_back();
    while (next < prefixes.size() && prefixes[next].first == at) {
      // An identical prefix (rejected by the loader) would change nothing: the first one stays.
      if (open.empty() || !(open.back()->first == at && open.back()->len == prefixes[next].len))
        open.push_back(&prefixes[next]);
      ++next;
    }
    const K end = i + 1 < cuts.size() ? key_dec(cuts[i + 1]) : kMax;
    const int16_t zone = open.empty() ? int16_t(-1) : open.back()->zone;
    const uint8_t bcast = !open.empty() && open.back()->has_broadcast && open.back()->last == end;
    // Merge with the previous range when nothing tells them apart.
    if (!out.zones.empty() && out.zones.back() == zone && !out.bcast.back()) {
      out.bcast.back() = bcast;
      continue;
    }
    out.starts.push_back(at);
    out.zones.push_back(zone);
    out.bcast.push_back(bcast);
  }
}

template <class K>
ZoneMatch ZoneLookup::find_in(const Ranges<K>& r, K key) {
  if (r.starts.empty()) return {};
  // The last range starting at or before `key` (starts[0] is 0, so there is one). Branch-free halving:
  // addresses of new flows are random to the branch predictor, and a mispredicted step costs more
  // than the compare.
  const K* base = r.starts.data();
  size_t n = r.starts.size();
  while (n > 1) {
    const size_t half = n / 2;
    base = base[half] <= key ? base + half : base;
    n -= half;
  }
  const size_t i = static_cast<size_t>(base - r.starts.data());
  ZoneMatch m;
  m.zone = r.zones[i];
  if (r.bcast[i]) {
    const K end = i + 1 < r.starts.size() ? key_dec(r.starts[i + 1]) : key_max(K{});
    m.directed_broadcast = key == end;
  }
  return m;
}

void ZoneLookup::build(std::span<const Network> networks) {
  flatten(v4_, networks, true);
  flatten(v6_, networks, false);
}

ZoneMatch ZoneLookup::find(const IpAddr& a) const {
  return a.is_v4() ? find_in(v4_, key_of_v4(a)) : find_in(v6_, key_of_v6(a));
}

}  // namespace ots
