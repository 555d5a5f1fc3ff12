// Symmetric flow hashing for dispatching packets to workers. The endpoints are put in a canonical order
// (lower address, then lower port, first) before mixing, so both directions hash alike; a commutative
// combination (xor, sum) would be symmetric too but collides on src == dst and on swapped ports.
#include <cstring>

#include "capture/decode.hpp"
#include "capture/decode_stages.hpp"

namespace ots {

namespace {

using decode_detail::Step;

// Stafford's variant 13 of the MurmurHash3 finalizer: cheap, and every input bit reaches every output bit.
inline uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t hash_tuple(const IpAddr& a, uint16_t pa, const IpAddr& b, uint16_t pb, uint8_t proto) {
  const uint64_t a0 = load64(a.bytes.data()), a1 = load64(a.bytes.data() + 8);
  const uint64_t b0 = load64(b.bytes.data()), b1 = load64(b.bytes.data() + 8);
  // Any total order will do (native word order, not the address's numeric one): it only has to pick
  // the same endpoint first for both directions.
  const bool swap = a0 != b0 ? a0 > b0 : a1 != b1 ? a1 > b1 : pa > pb;
  const uint64_t lo0 = swap ? b0 : a0, lo1 = swap ? b1 : a1, hi0 = swap ? a0 : b0, hi1 = swap ? a1 : b1;
  const uint64_t ports = (uint64_t{swap ? pb : pa} << 32) | (uint64_t{swap ? pa : pb} << 16) | proto;
  // Distinct odd multipliers per word keep the two endpoints' roles apart; the finalizer spreads the
  // few varying bits (an IPv4-mapped address varies in 32 of its 128) over the whole result.
  const uint64_t h = (lo0 * 0x9e3779b97f4a7c15ull) ^ (lo1 * 0xc2b2ae3d27d4eb4full) ^ (hi0 * 0x165667b19e3779f9ull) ^
                     (hi1 * 0xd6e8feb86659fd93ull) ^ (ports * 0x94d049bb133111ebull);
  return mix(h);
}

// The link and IP stages of Decoder::decode, without weirds or reassembly state; the IP stage's result.
// p.ip_version stays 0 unless addresses were read.
Step decode_to_ip(const PacketView& pkt, DecodedPacket& p, decode_detail::IpInfo& ip,
                  const decode_detail::Weirds& silent) {
  size_t l3_off = 0;
  const Step link = decode_detail::decode_link(pkt, p, l3_off, silent);
  if (link != Step::Ok) return link;
  const uint32_t wire = (pkt.wirelen > pkt.caplen ? pkt.wirelen : pkt.caplen) - static_cast<uint32_t>(l3_off);
  return decode_detail::decode_ip(pkt.bytes().subspan(l3_off), wire, false, p, ip, silent);
}

uint64_t host_pair_hash(const DecodedPacket& p) { return p.ip_version == 0 ? 0 : hash_tuple(p.src, 0, p.dst, 0, 0); }

}  // namespace

// Fragments (and datagrams rebuilt from them) hash on the addresses alone: later fragments carry no
// ports, and IPv6 fragments of one datagram may even name different next headers (RFC 8200 4.5).
uint64_t symmetric_flow_hash(const DecodedPacket& p) {
  if (p.ip_version == 0) return 0;
  if (p.from_fragments) return hash_tuple(p.src, 0, p.dst, 0, 0);
  return hash_tuple(p.src, p.sport, p.dst, p.dport, p.ip_proto);
}

// The same stages as Decoder::decode, so that for every packet the worker decodes this agrees with
// symmetric_flow_hash(DecodedPacket). Non-IP and malformed packets hash to 0: they are only counted,
// any worker will do.
uint64_t symmetric_flow_hash(const PacketView& pkt) {
  DecodedPacket p;
  decode_detail::IpInfo ip;
  const decode_detail::Weirds silent{};
  if (decode_to_ip(pkt, p, ip, silent) != Step::Ok || ip.fragment) return host_pair_hash(p);
  if (decode_detail::decode_transport(ip.proto, ip.l3.subspan(ip.hdr_len), ip.total_len - ip.hdr_len, false, p,
                                      silent) != Step::Ok) {
    return host_pair_hash(p);
  }
  return hash_tuple(p.src, p.sport, p.dst, p.dport, p.ip_proto);
}

uint64_t symmetric_host_pair_hash(const PacketView& pkt) {
  DecodedPacket p;
  decode_detail::IpInfo ip;
  const decode_detail::Weirds silent{};
  decode_to_ip(pkt, p, ip, silent);
  return host_pair_hash(p);
}

}  // namespace ots
