// Decoding of link, IP and transport headers; flow hashing. Packets are built by hand (packet_builder.hpp).
#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "capture/byte_reader.hpp"
#include "capture/decode.hpp"
#include "tests/packet_builder.hpp"

using namespace ots;
using namespace ots::test;

namespace {

const V4Addr kCli{192, 168, 1, 10}, kSrv{192, 168, 1, 20};

// MSS 1460, NOP, window scale 7, NOP, NOP, SACK permitted, padded: 12 bytes.
const Bytes kTcpOptions{0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07, 0x01, 0x01, 0x04, 0x02};
// IPv4 Router Alert (RFC 2113), 4 bytes.
const Bytes kIpOptions{0x94, 0x04, 0x00, 0x00};

Bytes modbus_request() { return Bytes{0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0a}; }

Bytes tcp_packet(const TcpSpec& t = {}, const Bytes& payload = modbus_request(), V4Spec ip = {}) {
  ip.proto = 6;
  return eth(0x0800, ipv4(ip, tcp(t, payload, pseudo(ip.src, ip.dst))));
}

bool same_mac(const uint8_t* p, const std::array<uint8_t, 6>& m) { return p && std::memcmp(p, m.data(), 6) == 0; }

}  // namespace

TEST_CASE("byte reader reads big and little endian and never past the end", "[decode]") {
  const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  ByteReader r(b, sizeof b);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  REQUIRE(r.u8(u8));
  CHECK(u8 == 0x01);
  REQUIRE(r.u16be(u16));
  CHECK(u16 == 0x0203);
  REQUIRE(r.u16le(u16));
  CHECK(u16 == 0x0504);
  CHECK(r.pos() == 5);
  CHECK(r.remaining() == 4);
  CHECK_FALSE(r.u64be(u64));  // only 4 left: fails and does not move
  CHECK(r.pos() == 5);
  REQUIRE(r.u32le(u32));
  CHECK(u32 == 0x09080706);
  CHECK_FALSE(r.u8(u8));
  CHECK_FALSE(r.skip(1));
  ByteReader r2(b, sizeof b);
  REQUIRE(r2.u64be(u64));
  CHECK(u64 == 0x0102030405060708ull);
  ByteReader r3(b, sizeof b);
  REQUIRE(r3.u32be(u32));
  CHECK(u32 == 0x01020304);
  std::span<const uint8_t> s;
  REQUIRE(r3.bytes(3, s));
  CHECK(s.size() == 3);
  CHECK(s[0] == 0x05);
  CHECK_FALSE(r3.bytes(3, s));
  REQUIRE(r3.skip(2));
  CHECK(r3.empty());
}

TEST_CASE("Ethernet IPv4 TCP with options decodes every field", "[decode]") {
  TcpSpec t;
  t.options = kTcpOptions;
  t.flags = tcp_flag::SYN | tcp_flag::ECE | tcp_flag::CWR;
  t.seq = 0xdeadbeef;
  t.ack = 0x01020304;
  t.window = 64240;
  V4Spec ip;
  ip.options = kIpOptions;
  ip.ttl = 128;
  const Bytes pkt = tcp_packet(t, modbus_request(), ip);
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  CHECK(p.ts_ns == 1'700'000'000'123'456'789ull);
  CHECK(p.wirelen == pkt.size());
  CHECK(p.ingress == 3);
  CHECK(same_mac(p.src_mac, kMacA));
  CHECK(same_mac(p.dst_mac, kMacB));
  CHECK(p.vlan == 0);
  CHECK(p.inner_vlan == 0);
  CHECK(p.ip_version == 4);
  CHECK(p.src.to_string() == "192.168.1.10");
  CHECK(p.dst.to_string() == "192.168.1.20");
  CHECK(p.ip_len == 24 + 32 + 12);
  CHECK(p.ttl == 128);
  CHECK_FALSE(p.from_fragments);
  CHECK(p.l4 == Transport::Tcp);
  CHECK(p.ip_proto == 6);
  CHECK(p.sport == 40000);
  CHECK(p.dport == 502);
  CHECK(p.tcp_flags == (tcp_flag::SYN | tcp_flag::ECE | tcp_flag::CWR));
  CHECK(p.seq == 0xdeadbeef);
  CHECK(p.ack == 0x01020304);
  CHECK(p.window == 64240);
  CHECK_FALSE(p.bad_checksum);
  CHECK(p.payload_len == 12);
  REQUIRE(p.payload.size() == 12);
  CHECK(std::equal(p.payload.begin(), p.payload.end(), modbus_request().begin()));
  CHECK(p.payload.data() == pkt.data() + 14 + 24 + 32);  // zero-copy
  CHECK(dec.stats().packets == 1);
  CHECK(dec.stats().malformed == 0);
}

