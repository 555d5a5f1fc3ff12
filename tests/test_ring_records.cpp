// The dispatcher's decoding handed to a worker through its ring (sensor/ring_records.hpp): every field
// and every byte the layers above read arrives, standing alone from the packet and the decoder, in order.
#include <catch2/catch.hpp>

#include <cstring>
#include <thread>
#include <vector>

#include "capture/flow.hpp"
#include "packet_builder.hpp"
#include "sensor/ring_records.hpp"

using namespace ots;
using namespace ots::test;

namespace {

Bytes tcp_frame(const Bytes& payload, uint32_t seq = 1000) {
  V4Spec ip;
  TcpSpec t;
  t.seq = seq;
  return eth(0x0800, ipv4(ip, tcp(t, payload, pseudo(ip.src, ip.dst))));
}

// Every DecodedPacket field but the pointers, which are compared by what they point at.
void check_same(const DecodedPacket& a, const DecodedPacket& b) {
  CHECK(a.ts_ns == b.ts_ns);
  CHECK(a.wirelen == b.wirelen);
  CHECK(a.ingress == b.ingress);
  CHECK(a.vlan == b.vlan);
  CHECK(a.inner_vlan == b.inner_vlan);
  CHECK(a.ip_version == b.ip_version);
  CHECK(a.src == b.src);
  CHECK(a.dst == b.dst);
  CHECK(a.ip_len == b.ip_len);
  CHECK(a.ttl == b.ttl);
  CHECK(a.from_fragments == b.from_fragments);
  CHECK(a.l4 == b.l4);
  CHECK(a.ip_proto == b.ip_proto);
  CHECK(a.sport == b.sport);
  CHECK(a.dport == b.dport);
  CHECK(a.tcp_flags == b.tcp_flags);
  CHECK(a.seq == b.seq);
  CHECK(a.ack == b.ack);
  CHECK(a.window == b.window);
  CHECK(a.bad_checksum == b.bad_checksum);
  CHECK(a.payload_len == b.payload_len);
  CHECK(a.has_flow_hash == b.has_flow_hash);
  CHECK(a.flow_hash == b.flow_hash);
  REQUIRE((a.src_mac == nullptr) == (b.src_mac == nullptr));
  REQUIRE((a.dst_mac == nullptr) == (b.dst_mac == nullptr));
  if (a.src_mac) CHECK(std::memcmp(a.src_mac, b.src_mac, 6) == 0);
  if (a.dst_mac) CHECK(std::memcmp(a.dst_mac, b.dst_mac, 6) == 0);
  REQUIRE(a.payload.size() == b.payload.size());
  CHECK(std::memcmp(a.payload.data(), b.payload.data(), a.payload.size()) == 0);
}

bool inside(const void* p, const PacketRing::Record& r) {
  const auto* b = static_cast<const uint8_t*>(p);
  return b >= r.body.data() && b < r.body.data() + r.body.size();
}

}  // namespace

TEST_CASE("a decoded packet crosses the ring whole and stands alone from its packet", "[ring]") {
  Bytes frame = tcp_frame(text("modbus request bytes"));
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  REQUIRE(dec.decode(view(frame), p, w) == DecodeResult::Ok);
  p.flow_hash = FlowTable::hash_of(p);
  p.has_flow_hash = true;

  PacketRing ring(4096);
  push_decoded(ring, p, static_cast<uint32_t>(frame.size()));
  const DecodedPacket original = p;
  const Bytes original_frame = frame;
  push_counted(ring, 77, 60);
  ring.push_end();

  // The record holds copies: the packet's bytes may be reused as soon as it is pushed.
  std::fill(frame.begin(), frame.end(), uint8_t{0xee});
  DecodedPacket expect = original;
  expect.src_mac = original_frame.data() + 6;
  expect.dst_mac = original_frame.data();
  expect.payload = {original_frame.data() + (original.payload.data() - frame.data()), original.payload.size()};

  PacketRing::Batch b;
  ring.read(b);
  REQUIRE(b.count == 2);
  CHECK(b.end);
  REQUIRE(b.records[0].kind == PacketRing::Kind::Decoded);
  CHECK(b.records[0].aux == original_frame.size());
  const DecodedPacket& got = read_decoded(b.records[0]);
  check_same(got, expect);
  CHECK(as_text(got.payload) == "modbus request bytes");
  CHECK(inside(got.src_mac, b.records[0]));
  CHECK(inside(got.dst_mac, b.records[0]));
  CHECK(inside(got.payload.data(), b.records[0]));
  CHECK(got.flow_hash == FlowTable::hash_of(got));  // the worker's table finds the same bucket
  REQUIRE(b.records[1].kind == PacketRing::Kind::Counted);
  CHECK(b.records[1].ts_ns == 77);
  CHECK(b.records[1].aux == 60);
  ring.release();
}

