// Internal to ots_capture: the stages Decoder::decode() chains (link → IP → transport) and that the
// dispatcher's symmetric_flow_hash(PacketView) reuses, so both read headers exactly the same way.
// Each stage is a pure function of the bytes (no state, no allocation); weirds go through a Weirds
// whose sink may be null (the dispatcher decodes silently: the worker reports them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "capture/decode.hpp"

namespace ots::decode_detail {

enum class Step : uint8_t { Ok, NotIp, Malformed };

// Reports weirds of one packet, with the addresses and ports decoded so far.
struct Weirds {
  WeirdSink* sink = nullptr;          // null: count nothing, report nothing
  uint64_t ts_ns = 0;
  const DecodedPacket* pkt = nullptr;

  void report(std::string_view name, std::string addl = {}) const;
};

// Reports a weird about a known pair of addresses (fragment sets, which outlive their packets).
void report_weird(WeirdSink& sink, uint64_t ts_ns, std::string_view name, std::string addl, const IpAddr& src,
                  const IpAddr& dst);

// Link layer: sets MACs and VLAN ids and finds where the IP header starts. Ok means an IP ethertype
// (or address family) was found at `l3_off`; the IP stage reads the version nibble itself, as Zeek's
// IP analyzer does for both 0x0800 and 0x86dd.
Step decode_link(const PacketView& pkt, DecodedPacket& out, size_t& l3_off, const Weirds& w);

// What the IP stage learnt beyond the DecodedPacket fields.
struct IpInfo {
  std::span<const uint8_t> l3;  // captured bytes of the datagram, clipped to its total length (drops padding)
  uint32_t total_len = 0;       // the datagram's length as its header says
  uint32_t hdr_len = 0;         // bytes before the transport header (IPv6: with extension headers)
  uint8_t proto = 0;            // the transport protocol (IPv6: after the extension headers)
  bool complete = false;        // the capture holds all total_len bytes

  // Fragmentation (IPv4 MF/offset, or an IPv6 fragment header that is not atomic, RFC 6946).
  bool fragment = false;
  bool more_frags = false;
  bool dont_frag = false;
  uint32_t frag_id = 0;
  uint32_t frag_off = 0;        // bytes
  uint32_t unfrag_len = 0;      // bytes that precede the fragmentable part (IPv6: before the fragment header)
};

// IPv4 or IPv6 header (and IPv6 extension headers). `cap` is the captured IP part, `wire_len` its
// length on the wire. Fills ip_version, src, dst, ttl, ip_len and ip_proto of `out`.
Step decode_ip(std::span<const uint8_t> cap, uint32_t wire_len, bool verify_checksums, DecodedPacket& out,
               IpInfo& ip, const Weirds& w);

// Walks IPv6 extension headers from next-header `nh` at the start of `data` (`limit` bytes of which the
// IP header accounts for). Stops before a transport header, after a fragment header (`frag_at` set to
// its offset), or at ESP / No Next Header. `off` is where it stopped, `nh` the protocol found there.
// A type 0 routing header with segments left changes out.dst to the final destination, as Zeek's
// IPv6_Hdr_Chain does, so both directions of the flow meet.
Step walk_ipv6_ext(std::span<const uint8_t> data, uint32_t limit, uint8_t& nh, size_t& off, size_t& frag_at,
                   DecodedPacket& out, const Weirds& w);
constexpr size_t kNoFragHeader = ~size_t{0};

// Transport header. `seg` is the captured part of the IP payload, `seg_len` its length as the IP
// header says (seg.size() < seg_len when the snaplen cut the packet).
Step decode_transport(uint8_t proto, std::span<const uint8_t> seg, uint32_t seg_len, bool verify_checksums,
                      DecodedPacket& out, const Weirds& w);

// Zeek's ICMP4_counterpart / ICMP6_counterpart: the type of the reply for request/reply pairs (so that
// request and reply map to one conn_id), otherwise the code.
uint16_t icmp_counterpart(bool v6, uint8_t type, uint8_t code);

// RFC 1071 one's-complement sum, accumulated over several pieces (each of even length but the last).
uint64_t checksum_add(std::span<const uint8_t> data, uint64_t sum);
uint16_t checksum_fold(uint64_t sum);

}  // namespace ots::decode_detail