TEST_CASE("bad TCP checksum is a weird only when checksums are verified", "[decode]") {
  Bytes pkt = tcp_packet();
  pkt.back() ^= 0xff;
  CollectWeirds w;
  DecodedPacket p;
  Decoder lax;
  REQUIRE(lax.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK_FALSE(p.bad_checksum);
  CHECK(w.items.empty());
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder strict(cfg);
  REQUIRE(strict.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK(p.bad_checksum);
  REQUIRE(w.names() == "bad_TCP_checksum");
  const WeirdEvent& ev = w.items[0].ev;
  CHECK(ev.has_addrs);
  CHECK(ev.id.orig_h.to_string() == "192.168.1.10");
  CHECK(ev.id.resp_p == 502);
  CHECK(ev.source == "decode");
  CHECK(ev.ts_ns == 1'700'000'000'123'456'789ull);
}

TEST_CASE("bad IPv4 header checksum drops the packet when verifying", "[decode]") {
  Bytes pkt = tcp_packet();
  pkt[14 + 8] = 7;  // TTL changed without fixing the checksum
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  CHECK(dec.decode(view(pkt), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "bad_IP_checksum");
  CHECK(dec.stats().malformed == 1);
}

TEST_CASE("Ethernet padding is not payload", "[decode]") {
  V4Spec ip;
  ip.proto = 17;
  Bytes pkt = eth(0x0800, ipv4(ip, udp(20000, 20000, Bytes{0x05, 0x64}, pseudo(ip.src, ip.dst))));
  pkt.resize(60, 0);  // minimum Ethernet frame
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  CHECK(p.ip_len == 30);
  CHECK(p.payload_len == 2);
  CHECK(p.payload.size() == 2);
}

TEST_CASE("802.1Q, 802.1ad QinQ and 0x9100 tags give outer and inner VLAN ids", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  V4Spec ip;
  const Bytes l3 = ipv4(ip, tcp({}, modbus_request(), pseudo(ip.src, ip.dst)));

  const Bytes q = eth(0x0800, l3, {{0x8100, 100}});
  REQUIRE(dec.decode(view(q), p, w) == DecodeResult::Ok);
  CHECK(p.vlan == 100);
  CHECK(p.inner_vlan == 0);
  CHECK(p.dport == 502);
  CHECK(p.payload.size() == 12);

  const Bytes qinq = eth(0x0800, l3, {{0x88a8, 10}, {0x8100, 4000}});
  REQUIRE(dec.decode(view(qinq), p, w) == DecodeResult::Ok);
  CHECK(p.vlan == 10);
  CHECK(p.inner_vlan == 4000);
  CHECK(p.src.to_string() == "192.168.1.10");

  const Bytes old = eth(0x0800, l3, {{0x9100, 7}, {0x8100, 8}});
  REQUIRE(dec.decode(view(old), p, w) == DecodeResult::Ok);
  CHECK(p.vlan == 7);
  CHECK(p.inner_vlan == 8);
  CHECK(w.items.empty());

  const Bytes triple = eth(0x0800, l3, {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}});
  REQUIRE(dec.decode(view(triple), p, w) == DecodeResult::Ok);
  CHECK(p.vlan == 1);
  CHECK(p.inner_vlan == 3);
  CHECK(w.names() == "triple_tagged_vlan_unsupported");

  w.clear();
  Bytes cut = eth(0x8100, {});
  cut.push_back(0x00);  // half a tag
  CHECK(dec.decode(view(cut), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "truncated_VLAN_header");
}

TEST_CASE("non-IP frames are NotIp without a weird, broken Ethernet is a weird", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  const Bytes arp = eth(0x0806, Bytes(28, 0));
  CHECK(dec.decode(view(arp), p, w) == DecodeResult::NotIp);
  const Bytes goose = eth(0x88b8, Bytes(40, 0), {{0x8100, 5}});
  CHECK(dec.decode(view(goose), p, w) == DecodeResult::NotIp);
  CHECK(p.vlan == 5);
  const Bytes stp = eth(38, Bytes(38, 0x42));  // 802.3 length field: LLC follows
  CHECK(dec.decode(view(stp), p, w) == DecodeResult::NotIp);
  CHECK(w.items.empty());
  CHECK(dec.stats().non_ip == 3);

  const Bytes undefined = eth(1501, Bytes(40, 0));
  CHECK(dec.decode(view(undefined), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "undefined_ether_type");
  w.clear();
  const Bytes runt(10, 0xff);
  CHECK(dec.decode(view(runt), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "truncated_ethernet_frame");
}

TEST_CASE("Linux cooked v1 and v2, BSD loopback and raw IP link types", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  V4Spec ip;
  ip.proto = 17;
  const Bytes v4 = ipv4(ip, udp(1234, 47808, text("bacnet"), pseudo(ip.src, ip.dst)));
  const V6Addr a6 = v6addr(0xfe80, 1), b6 = v6addr(0xfe80, 2);
  const Bytes v6 = ipv6(a6, b6, 17, udp(1234, 2222, text("enip"), pseudo(a6, b6)));

  auto check_v4 = [&](const Bytes& pkt, LinkType link) {
    INFO("link " << static_cast<int>(link));
    REQUIRE(dec.decode(view(pkt, link), p, w) == DecodeResult::Ok);
    CHECK(p.ip_version == 4);
    CHECK(p.l4 == Transport::Udp);
    CHECK(p.sport == 1234);
    CHECK(p.dport == 47808);
    CHECK(as_text(p.payload) == "bacnet");
    CHECK(p.dst_mac == nullptr);
  };

  Bytes sll{0x00, 0x00, 0x00, 0x01, 0x00, 0x06};
  sll.insert(sll.end(), kMacA.begin(), kMacA.end());
  sll.insert(sll.end(), {0, 0, 0x08, 0x00});
  append(sll, v4);
  check_v4(sll, LinkType::LinuxSll);
  CHECK(same_mac(p.src_mac, kMacA));

  Bytes sll2{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0x00, 0x01, 0x00, 0x06};
  sll2.insert(sll2.end(), kMacA.begin(), kMacA.end());
  sll2.insert(sll2.end(), {0, 0});
  append(sll2, v4);
  check_v4(sll2, LinkType::LinuxSll2);
  CHECK(same_mac(p.src_mac, kMacA));

  Bytes null_le{2, 0, 0, 0};
  append(null_le, v4);
  check_v4(null_le, LinkType::Null);
  CHECK(p.src_mac == nullptr);
  Bytes null_be{0, 0, 0, 2};  // written on a big-endian host
  append(null_be, v4);
  check_v4(null_be, LinkType::Null);
  Bytes loop{0, 0, 0, 2};
  append(loop, v4);
  check_v4(loop, LinkType::Loop);
  check_v4(v4, LinkType::Raw);
  check_v4(v4, LinkType::Ipv4);

  for (uint32_t af : {24u, 28u, 30u, 10u}) {
    Bytes n{static_cast<uint8_t>(af), 0, 0, 0};
    append(n, v6);
    REQUIRE(dec.decode(view(n, LinkType::Null), p, w) == DecodeResult::Ok);
    CHECK(p.ip_version == 6);
    CHECK(as_text(p.payload) == "enip");
  }
  REQUIRE(dec.decode(view(v6, LinkType::Raw), p, w) == DecodeResult::Ok);
  CHECK(p.ip_version == 6);
  REQUIRE(dec.decode(view(v6, LinkType::Ipv6), p, w) == DecodeResult::Ok);
  CHECK(p.dport == 2222);
  CHECK(w.items.empty());

  Bytes other_af{17, 0, 0, 0, 1, 2, 3};  // AF_? (not IP)
  CHECK(dec.decode(view(other_af, LinkType::Null), p, w) == DecodeResult::NotIp);
  Bytes sll_short(10, 0);
  CHECK(dec.decode(view(sll_short, LinkType::LinuxSll), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "truncated_Linux_SLL_header");
  w.clear();
  CHECK(dec.decode(view(sll_short, LinkType::LinuxSll2), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "truncated_Linux_SLL2_header");
  w.clear();
  Bytes null_short{2, 0};
  CHECK(dec.decode(view(null_short, LinkType::Null), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "null_analyzer_failed");
}

TEST_CASE("IPv6 extension headers are skipped to the transport", "[decode]") {
  const V6Addr a = v6addr(0x2001, 0x10), b = v6addr(0x2001, 0x20), final_dst = v6addr(0x2001, 0x99);
  TcpSpec t;
  t.dport = 20000;
  t.flags = tcp_flag::ACK;
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;

  // Hop-by-hop → destination options → AH → TCP.
  Bytes seg = tcp(t, text("dnp3"), pseudo(a, b));
  Bytes ah{6, 4, 0, 0};  // next TCP, length (6 words - 2), reserved
  put32(ah, 0x1000);    // SPI
  put32(ah, 1);         // sequence
  ah.insert(ah.end(), 12, 0xaa);  // ICV
  Bytes chain = ext_header(60, Bytes{1, 4, 0, 0, 0, 0});  // PadN
  append(chain, ext_header(51, Bytes{1, 2, 0, 0}));
  append(chain, ah);
  append(chain, seg);
  const Bytes pkt = eth(0x86dd, ipv6(a, b, 0, chain, 33));
  REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  CHECK(p.ip_version == 6);
  CHECK(p.src.to_string() == "2001::10");
  CHECK(p.dst.to_string() == "2001::20");
  CHECK(p.ttl == 33);
  CHECK(p.ip_len == 40 + chain.size());
  CHECK(p.l4 == Transport::Tcp);
  CHECK(p.ip_proto == 6);
  CHECK(p.dport == 20000);
  CHECK(p.tcp_flags == tcp_flag::ACK);
  CHECK(as_text(p.payload) == "dnp3");
  CHECK(p.payload_len == 4);

  // Routing header type 0 with segments left: the final destination is the responder (as in Zeek).
  Bytes rh{0, 0, 0, 0, 0, 0};  // type 0, segleft 1 set below, reserved
  rh[0] = 0;                    // routing type
  rh[1] = 1;                    // segments left
  rh.insert(rh.end(), final_dst.begin(), final_dst.end());
  Bytes rchain = ext_header(17, rh);
  append(rchain, udp(5000, 5001, text("x"), pseudo(a, final_dst)));
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder strict(cfg);
  REQUIRE(strict.decode(view(eth(0x86dd, ipv6(a, b, 43, rchain))), p, w) == DecodeResult::Ok);
  CHECK(p.dst.to_string() == "2001::99");
  CHECK_FALSE(p.bad_checksum);  // the pseudo header uses the final destination (RFC 8200 8.1)
  CHECK(w.names() == "routing0_hdr");
  w.clear();

  // ESP ends the walk: an IP packet of an undecoded transport.
  const Bytes esp{0, 0, 0x10, 0x00, 0, 0, 0, 1, 0xde, 0xad};
  Bytes esp_chain = ext_header(50, {});
  append(esp_chain, esp);
  const Bytes esp_pkt = eth(0x86dd, ipv6(a, b, 0, esp_chain));
  REQUIRE(dec.decode(view(esp_pkt), p, w) == DecodeResult::Ok);
  CHECK(p.l4 == Transport::Unknown);
  CHECK(p.ip_proto == 50);
  CHECK(p.payload.size() == esp.size());
  CHECK(p.sport == 0);

  // No Next Header: Zeek's "ipv6_no_next", dropped.
  CHECK(dec.decode(view(eth(0x86dd, ipv6(a, b, 59, {}))), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "ipv6_no_next");
  w.clear();

  // An extension header running past the payload length.
  Bytes bad = ext_header(6, Bytes(14, 0));
  bad[1] = 5;  // says 48 bytes
  CHECK(dec.decode(view(eth(0x86dd, ipv6(a, b, 0, bad))), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "invalid_IP_header_size");
  w.clear();

  // An atomic fragment (RFC 6946) is the whole datagram.
  Bytes atomic = frag_header(17, 0, false, 77);
  append(atomic, udp(1, 2, text("atom"), pseudo(a, b)));
  const Bytes atomic_pkt = eth(0x86dd, ipv6(a, b, 44, atomic));
  REQUIRE(dec.decode(view(atomic_pkt), p, w) == DecodeResult::Ok);
  CHECK_FALSE(p.from_fragments);
  CHECK(as_text(p.payload) == "atom");
  CHECK(w.items.empty());
}

TEST_CASE("IPv4 header checks use Zeek's weird names", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  const Bytes seg = tcp({}, modbus_request(), pseudo(kCli, kSrv));
  struct Case {
    const char* weird;
    V4Spec spec;
    size_t keep = 0;    // cut the IP part to this many bytes (0: all)
    uint32_t wire = 0;  // wire length of the frame (0: as captured)
  };
  V4Spec short_ihl;
  short_ihl.ihl_override = 4;
  V4Spec total_below_ihl;
  total_below_ihl.total_override = 16;
  V4Spec total_beyond;
  total_beyond.total_override = 200;
  V4Spec long_ihl;
  long_ihl.ihl_override = 15;
  long_ihl.total_override = 60;
  const Case cases[] = {{"IPv4_min_header_size", short_ihl}, {"invalid_IP_header_size", total_below_ihl},
                        {"truncated_IP_len", total_beyond}, {"truncated_IP", {}, 19},
                        {"internally_truncated_header", long_ihl, 40, 1000}};
  for (const Case& c : cases) {
    INFO(c.weird);
    w.clear();
    Bytes l3 = ipv4(c.spec, seg);
    if (c.keep) l3.resize(c.keep);
    const Bytes frame = eth(0x0800, l3);
    CHECK(dec.decode(view(frame, LinkType::Ethernet, 1, c.wire), p, w) == DecodeResult::Malformed);
    CHECK(w.names() == c.weird);
  }
  w.clear();
  Bytes v5 = ipv4({}, seg);
  v5[0] = 0x55;
  CHECK(dec.decode(view(eth(0x0800, v5)), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "unknown_ip_version");

  // Segmentation offload: total length 0, the capture length stands in (unless verifying checksums).
  w.clear();
  V4Spec tso;
  tso.total_override = 0;
  const Bytes zero = eth(0x0800, ipv4(tso, seg));
  REQUIRE(dec.decode(view(zero), p, w) == DecodeResult::Ok);
  CHECK(w.names() == "ip_hdr_len_zero");
  CHECK(p.ip_len == 20 + seg.size());
  CHECK(p.payload_len == 12);
}

TEST_CASE("TCP header length checks", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  Bytes seg = tcp({}, modbus_request(), pseudo(kCli, kSrv));
  seg[12] = 0x40;  // 16-byte header
  CHECK(dec.decode(view(eth(0x0800, ipv4({}, seg))), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "bad_TCP_header_len");
  w.clear();
  seg[12] = 0xf0;  // 60 bytes, the segment has 32
  CHECK(dec.decode(view(eth(0x0800, ipv4({}, seg))), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "truncated_header");
  w.clear();
  V4Spec ip;
  CHECK(dec.decode(view(eth(0x0800, ipv4(ip, Bytes(10, 0)))), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "truncated_header");
}

TEST_CASE("UDP fields, length mismatch and checksums", "[decode]") {
  V4Spec ip;
  ip.proto = 17;
  const Bytes seg = udp(1024, 161, text("public"), pseudo(ip.src, ip.dst));
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  const Bytes pkt = eth(0x0800, ipv4(ip, seg));
  REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  CHECK(p.l4 == Transport::Udp);
  CHECK(p.ip_proto == 17);
  CHECK(p.sport == 1024);
  CHECK(p.dport == 161);
  CHECK(p.payload_len == 6);
  CHECK(as_text(p.payload) == "public");
  CHECK(p.tcp_flags == 0);

  Bytes nocheck = seg;
  nocheck[6] = nocheck[7] = 0;  // IPv4: zero means no checksum (RFC 768)
  REQUIRE(dec.decode(view(eth(0x0800, ipv4(ip, nocheck))), p, w) == DecodeResult::Ok);
  CHECK_FALSE(p.bad_checksum);
  CHECK(w.items.empty());

  Bytes corrupt = seg;
  corrupt.back() ^= 1;
  REQUIRE(dec.decode(view(eth(0x0800, ipv4(ip, corrupt))), p, w) == DecodeResult::Ok);
  CHECK(p.bad_checksum);
  CHECK(w.names() == "bad_UDP_checksum");
  w.clear();

  // IPv6 makes the checksum mandatory: zero is bad.
  const V6Addr a = v6addr(0xfd00, 1), b = v6addr(0xfd00, 2);
  Bytes six = udp(1, 2, text("z"), pseudo(a, b));
  six[6] = six[7] = 0;
  REQUIRE(dec.decode(view(eth(0x86dd, ipv6(a, b, 17, six))), p, w) == DecodeResult::Ok);
  CHECK(p.bad_checksum);
  CHECK(w.names() == "bad_UDP_checksum");
  w.clear();

  Bytes longer = seg;
  longer[5] = static_cast<uint8_t>(longer[5] + 4);  // UDP length says 4 more than the IP payload
  Decoder lax;
  REQUIRE(lax.decode(view(eth(0x0800, ipv4(ip, longer))), p, w) == DecodeResult::Ok);
  REQUIRE(w.names() == "UDP_datagram_length_mismatch");
  CHECK(w.items[0].addl == "18 != 14");
  CHECK(p.payload_len == 6);
}

TEST_CASE("ICMP and ICMPv6 map type to sport and the counterpart type or code to dport", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  V4Spec ip;
  ip.proto = 1;
  struct Case {
    uint8_t type, code;
    uint16_t dport;
  };
  // Echo request/reply pair up (Zeek's ICMP4_counterpart); one-way messages carry their code.
  for (const Case& c : {Case{8, 0, 0}, Case{0, 0, 8}, Case{13, 0, 14}, Case{3, 3, 3}, Case{11, 1, 1}, Case{5, 2, 2}}) {
    INFO(int(c.type) << "/" << int(c.code));
    const Bytes pkt = eth(0x0800, ipv4(ip, icmp(c.type, c.code, text("abcd"))));
    REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
    CHECK(p.l4 == Transport::Icmp);
    CHECK(p.ip_proto == 1);
    CHECK(p.sport == c.type);
    CHECK(p.dport == c.dport);
    CHECK(p.payload_len == 4);
    CHECK(as_text(p.payload) == "abcd");
  }
  const V6Addr a = v6addr(0xfe80, 1), b = v6addr(0xff02, 1);
  const Pseudo ph = pseudo(a, b);
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder strict(cfg);
  for (const Case& c : {Case{128, 0, 129}, Case{129, 0, 128}, Case{135, 0, 136}, Case{133, 0, 134}, Case{1, 4, 4},
                        Case{3, 0, 0}}) {
    INFO(int(c.type) << "/" << int(c.code));
    REQUIRE(strict.decode(view(eth(0x86dd, ipv6(a, b, 58, icmp(c.type, c.code, {}, &ph)))), p, w) == DecodeResult::Ok);
    CHECK(p.l4 == Transport::Icmp6);
    CHECK(p.ip_proto == 58);
    CHECK(p.sport == c.type);
    CHECK(p.dport == c.dport);
    CHECK_FALSE(p.bad_checksum);
  }
  CHECK(w.items.empty());
  Bytes bad = icmp(8, 0, text("x"));
  bad[2] ^= 0x55;
  ip.proto = 1;
  REQUIRE(strict.decode(view(eth(0x0800, ipv4(ip, bad))), p, w) == DecodeResult::Ok);
  CHECK(p.bad_checksum);
  CHECK(w.names() == "bad_ICMP_checksum");
}

TEST_CASE("other IP protocols are Ok with an unknown transport", "[decode]") {
  V4Spec ip;
  ip.proto = 47;  // GRE
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  const Bytes pkt = eth(0x0800, ipv4(ip, Bytes(12, 1)));
  REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
  CHECK(p.l4 == Transport::Unknown);
  CHECK(p.ip_proto == 47);
  CHECK(p.sport == 0);
  CHECK(p.dport == 0);
  CHECK(p.payload_len == 12);
  CHECK(p.payload.size() == 12);
}

TEST_CASE("a packet cut by the snaplen keeps complete headers and reports the missing payload", "[decode]") {
  TcpSpec t;
  t.options = kTcpOptions;
  const Bytes payload(1000, 0x5a);
  const Bytes full = tcp_packet(t, payload);
  const size_t headers = 14 + 20 + 32;
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  Bytes cut(full.begin(), full.begin() + headers + 100);
  REQUIRE(dec.decode(view(cut, LinkType::Ethernet, 1, static_cast<uint32_t>(full.size())), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  CHECK(p.ip_len == 20 + 32 + 1000);
  CHECK(p.payload.size() == 100);
  CHECK(p.payload_len == 1000);
  CHECK(p.wirelen == full.size());
}

TEST_CASE("a TCP packet truncated at every length never decodes with wrong fields", "[decode]") {
  TcpSpec t;
  t.options = kTcpOptions;
  V4Spec ip;
  ip.options = kIpOptions;
  const Bytes full = tcp_packet(t, modbus_request(), ip);
  const size_t headers = 14 + 24 + 32;
  Decoder dec;
  for (size_t n = 0; n <= full.size(); ++n) {
    INFO("length " << n);
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    CollectWeirds w;
    DecodedPacket p;
    // Really truncated: wire length = captured length.
    const DecodeResult r = dec.decode(view(cut), p, w);
    if (n == full.size()) {
      CHECK(r == DecodeResult::Ok);
    } else {
      CHECK(r == DecodeResult::Malformed);
      CHECK(w.items.size() == 1);
    }
    // Cut by the snaplen: Ok exactly when the headers are all there, with the right fields.
    w.clear();
    const DecodeResult s = dec.decode(view(cut, LinkType::Ethernet, 1, static_cast<uint32_t>(full.size())), p, w);
    if (n >= headers) {
      REQUIRE(s == DecodeResult::Ok);
      CHECK(w.items.empty());
      CHECK(p.sport == 40000);
      CHECK(p.dport == 502);
      CHECK(p.seq == 1000);
      CHECK(p.ip_len == full.size() - 14);
      CHECK(p.payload_len == 12);
      CHECK(p.payload.size() == n - headers);
    } else {
      CHECK(s == DecodeResult::Malformed);
      CHECK(w.items.size() == 1);
    }
  }
}

TEST_CASE("random bytes on every link type never crash the decoder or the hash", "[decode]") {
  std::mt19937_64 rng(0x07500507);
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  const LinkType links[] = {LinkType::Ethernet, LinkType::Raw, LinkType::Null, LinkType::Loop,
                            LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Ipv4, LinkType::Ipv6};
  Bytes buf;
  uint64_t ok = 0;
  for (int i = 0; i < 100000; ++i) {
    const size_t len = rng() % 200;
    buf.resize(len);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    // Steer a share of them past the link layer so the IP and transport code sees garbage too.
    const LinkType link = links[rng() % std::size(links)];
    if (len > 20 && (rng() & 1)) {
      if (link == LinkType::Ethernet) {
        buf[12] = (rng() & 1) ? 0x08 : 0x86;
        buf[13] = buf[12] == 0x08 ? 0x00 : 0xdd;
      }
      const size_t l3 = link == LinkType::Ethernet ? 14 : 0;
      if (l3 < len) buf[l3] = static_cast<uint8_t>((rng() & 1 ? 0x40 : 0x60) | (buf[l3] & 0x0f));
    }
    PacketView v = view(buf, link, static_cast<uint64_t>(i) * 1000);
    if (rng() % 4 == 0) v.wirelen = v.caplen + static_cast<uint32_t>(rng() % 3000);
    w.clear();
    if (dec.decode(v, p, w) == DecodeResult::Ok) ++ok;
    (void)symmetric_flow_hash(v);
    if (i % 1000 == 0) dec.expire(static_cast<uint64_t>(i) * 1000, w);
  }
  CHECK(dec.stats().packets == 100000);
  CHECK(ok > 0);
}

TEST_CASE("mutated valid packets never crash the decoder", "[decode]") {
  std::mt19937_64 rng(42);
  TcpSpec t;
  t.options = kTcpOptions;
  V4Spec ip4;
  ip4.options = kIpOptions;
  const V6Addr a = v6addr(0x2001, 1), b = v6addr(0x2001, 2);
  Bytes chain = ext_header(44, Bytes{1, 4, 0, 0, 0, 0});
  append(chain, frag_header(17, 0, true, 9));
  append(chain, udp(1, 2, Bytes(40, 3), pseudo(a, b)));
  V4Spec frag;
  frag.mf = true;
  frag.proto = 17;
  const std::vector<Bytes> seeds = {
      tcp_packet(t, modbus_request(), ip4),
      eth(0x86dd, ipv6(a, b, 0, chain), {{0x88a8, 1}, {0x8100, 2}}),
      eth(0x0800, ipv4(frag, Bytes(64, 7))),
      eth(0x0800, ipv4({}, icmp(3, 3, ipv4({}, Bytes(8, 0))))),
  };
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  cfg.frag_max_datagrams = 64;
  cfg.frag_max_bytes = 64 * 1024;
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  for (int i = 0; i < 100000; ++i) {
    Bytes pkt = seeds[rng() % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) pkt[rng() % pkt.size()] = static_cast<uint8_t>(rng());
    if (rng() % 3 == 0) pkt.resize(rng() % (pkt.size() + 1));
    w.clear();
    (void)dec.decode(view(pkt, LinkType::Ethernet, static_cast<uint64_t>(i) * 1'000'000), p, w);
    (void)symmetric_flow_hash(view(pkt));
    if (i % 5000 == 0) dec.expire(static_cast<uint64_t>(i) * 1'000'000, w);
  }
  CHECK(dec.stats().packets == 100000);
}

TEST_CASE("the flow hash is the same in both directions and for the raw and decoded packet", "[decode]") {
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  auto both = [&](const Bytes& pkt) {
    REQUIRE(dec.decode(view(pkt), p, w) == DecodeResult::Ok);
    const uint64_t h = symmetric_flow_hash(p);
    CHECK(h == symmetric_flow_hash(view(pkt)));
    return h;
  };
  TcpSpec fwd;
  TcpSpec rev;
  rev.sport = fwd.dport;
  rev.dport = fwd.sport;
  V4Spec ip_f, ip_r;
  ip_r.src = ip_f.dst;
  ip_r.dst = ip_f.src;
  const uint64_t h1 = both(eth(0x0800, ipv4(ip_f, tcp(fwd, {}, pseudo(ip_f.src, ip_f.dst)))));
  const uint64_t h2 = both(eth(0x0800, ipv4(ip_r, tcp(rev, {}, pseudo(ip_r.src, ip_r.dst)))));
  CHECK(h1 == h2);
  TcpSpec other = fwd;
  other.sport = 40001;
  CHECK(both(eth(0x0800, ipv4(ip_f, tcp(other, {}, pseudo(ip_f.src, ip_f.dst))))) != h1);
  // Same host both ends (modbusSmall.pcap has these): ports alone decide.
  V4Spec self;
  self.dst = self.src;
  const uint64_t s1 = both(eth(0x0800, ipv4(self, tcp(fwd, {}, pseudo(self.src, self.dst)))));
  const uint64_t s2 = both(eth(0x0800, ipv4(self, tcp(rev, {}, pseudo(self.src, self.dst)))));
  CHECK(s1 == s2);
  CHECK(s1 != h1);

  const V6Addr a = v6addr(0x2001, 1), b = v6addr(0x2001, 2);
  const uint64_t v1 = both(eth(0x86dd, ipv6(a, b, 17, udp(20000, 20001, text("a"), pseudo(a, b)))));
  const uint64_t v2 = both(eth(0x86dd, ipv6(b, a, 17, udp(20001, 20000, text("b"), pseudo(b, a))), {{0x8100, 9}}));
  CHECK(v1 == v2);
  CHECK(v1 != h1);

  // ICMP echo request and reply meet.
  V4Spec icmp_f, icmp_r;
  icmp_f.proto = icmp_r.proto = 1;
  icmp_r.src = icmp_f.dst;
  icmp_r.dst = icmp_f.src;
  CHECK(both(eth(0x0800, ipv4(icmp_f, icmp(8, 0, {})))) == both(eth(0x0800, ipv4(icmp_r, icmp(0, 0, {})))));

  // Every fragment of a datagram hashes alike, whatever it carries.
  V4Spec f1, f2;
  f1.proto = f2.proto = 17;
  f1.mf = true;
  f2.frag_off = 64;
  CHECK(symmetric_flow_hash(view(eth(0x0800, ipv4(f1, Bytes(64, 1))))) ==
        symmetric_flow_hash(view(eth(0x0800, ipv4(f2, Bytes(16, 2))))));
  CHECK(symmetric_flow_hash(view(eth(0x0806, Bytes(28, 0)))) == 0);
}