TEST_CASE("a packet without MAC addresses or payload crosses the ring without them", "[ring]") {
  V4Spec ip;
  TcpSpec t;
  t.flags = tcp_flag::SYN;
  const Bytes raw = ipv4(ip, tcp(t, {}, pseudo(ip.src, ip.dst)));
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  REQUIRE(dec.decode(view(raw, LinkType::Raw), p, w) == DecodeResult::Ok);
  REQUIRE(p.src_mac == nullptr);
  PacketRing ring(1024);
  push_decoded(ring, p, static_cast<uint32_t>(raw.size()));
  ring.push_end();
  PacketRing::Batch b;
  ring.read(b);
  REQUIRE(b.count == 1);
  const DecodedPacket& got = read_decoded(b.records[0]);
  CHECK(got.src_mac == nullptr);
  CHECK(got.dst_mac == nullptr);
  CHECK(got.payload.empty());
  CHECK(got.tcp_flags == tcp_flag::SYN);
  CHECK_FALSE(got.has_flow_hash);
  ring.release();
}

TEST_CASE("a datagram rebuilt from fragments keeps its payload after the decoder moves on", "[ring]") {
  const Bytes data(40, 0x5a);
  V4Spec ip;
  ip.proto = 17;
  Bytes udp_dgram = udp(5000, 20000, data, pseudo(ip.src, ip.dst));
  const Bytes first_half(udp_dgram.begin(), udp_dgram.begin() + 24), second_half(udp_dgram.begin() + 24, udp_dgram.end());
  V4Spec f1 = ip, f2 = ip;
  f1.mf = true;
  f2.frag_off = 24;
  const Bytes a = eth(0x0800, ipv4(f1, first_half)), b2 = eth(0x0800, ipv4(f2, second_half));

  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  REQUIRE(dec.decode(view(a), p, w) == DecodeResult::Held);
  REQUIRE(dec.decode(view(b2), p, w) == DecodeResult::Ok);
  REQUIRE(p.from_fragments);
  PacketRing ring(4096);
  push_decoded(ring, p, static_cast<uint32_t>(b2.size()));
  // The decoder's reassembly buffer is its own again once it decodes the next packet.
  const Bytes other = tcp_frame(Bytes(64, 0x11));
  REQUIRE(dec.decode(view(other), p, w) == DecodeResult::Ok);
  ring.push_end();

  PacketRing::Batch batch;
  ring.read(batch);
  REQUIRE(batch.count == 1);
  const DecodedPacket& got = read_decoded(batch.records[0]);
  CHECK(got.from_fragments);
  CHECK(got.l4 == Transport::Udp);
  CHECK(got.dport == 20000);
  CHECK(got.payload.size() == data.size());
  CHECK(std::memcmp(got.payload.data(), data.data(), data.size()) == 0);
  ring.release();
}

