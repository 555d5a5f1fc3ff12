// Link layers: Ethernet II with 802.1Q / 802.1ad / QinQ tags, Linux cooked v1 and v2, BSD loopback
// (DLT_NULL, DLT_LOOP) and the raw-IP link types. Weird names are those of Zeek's packet analyzers
// (src/packet_analysis/protocol/{ethernet,vlan,linux_sll,linux_sll2,null}).
#include <string>

#include "capture/byte_reader.hpp"
#include "capture/decode_stages.hpp"

namespace ots::decode_detail {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;     // IEEE 802.1Q
constexpr uint16_t kEtherQinQ = 0x88a8;     // IEEE 802.1ad service tag
constexpr uint16_t kEtherQinQOld = 0x9100;  // pre-standard QinQ (Cisco and others); Zeek maps it to VLAN too

// Ethernet II needs an EtherType >= 1536; values up to 1500 are an 802.3 length (LLC/SNAP follows) and
// the gap between is undefined (IEEE 802.3 clause 3.2.6).
constexpr uint16_t kMaxLength8023 = 1500;
constexpr uint16_t kMinEtherType = 1536;

// After the Ethernet header (or the cooked header): follows VLAN tags until the network protocol.
Step dispatch_ethertype(ByteReader& r, uint16_t type, DecodedPacket& out, const Weirds& w) {
  int tags = 0;
  while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
    uint16_t tci = 0, inner_type = 0;
    if (!r.u16be(tci) || !r.u16be(inner_type)) {
      w.report("truncated_VLAN_header");
      return Step::Malformed;
    }
    const uint16_t id = tci & 0x0fff;
    if (tags == 0) {
      out.vlan = id;
    } else {
      // Zeek keeps two tags; a third overwrites the inner one and says so.
      if (tags >= 2) {
        w.report("triple_tagged_vlan_unsupported",
                 "overwrote inner vlan ID of " + std::to_string(out.inner_vlan) + " with " + std::to_string(id));
      }
      out.inner_vlan = id;
    }
    ++tags;
    type = inner_type;
    if (type > kMaxLength8023 && type < kMinEtherType) {
      w.report("undefined_vlan_protocol");
      return Step::Malformed;
    }
  }
  if (type == kEtherIpv4 || type == kEtherIpv6) return Step::Ok;
  // ARP, LLDP, PROFINET RT, GOOSE, 802.3 LLC/STP, MPLS...: counted, not tracked.
  return Step::NotIp;
}

Step decode_ethernet(ByteReader& r, DecodedPacket& out, const Weirds& w) {
  FixedBytes<14> h;
  if (!r.fixed(h)) {
    w.report("truncated_ethernet_frame");
    return Step::Malformed;
  }
  const uint16_t type = h.u16be<12>();
  out.dst_mac = h.at<0, 6>();
  out.src_mac = h.at<6, 6>();
  if (type == kEtherIpv4 || type == kEtherIpv6) return Step::Ok;  // untagged IP: most frames on a SPAN port
  if (type <= kMaxLength8023) return Step::NotIp;  // 802.3 + LLC/SNAP: STP, IEC 61850 over LLC...
  if (type < kMinEtherType) {
    w.report("undefined_ether_type");
    return Step::Malformed;
  }
  return dispatch_ethertype(r, type, out, w);
}

// LINKTYPE_LINUX_SLL (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html): packet type, ARPHRD type, address
// length, 8 address bytes, protocol. There is no destination address.
Step decode_sll(ByteReader& r, DecodedPacket& out, const Weirds& w) {
  uint16_t pkttype = 0, hatype = 0, halen = 0, proto = 0;
  std::span<const uint8_t> addr;
  if (!r.u16be(pkttype) || !r.u16be(hatype) || !r.u16be(halen) || !r.bytes(8, addr) || !r.u16be(proto)) {
    w.report("truncated_Linux_SLL_header");
    return Step::Malformed;
  }
  if (halen == 6) out.src_mac = addr.data();
  // Protocol values below 1536 are not EtherTypes (1 = 802.3 frames, 4 = 802.2 LLC, ...).
  if (proto < kMinEtherType) return Step::NotIp;
  return dispatch_ethertype(r, proto, out, w);
}

// LINKTYPE_LINUX_SLL2: protocol, reserved, interface index, ARPHRD type, packet type, address length,
// 8 address bytes.
Step decode_sll2(ByteReader& r, DecodedPacket& out, const Weirds& w) {
  uint16_t proto = 0, reserved = 0, hatype = 0;
  uint32_t ifindex = 0;
  uint8_t pkttype = 0, halen = 0;
  std::span<const uint8_t> addr;
  if (!r.u16be(proto) || !r.u16be(reserved) || !r.u32be(ifindex) || !r.u16be(hatype) || !r.u8(pkttype) ||
      !r.u8(halen) || !r.bytes(8, addr)) {
    w.report("truncated_Linux_SLL2_header");
    return Step::Malformed;
  }
  if (halen == 6) out.src_mac = addr.data();
  if (proto < kMinEtherType) return Step::NotIp;
  return dispatch_ethertype(r, proto, out, w);
}

// BSD loopback: a 4-byte address family. AF_INET is 2 everywhere; AF_INET6 differs per OS (10 Linux,
// 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin), tcpdump.org/linktypes/LINKTYPE_NULL.html.
bool is_ip_family(uint32_t af) { return af == 2 || af == 10 || af == 24 || af == 28 || af == 30; }

Step decode_null(ByteReader& r, bool network_order, const Weirds& w) {
  uint32_t af = 0;
  const bool ok = network_order ? r.u32be(af) : r.u32le(af);
  if (!ok) {
    w.report("null_analyzer_failed");
    return Step::Malformed;
  }
  // DLT_NULL is in the capturing host's byte order, which the file does not record: a big-endian
  // host's AF_INET reads 0x02000000 little-endian. Families are small, so swap when the value is not.
  if (!network_order && af > 0xffff) af = __builtin_bswap32(af);
  return is_ip_family(af) ? Step::Ok : Step::NotIp;
}

}  // namespace

Step decode_link(const PacketView& pkt, DecodedPacket& out, size_t& l3_off, const Weirds& w) {
  ByteReader r(pkt.data, pkt.caplen);
  Step s = Step::Ok;
  switch (pkt.link) {
    case LinkType::Ethernet: s = decode_ethernet(r, out, w); break;
    case LinkType::LinuxSll: s = decode_sll(r, out, w); break;
    case LinkType::LinuxSll2: s = decode_sll2(r, out, w); break;
    case LinkType::Null: s = decode_null(r, false, w); break;
    case LinkType::Loop: s = decode_null(r, true, w); break;
    case LinkType::Raw:
    case LinkType::Ipv4:
    case LinkType::Ipv6: break;
    default: return Step::NotIp;  // a source that tags packets with a link type we do not decode
  }
  l3_off = r.pos();
  return s;
}

}  // namespace ots::decode_detail
