// Transport headers: TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792) and ICMPv6 (RFC 4443). Checks and
// weird names follow Zeek's TCP, UDP and ICMP packet analyzers and IPBasedAnalyzer::CheckHeaderTrunc.
#include <string>

#include "capture/byte_reader.hpp"
#include "capture/decode_stages.hpp"

namespace ots::decode_detail {

namespace {

constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmp6 = 58, kNoNext = 59;

// Zeek's IPBasedAnalyzer::CheckHeaderTrunc: the IP header says the transport header cannot fit
// ("truncated_header"), or it would but the capture stops inside it ("internally_truncated_header").
inline bool header_present(size_t min_len, std::span<const uint8_t> seg, uint32_t seg_len, const Weirds& w) {
  if (seg_len < min_len) {
    w.report("truncated_header");
    return false;
  }
  if (seg.size() < min_len) {
    w.report("internally_truncated_header");
    return false;
  }
  return true;
}

// Sum of the RFC 9293 3.1 / RFC 8200 8.1 pseudo-header. For IPv6 the destination is the final one when a
// routing header named it, which decode_ip already put in out.dst.
uint64_t pseudo_header_sum(const DecodedPacket& p, uint8_t proto, uint32_t len) {
  uint64_t sum = 0;
  if (p.ip_version == 4) {
    sum = checksum_add(std::span<const uint8_t>(p.src.bytes).subspan(12), sum);
    sum = checksum_add(std::span<const uint8_t>(p.dst.bytes).subspan(12), sum);
  } else {
    sum = checksum_add(p.src.bytes, sum);
    sum = checksum_add(p.dst.bytes, sum);
  }
  return sum + proto + (len >> 16) + (len & 0xffff);
}

bool checksum_ok(const DecodedPacket& p, uint8_t proto, std::span<const uint8_t> seg, bool pseudo) {
  uint64_t sum = pseudo ? pseudo_header_sum(p, proto, static_cast<uint32_t>(seg.size())) : 0;
  return checksum_fold(checksum_add(seg, sum)) == 0xffff;
}

Step decode_tcp(std::span<const uint8_t> seg, uint32_t seg_len, bool verify, DecodedPacket& out, const Weirds& w) {
  out.l4 = Transport::Tcp;
  if (!header_present(20, seg, seg_len, w)) return Step::Malformed;
  FixedBytes<20> h;
  if (!FixedBytes<20>::from(seg, h)) return Step::Malformed;  // header_present checked the 20 bytes
  const uint16_t sport = h.u16be<0>(), dport = h.u16be<2>();
  const uint8_t off = h.u8<12>();
  out.sport = sport;
  out.dport = dport;
  const uint32_t hdr_len = uint32_t{static_cast<uint8_t>(off >> 4)} * 4;
  if (hdr_len < 20) {
    w.report("bad_TCP_header_len");
    return Step::Malformed;
  }
  // Zeek reports options running past the segment or past the capture alike.
  if (hdr_len > seg_len || hdr_len > seg.size()) {
    w.report("truncated_header");
    return Step::Malformed;
  }
  out.seq = h.u32be<4>();
  out.ack = h.u32be<8>();
  out.tcp_flags = h.u8<13>();  // the NS bit (RFC 3540, historic) in `off` is ignored, as Zeek does
  out.window = h.u16be<14>();
  out.payload = seg.subspan(hdr_len);
  out.payload_len = seg_len - hdr_len;
  // Only a complete segment can be checked (Zeek: caplen >= len).
  if (verify && seg.size() >= seg_len && !checksum_ok(out, kTcp, seg, true)) {
    out.bad_checksum = true;
    w.report("bad_TCP_checksum");
  }
  return Step::Ok;
}

Step decode_udp(std::span<const uint8_t> seg, uint32_t seg_len, bool verify, DecodedPacket& out, const Weirds& w) {
  out.l4 = Transport::Udp;
  if (!header_present(8, seg, seg_len, w)) return Step::Malformed;
  FixedBytes<8> h;
  if (!FixedBytes<8>::from(seg, h)) return Step::Malformed;  // header_present checked the 8 bytes
  const uint16_t ulen = h.u16be<4>(), cksum = h.u16be<6>();
  out.sport = h.u16be<0>();
  out.dport = h.u16be<2>();
  out.payload = seg.subspan(8);
  out.payload_len = seg_len - 8;
  if (verify && seg.size() >= seg_len) {
    // A zero checksum means "none" over IPv4 (RFC 768); over IPv6 it is mandatory (RFC 8200 8.1).
    const bool skip = cksum == 0 && out.ip_version == 4;
    if (!skip && !checksum_ok(out, kUdp, seg, true)) {
      out.bad_checksum = true;
      w.report("bad_UDP_checksum");
      return Step::Ok;  // Zeek stops at the bad checksum: no length check
    }
  }
  // Zeek goes on with the IP payload length; the UDP length only earns a weird.
  if (ulen != seg_len) {
    w.report("UDP_datagram_length_mismatch", std::to_string(ulen) + " != " + std::to_string(seg_len));
  }
  return Step::Ok;
}

Step decode_icmp(uint8_t proto, std::span<const uint8_t> seg, uint32_t seg_len, bool verify, DecodedPacket& out,
                 const Weirds& w) {
  const bool v6 = proto == kIcmp6;
  out.l4 = v6 ? Transport::Icmp6 : Transport::Icmp;
  if (!header_present(8, seg, seg_len, w)) return Step::Malformed;  // Zeek's ICMP_MINLEN
  const uint8_t type = seg[0], code = seg[1];
  out.sport = type;
  out.dport = icmp_counterpart(v6, type, code);
  out.payload = seg.subspan(8);
  out.payload_len = seg_len - 8;
  if (verify && seg.size() >= seg_len && !checksum_ok(out, proto, seg, v6)) {
    out.bad_checksum = true;
    w.report("bad_ICMP_checksum");
  }
  return Step::Ok;
}

}  // namespace

uint16_t icmp_counterpart(bool v6, uint8_t type, uint8_t code) {
  if (!v6) {
    switch (type) {
      case 8: return 0;    // echo → echo reply
      case 0: return 8;
      case 13: return 14;  // timestamp
      case 14: return 13;
      case 15: return 16;  // information request
      case 16: return 15;
      case 10: return 9;   // router solicitation → advertisement
      case 9: return 10;
      case 17: return 18;  // address mask
      case 18: return 17;
      default: return code;
    }
  }
  switch (type) {
    case 128: return 129;  // echo request → reply
    case 129: return 128;
    case 133: return 134;  // router solicitation → advertisement
    case 134: return 133;
    case 135: return 136;  // neighbor solicitation → advertisement
    case 136: return 135;
    case 130: return 131;  // MLD query → report
    case 131: return 130;
    case 139: return 140;  // node information query → response (RFC 4620)
    case 140: return 139;
    case 144: return 145;  // home agent address discovery (RFC 6275)
    case 145: return 144;
    default: return code;
  }
}

Step decode_transport(uint8_t proto, std::span<const uint8_t> seg, uint32_t seg_len, bool verify_checksums,
                      DecodedPacket& out, const Weirds& w) {
  out.ip_proto = proto;
  switch (proto) {
    case kTcp: return decode_tcp(seg, seg_len, verify_checksums, out, w);
    case kUdp: return decode_udp(seg, seg_len, verify_checksums, out, w);
    case kIcmp:
    case kIcmp6: return decode_icmp(proto, seg, seg_len, verify_checksums, out, w);
    case kNoNext:
      // Zeek drops these unless a Teredo bubble explains them (we do not decode Teredo).
      w.report("ipv6_no_next");
      return Step::Malformed;
    default:
      // ESP, GRE, OSPF, SCTP, VRRP...: an IP packet of a transport we do not decode (Zeek's
      // "unknown_transport" connections).
      out.l4 = Transport::Unknown;
      out.payload = seg;
      out.payload_len = seg_len;
      return Step::Ok;
  }
}

}  // namespace ots::decode_detail
