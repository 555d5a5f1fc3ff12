// Connection keys for the flow table: the canonical form of a packet's (address, port) pair, its hash,
// and the ICMP type pairing Zeek uses to put a request and its reply on one connection.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "capture/decode.hpp"
#include "capture/net_types.hpp"

namespace ots::flow {

// splitmix64's finalizer: the one mixing step behind the table hash and the uid.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// Zeek's ICMP4_counterpart / ICMP6_counterpart (packet_analysis/protocol/icmp/ICMP.cc): the type of the
// answer to a request (and back), so that both land on one connection; other types are "one-way" and
// use the code as their second port.
inline uint16_t icmp_counterpart(bool v6, uint16_t type, uint16_t code, bool& one_way) {
  one_way = false;
  if (!v6) {
    switch (type) {
      case 8: return 0;     // echo request -> reply
      case 0: return 8;
      case 13: return 14;   // timestamp
      case 14: return 13;
      case 15: return 16;   // information
      case 16: return 15;
      case 10: return 9;    // router solicitation -> advertisement
      case 9: return 10;
      case 17: return 18;   // address mask
      case 18: return 17;
      default: break;
    }
  } else {
    switch (type) {
      case 128: return 129;  // echo request -> reply
      case 129: return 128;
      case 133: return 134;  // router solicitation -> advertisement
      case 134: return 133;
      case 135: return 136;  // neighbour solicitation -> advertisement
      case 136: return 135;
      case 130: return 131;  // MLD query -> report
      case 131: return 130;
      case 139: return 140;  // node information query -> response
      case 140: return 139;
      case 144: return 145;  // home agent address discovery
      case 145: return 144;
      default: break;
    }
  }
  one_way = true;
  return code;
}

// What identifies a connection. Addresses and ports are stored in canonical order (the smaller
// (address, port) first) so both directions meet, except for one-way ICMP, which Zeek keys as seen.
// 48 bytes = six words for the hash.
struct FlowKey {
  uint8_t addr_a[16];
  uint8_t addr_b[16];
  uint16_t port_a = 0;
  uint16_t port_b = 0;
  uint16_t vlan = 0;
  uint16_t inner_vlan = 0;
  uint8_t ip_proto = 0;
  uint8_t one_way = 0;
  uint8_t pad[6] = {};
};
static_assert(sizeof(FlowKey) == 48);

// The packet's endpoints as the key sees them: for ICMP the ports are (type, counterpart-or-code).
struct PacketEnds {
  const IpAddr* src;
  const IpAddr* dst;
  uint16_t sport;
  uint16_t dport;
  bool one_way;
};

inline PacketEnds packet_ends(const DecodedPacket& p) {
  PacketEnds e{&p.src, &p.dst, p.sport, p.dport, false};
  if (p.l4 == Transport::Icmp || p.l4 == Transport::Icmp6) {
    // The counterpart ignores the code for request/reply types and is the code otherwise, so this holds
    // whether the decoder put the code or the counterpart into dport.
    e.dport = icmp_counterpart(p.l4 == Transport::Icmp6, p.sport, p.dport, e.one_way);
  } else if (p.l4 == Transport::Unknown) {
    e.sport = e.dport = 0;  // Zeek's UnknownIPTransport keys on addresses and protocol only
  }
  return e;
}

// The address's bytes as two numbers that order exactly as memcmp orders the bytes (big-endian words).
inline uint64_t ordered_word(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// Byte order of the address, then the port: which end a canonical key puts first. Compared as words,
// not with memcmp, since this runs for every packet.
inline bool ends_less(const IpAddr& a, uint16_t pa, const IpAddr& b, uint16_t pb) {
  const uint64_t a0 = ordered_word(a.bytes.data()), b0 = ordered_word(b.bytes.data());
  if (a0 != b0) return a0 < b0;
  const uint64_t a1 = ordered_word(a.bytes.data() + 8), b1 = ordered_word(b.bytes.data() + 8);
  if (a1 != b1) return a1 < b1;
  return pa < pb;
}

inline FlowKey make_key(const PacketEnds& e, uint16_t vlan, uint16_t inner_vlan, uint8_t ip_proto) {
  FlowKey k;
  const bool swap = !e.one_way && ends_less(*e.dst, e.dport, *e.src, e.sport);
  std::memcpy(k.addr_a, (swap ? e.dst : e.src)->bytes.data(), 16);
  std::memcpy(k.addr_b, (swap ? e.src : e.dst)->bytes.data(), 16);
  k.port_a = swap ? e.dport : e.sport;
  k.port_b = swap ? e.sport : e.dport;
  k.vlan = vlan;
  k.inner_vlan = inner_vlan;
  k.ip_proto = ip_proto;
  k.one_way = e.one_way ? 1 : 0;
  return k;
}

inline FlowKey make_key(const PacketEnds& e, const DecodedPacket& p) {
  return make_key(e, p.vlan, p.inner_vlan, p.ip_proto);
}

// Six-word hash of the key, seeded; with different seeds it gives the table hash and the uid halves.
inline uint64_t hash_key(const FlowKey& k, uint64_t seed, uint64_t extra = 0) {
  uint64_t w[6];
  std::memcpy(w, &k, sizeof w);
  uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15ull);
  for (uint64_t x : w) h = mix64(h ^ x) + 0x9e3779b97f4a7c15ull;
  return mix64(h ^ extra);
}

// The flow table's hash: one multiply per word and one mixing step, about a third of hash_key's cost.
// It only spreads keys over the table (equal hashes are compared in full), so it need not be as strong
// as the uid's.
inline uint32_t table_hash(const FlowKey& k) {
  uint64_t w[6];
  std::memcpy(w, &k, 32);  // the addresses, stored whole by make_key
  // The last two words from the fields, as a little-endian load of them would give, not loaded: the key
  // is built on the stack just before (hash_of), and an 8-byte load over fields stored a byte or two at a
  // time cannot be forwarded from the store buffer (a stall of about a dozen cycles a packet, perf).
  w[4] = uint64_t{k.port_a} | uint64_t{k.port_b} << 16 | uint64_t{k.vlan} << 32 | uint64_t{k.inner_vlan} << 48;
  w[5] = uint64_t{k.ip_proto} | uint64_t{k.one_way} << 8;
  const uint64_t h = w[0] * 0x9e3779b97f4a7c15ull + w[1] * 0xc2b2ae3d27d4eb4full + w[2] * 0x165667b19e3779f9ull +
                     w[3] * 0xd6e8feb86659fd93ull + w[4] * 0xff51afd7ed558ccdull + w[5] * 0xc4ceb9fe1a85ec53ull;
  const uint64_t m = mix64(h);
  return static_cast<uint32_t>(m >> 32) ^ static_cast<uint32_t>(m);
}

constexpr uint64_t kTableSeed = 0x6f74732d666c6f77ull;  // "ots-flow"
constexpr uint64_t kUidSeedHi = 0x6f74732d75696431ull;
constexpr uint64_t kUidSeedLo = 0x6f74732d75696432ull;

// The connection's uid: 96 bits of hash over the canonical key and the first packet's time, so a replay
// gives the same uids on any number of workers. Never zero (an unset Uid means "no connection").
inline Uid make_uid(const FlowKey& k, uint64_t first_ts_ns) {
  Uid u;
  u.hi = hash_key(k, kUidSeedHi, first_ts_ns);
  u.lo = static_cast<uint32_t>(hash_key(k, kUidSeedLo, first_ts_ns) >> 32);
  if (!u.is_set()) u.lo = 1;
  return u;
}

}  // namespace ots::flow
