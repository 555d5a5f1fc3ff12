// IPv4 (RFC 791) and IPv6 (RFC 8200) headers. The checks and their order follow Zeek's IP analyzer
// (src/packet_analysis/protocol/ip/IP.cc) so that the same packets become the same weirds; the IPv6
// extension header walk follows Zeek's IPv6_Hdr_Chain (src/IP.cc).
#include <algorithm>
#include <string>

#include "capture/byte_reader.hpp"
#include "capture/decode_stages.hpp"

namespace ots::decode_detail {

void Weirds::report(std::string_view name, std::string addl) const {
  if (!sink) return;
  WeirdEvent ev;
  ev.ts_ns = ts_ns;
  ev.name = name;
  ev.addl = std::move(addl);
  ev.source = "decode";
  if (pkt && pkt->ip_version != 0) {
    ev.id.orig_h = pkt->src;
    ev.id.resp_h = pkt->dst;
    ev.id.orig_p = pkt->sport;
    ev.id.resp_p = pkt->dport;
    ev.id.proto = pkt->l4;
    ev.has_addrs = true;
  }
  sink->weird(ev);
}

void report_weird(WeirdSink& sink, uint64_t ts_ns, std::string_view name, std::string addl, const IpAddr& src,
                  const IpAddr& dst) {
  WeirdEvent ev;
  ev.ts_ns = ts_ns;
  ev.name = name;
  ev.addl = std::move(addl);
  ev.source = "decode";
  ev.id.orig_h = src;
  ev.id.resp_h = dst;
  ev.has_addrs = true;
  sink.weird(ev);
}

uint64_t checksum_add(std::span<const uint8_t> data, uint64_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (i < data.size()) sum += uint32_t{data[i]} << 8;  // RFC 1071: pad an odd byte with zero
  return sum;
}

uint16_t checksum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

namespace {

// IPv6 extension headers Zeek walks (IPv6_Hdr_Chain); ESP and No Next Header end the walk.
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kAh = 51, kDstOpts = 60;

Step decode_ipv4(std::span<const uint8_t> cap, uint32_t wire_len, bool verify, DecodedPacket& out, IpInfo& ip,
                 const Weirds& w) {
  FixedBytes<20> h;
  if (!FixedBytes<20>::from(cap, h)) {
    w.report("truncated_IP");
    return Step::Malformed;
  }
  const uint8_t vihl = h.u8<0>(), proto = h.u8<9>();
  const uint16_t total = h.u16be<2>(), id = h.u16be<4>(), frag = h.u16be<6>();
  out.ip_version = 4;
  out.src = IpAddr::v4(h.at<12, 4>());
  out.dst = IpAddr::v4(h.at<16, 4>());
  out.ttl = h.u8<8>();
  out.ip_proto = proto;

  uint32_t total_len = total;
  const uint32_t hdr_len = uint32_t{vihl & 0x0fu} * 4;
  if (total_len == 0) {
    // TCP segmentation offload leaves ip_len zero in captures taken on the sending host. Zeek copes by
    // trusting the capture length unless it validates checksums (then the checksum is wrong too).
    w.report("ip_hdr_len_zero");
    if (verify) return Step::Malformed;
    total_len = static_cast<uint32_t>(cap.size());
  }
  // The wire length, not the captured one: a snaplen cut is not a malformed packet.
  if (wire_len < total_len) {
    w.report("truncated_IP_len");
    return Step::Malformed;
  }
  if (hdr_len > total_len) {
    w.report("invalid_IP_header_size");
    return Step::Malformed;
  }
  if (hdr_len > cap.size()) {
    w.report("internally_truncated_header");
    return Step::Malformed;
  }
  if (hdr_len < 20) {
    w.report("IPv4_min_header_size");
    return Step::Malformed;
  }
  // Options (RFC 791 3.1) are skipped whole: nothing downstream needs them, and routers rewrite some.
  if (verify && checksum_fold(checksum_add(cap.first(hdr_len), 0)) != 0xffff) {
    w.report("bad_IP_checksum");
    return Step::Malformed;
  }

  ip.total_len = total_len;
  ip.hdr_len = hdr_len;
  ip.unfrag_len = hdr_len;
  ip.proto = proto;
  ip.complete = cap.size() >= total_len;
  ip.l3 = cap.first(std::min<size_t>(cap.size(), total_len));
  ip.more_frags = (frag & 0x2000) != 0;
  ip.dont_frag = (frag & 0x4000) != 0;
  ip.frag_off = uint32_t{frag & 0x1fffu} * 8;
  ip.frag_id = id;
  ip.fragment = ip.more_frags || ip.frag_off != 0;
  out.ip_len = total_len;
  return Step::Ok;
}

Step decode_ipv6(std::span<const uint8_t> cap, uint32_t wire_len, DecodedPacket& out, IpInfo& ip,
                 const Weirds& w) {
  FixedBytes<40> h;
  if (!FixedBytes<40>::from(cap, h)) {
    w.report("truncated_IP");
    return Step::Malformed;
  }
  const uint16_t plen = h.u16be<4>();
  uint8_t nh = h.u8<6>();
  out.ip_version = 6;
  out.src = IpAddr::v6(h.at<8, 16>());
  out.dst = IpAddr::v6(h.at<24, 16>());
  out.ttl = h.u8<7>();
  out.ip_proto = nh;

  // Zeek counts 40 + payload length as the IPv6 datagram's size. (A jumbogram, RFC 2675, has payload
  // length 0 and is not seen on the networks we watch.)
  const uint32_t total_len = 40u + plen;
  if (wire_len < total_len) {
    w.report("truncated_IP_len");
    return Step::Malformed;
  }
  ip.total_len = total_len;
  ip.complete = cap.size() >= total_len;
  ip.l3 = cap.first(std::min<size_t>(cap.size(), total_len));
  out.ip_len = total_len;

  const std::span<const uint8_t> after = ip.l3.subspan(40);
  const uint32_t limit = plen;
  size_t off = 0;
  size_t frag_at = kNoFragHeader;
  for (;;) {
    if (walk_ipv6_ext(after, limit, nh, off, frag_at, out, w) != Step::Ok) return Step::Malformed;
    if (frag_at == kNoFragHeader) break;
    // Fragment header (RFC 8200 4.5): next header, reserved, offset(13) res(2) M(1), identification.
    ByteReader fr(after.subspan(frag_at));
    uint8_t fnh = 0, res = 0;
    uint16_t offm = 0;
    uint32_t id = 0;
    if (!(fr.u8(fnh) && fr.u8(res) && fr.u16be(offm) && fr.u32be(id))) return Step::Malformed;  // checked by the walk
    const uint32_t foff = uint32_t{static_cast<uint16_t>(offm >> 3)} * 8;
    const bool more = (offm & 1) != 0;
    if (foff == 0 && !more) {
      // An atomic fragment (RFC 6946): the whole datagram; go on with the headers after it.
      frag_at = kNoFragHeader;
      continue;
    }
    ip.fragment = true;
    ip.more_frags = more;
    ip.frag_off = foff;
    ip.frag_id = id;
    ip.unfrag_len = 40 + static_cast<uint32_t>(frag_at);
    break;
  }
  ip.hdr_len = 40 + static_cast<uint32_t>(off);
  ip.proto = nh;
  out.ip_proto = nh;
  return Step::Ok;
}

// RFC 8200 4.4 routing header; type 0 (deprecated by RFC 5095) names the final destination in its last
// address, which Zeek uses as the connection's responder.
void routing_header(std::span<const uint8_t> hdr, bool& seen_final, DecodedPacket& out, const Weirds& w) {
  const uint8_t len8 = hdr[1], type = hdr[2], segleft = hdr[3];
  if (type == 0) {
    if (segleft > 0 && len8 >= 2) {
      if (seen_final) {
        w.report("multiple_routing_headers");  // RFC 8200 4.1: at most once
      } else if (len8 % 2 == 0) {
        out.dst = IpAddr::v6(hdr.data() + hdr.size() - 16);
        seen_final = true;
      } else {
        w.report("odd_routing0_len");
      }
    }
    w.report("routing0_hdr");
  } else {
    w.report("unknown_routing_type", std::to_string(type));
  }
}

}  // namespace

Step walk_ipv6_ext(std::span<const uint8_t> data, uint32_t limit, uint8_t& nh, size_t& off, size_t& frag_at,
                   DecodedPacket& out, const Weirds& w) {
  bool seen_final = false;
  for (;;) {
    size_t len = 0;
    switch (nh) {
      case kHopByHop:
      case kRouting:
      case kDstOpts:
      case kAh:
      case kFragment: {
        if (off + 2 > limit) {
          w.report("invalid_IP_header_size");
          return Step::Malformed;
        }
        if (off + 2 > data.size()) {
          w.report("internally_truncated_header");
          return Step::Malformed;
        }
        if (nh == kFragment) len = 8;
        else if (nh == kAh) len = (size_t{data[off + 1]} + 2) * 4;  // RFC 4302 2.2: in 4-byte units, minus 2
        else len = (size_t{data[off + 1]} + 1) * 8;                 // RFC 8200 4.3: in 8-byte units, minus 1
        break;
      }
      default:
        // Transport, ESP (encrypted from here on), No Next Header, or a protocol Zeek does not walk.
        return Step::Ok;
    }
    if (off + len > limit) {
      w.report("invalid_IP_header_size");
      return Step::Malformed;
    }
    if (off + len > data.size()) {
      w.report("internally_truncated_header");
      return Step::Malformed;
    }
    const std::span<const uint8_t> hdr = data.subspan(off, len);
    const uint8_t this_type = nh;
    nh = hdr[0];
    if (this_type == kRouting) routing_header(hdr, seen_final, out, w);
    if (this_type == kFragment) {
      frag_at = off;
      off += len;
      return Step::Ok;
    }
    off += len;
  }
}

Step decode_ip(std::span<const uint8_t> cap, uint32_t wire_len, bool verify_checksums, DecodedPacket& out,
               IpInfo& ip, const Weirds& w) {
  if (cap.size() < 20) {
    w.report("truncated_IP");
    return Step::Malformed;
  }
  const uint8_t version = cap[0] >> 4;
  if (version == 4) return decode_ipv4(cap, wire_len, verify_checksums, out, ip, w);
  if (version == 6) {
    if (cap.size() < 40) {
      w.report("truncated_IP");
      return Step::Malformed;
    }
    return decode_ipv6(cap, wire_len, out, ip, w);
  }
  w.report("unknown_ip_version");
  return Step::Malformed;
}

}  // namespace ots::decode_detail