TEST_CASE("the decoder's weirds and counters cross the ring before the packet they belong to", "[ring]") {
  // An IPv4 header whose total length is below its header length: malformed, with a weird.
  V4Spec ip;
  ip.total_override = 12;
  const Bytes bad = eth(0x0800, ipv4(ip, Bytes(20, 0)));
  PacketRing ring(4096);
  RingWeirds sink(ring);
  Decoder dec;
  DecodedPacket p;
  REQUIRE(dec.decode(view(bad), p, sink) == DecodeResult::Malformed);
  push_counted(ring, 5, static_cast<uint32_t>(bad.size()));
  WeirdEvent extra;
  extra.ts_ns = 9;
  extra.name = "fragment_reassembly_timeout";
  extra.source = "decode";
  extra.addl = std::string(300, 'x');  // longer than the fixed part: the text follows it
  extra.has_addrs = true;
  extra.is_orig = true;
  extra.id.orig_h = IpAddr::v4(0x0a000001);
  extra.id.resp_h = IpAddr::v4(0x0a000002);
  extra.id.orig_p = 502;
  extra.id.proto = Transport::Tcp;
  sink.weird(extra);
  push_decode_stats(ring, dec.stats());
  ring.push_end();

  PacketRing::Batch b;
  ring.read(b);
  REQUIRE(b.count == 4);
  REQUIRE(b.records[0].kind == PacketRing::Kind::Weird);
  const WeirdEvent first = read_weird(b.records[0]);
  CHECK_FALSE(first.name.empty());
  CHECK(first.source == "decode");
  CHECK(b.records[1].kind == PacketRing::Kind::Counted);
  REQUIRE(b.records[2].kind == PacketRing::Kind::Weird);
  const WeirdEvent second = read_weird(b.records[2]);
  CHECK(second.ts_ns == 9);
  CHECK(second.name == "fragment_reassembly_timeout");
  CHECK(second.name.data() == extra.name.data());  // a literal, passed by pointer
  CHECK(second.addl == extra.addl);
  CHECK(second.has_addrs);
  CHECK(second.is_orig);
  CHECK(second.id == extra.id);
  CHECK_FALSE(second.uid.is_set());
  REQUIRE(b.records[3].kind == PacketRing::Kind::DecodeStats);
  const Decoder::Stats s = read_decode_stats(b.records[3]);
  CHECK(s.packets == 1);
  CHECK(s.malformed == 1);
  ring.release();
}

TEST_CASE("decoded records of every size survive many wraps of a small ring across threads", "[ring]") {
  PacketRing ring(2048);
  constexpr int kPackets = 5000;
  std::thread producer([&] {
    Decoder dec;
    CollectWeirds w;
    DecodedPacket p;
    for (int i = 0; i < kPackets; ++i) {
      Bytes payload(static_cast<size_t>(i * 53 % 700), 0);
      for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<uint8_t>(i + static_cast<int>(j));
      const Bytes frame = tcp_frame(payload, static_cast<uint32_t>(i));
      if (dec.decode(view(frame), p, w) != DecodeResult::Ok) break;
      push_decoded(ring, p, static_cast<uint32_t>(frame.size()));
      if (i % 5 == 0) push_counted(ring, static_cast<uint64_t>(i), 1);
      if (i % 3 == 0) ring.publish();
    }
    ring.push_end();
  });
  int seen = 0, counted = 0;
  bool ok = true;
  PacketRing::Batch b;
  for (bool end = false; !end;) {
    ring.read(b);
    for (size_t k = 0; k < b.count; ++k) {
      if (b.records[k].kind == PacketRing::Kind::Counted) {
        ok = ok && b.records[k].ts_ns == static_cast<uint64_t>(seen - 1) && (seen - 1) % 5 == 0;
        ++counted;
        continue;
      }
      const DecodedPacket& p = read_decoded(b.records[k]);
      const size_t len = static_cast<size_t>(seen * 53 % 700);
      ok = ok && p.seq == static_cast<uint32_t>(seen) && p.payload.size() == len;
      for (size_t j = 0; ok && j < len; ++j) ok = p.payload[j] == static_cast<uint8_t>(seen + static_cast<int>(j));
      ++seen;
    }
    end = b.end;
    ring.release();
  }
  producer.join();
  CHECK(ok);
  CHECK(seen == kPackets);
  CHECK(counted == kPackets / 5);
}
