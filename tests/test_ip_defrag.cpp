// IPv4 and IPv6 fragment reassembly through Decoder::decode.
#include <catch2/catch.hpp>

#include "capture/decode.hpp"
#include "tests/packet_builder.hpp"

using namespace ots;
using namespace ots::test;

namespace {

const V4Addr kA{10, 0, 0, 1}, kB{10, 0, 0, 2};

Bytes payload100() {
  Bytes p(100);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 7 + 1);
  return p;
}

// The UDP datagram (header + 100 bytes) that the fragments below carry.
Bytes whole_udp() { return udp(20000, 20001, payload100(), pseudo(kA, kB)); }

Bytes v4frag(const Bytes& seg, size_t off, size_t len, bool more, uint16_t id = 7) {
  V4Spec ip;
  ip.src = kA;
  ip.dst = kB;
  ip.proto = 17;
  ip.id = id;
  ip.mf = more;
  ip.frag_off = static_cast<uint16_t>(off);
  ip.ttl = off == 0 ? 60 : 61;  // the first fragment's TTL is the datagram's
  return eth(0x0800, ipv4(ip, Bytes(seg.begin() + static_cast<std::ptrdiff_t>(off),
                                    seg.begin() + static_cast<std::ptrdiff_t>(off + len))));
}

void check_udp_datagram(const DecodedPacket& p) {
  CHECK(p.from_fragments);
  CHECK(p.ip_version == 4);
  CHECK(p.src.to_string() == "10.0.0.1");
  CHECK(p.dst.to_string() == "10.0.0.2");
  CHECK(p.ip_len == 20 + 108);
  CHECK(p.ttl == 60);
  CHECK(p.l4 == Transport::Udp);
  CHECK(p.ip_proto == 17);
  CHECK(p.sport == 20000);
  CHECK(p.dport == 20001);
  CHECK(p.payload_len == 100);
  CHECK(Bytes(p.payload.begin(), p.payload.end()) == payload100());
  CHECK_FALSE(p.bad_checksum);
}

}  // namespace

TEST_CASE("IPv4 fragments in order reassemble into one datagram", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  DecodeConfig cfg;
  cfg.verify_checksums = true;  // the UDP checksum covers the rebuilt datagram
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  CHECK(dec.decode(view(v4frag(seg, 0, 48, true)), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(v4frag(seg, 48, 48, true)), p, w) == DecodeResult::Held);
  REQUIRE(dec.decode(view(v4frag(seg, 96, 12, false)), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  check_udp_datagram(p);
  CHECK(dec.stats().fragments == 3);
  CHECK(dec.stats().reassembled == 1);
  CHECK(dec.stats().frag_dropped == 0);
  CHECK(dec.stats().malformed == 0);
}

TEST_CASE("IPv4 fragments out of order reassemble", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  CHECK(dec.decode(view(v4frag(seg, 96, 12, false)), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(v4frag(seg, 48, 48, true)), p, w) == DecodeResult::Held);
  REQUIRE(dec.decode(view(v4frag(seg, 0, 48, true)), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  check_udp_datagram(p);

  // Two datagrams interleaved (different ids) do not mix.
  CHECK(dec.decode(view(v4frag(seg, 0, 48, true, 1)), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(v4frag(seg, 0, 48, true, 2)), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 2)), p, w) == DecodeResult::Ok);
  check_udp_datagram(p);
  CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 1)), p, w) == DecodeResult::Ok);
  check_udp_datagram(p);
}

TEST_CASE("overlapping IPv4 fragments keep the first bytes and are weirds", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  SECTION("same bytes: fragment_overlap") {
    CHECK(dec.decode(view(v4frag(seg, 0, 48, true)), p, w) == DecodeResult::Held);
    CHECK(dec.decode(view(v4frag(seg, 24, 48, true)), p, w) == DecodeResult::Held);
    CHECK(w.names() == "fragment_overlap");
    REQUIRE(dec.decode(view(v4frag(seg, 72, 36, false)), p, w) == DecodeResult::Ok);
    check_udp_datagram(p);
    REQUIRE(w.items.size() == 1);
    CHECK(w.items[0].ev.has_addrs);
    CHECK(w.items[0].ev.id.orig_h.to_string() == "10.0.0.1");
  }
  SECTION("different bytes: fragment_inconsistency, first wins") {
    Bytes evil = seg;
    for (size_t i = 40; i < 96; ++i) evil[i] ^= 0xff;
    CHECK(dec.decode(view(v4frag(seg, 0, 48, true)), p, w) == DecodeResult::Held);
    CHECK(dec.decode(view(v4frag(evil, 40, 56, true)), p, w) == DecodeResult::Held);
    CHECK(w.names() == "fragment_inconsistency");
    REQUIRE(dec.decode(view(v4frag(seg, 96, 12, false)), p, w) == DecodeResult::Ok);
    // Bytes 40..47 come from the first fragment, 48..95 (new) from the second.
    REQUIRE(p.payload.size() == 100);
    CHECK(p.payload[40 - 8] == seg[40]);
    CHECK(p.payload[47 - 8] == seg[47]);
    CHECK(p.payload[48 - 8] == evil[48]);
  }
  SECTION("a fragment covering several held ones fills only the holes") {
    CHECK(dec.decode(view(v4frag(seg, 0, 16, true)), p, w) == DecodeResult::Held);
    CHECK(dec.decode(view(v4frag(seg, 32, 16, true)), p, w) == DecodeResult::Held);
    CHECK(dec.decode(view(v4frag(seg, 64, 16, true)), p, w) == DecodeResult::Held);
    CHECK(dec.decode(view(v4frag(seg, 0, 96, true)), p, w) == DecodeResult::Held);
    CHECK(w.has("fragment_overlap"));
    REQUIRE(dec.decode(view(v4frag(seg, 96, 12, false)), p, w) == DecodeResult::Ok);
    check_udp_datagram(p);
  }
}

TEST_CASE("incomplete IPv4 datagrams time out with a weird", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  DecodeConfig cfg;
  cfg.frag_timeout_ns = 30'000'000'000ull;
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  const uint64_t t0 = 1'000'000'000'000ull;
  CHECK(dec.decode(view(v4frag(seg, 0, 48, true), LinkType::Ethernet, t0), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(v4frag(seg, 48, 48, true), LinkType::Ethernet, t0 + 1), p, w) == DecodeResult::Held);
  dec.expire(t0 + 29'000'000'000ull, w);
  CHECK(w.items.empty());
  dec.expire(t0 + 30'000'000'000ull, w);
  REQUIRE(w.names() == "fragment_reassembly_timeout");
  CHECK(w.items[0].ev.ts_ns == t0 + 30'000'000'000ull);
  CHECK(w.items[0].ev.id.resp_h.to_string() == "10.0.0.2");
  CHECK(dec.stats().frag_dropped == 2);
  // The rest arrives too late: it starts a new, incomplete datagram.
  CHECK(dec.decode(view(v4frag(seg, 96, 12, false), LinkType::Ethernet, t0 + 31'000'000'000ull), p, w) ==
        DecodeResult::Held);
  CHECK(dec.stats().reassembled == 0);
}

TEST_CASE("fragment memory is bounded: the oldest datagram is evicted", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  CollectWeirds w;
  DecodedPacket p;
  SECTION("by datagram count") {
    DecodeConfig cfg;
    cfg.frag_max_datagrams = 2;
    Decoder dec(cfg);
    for (uint16_t id = 1; id <= 3; ++id) {
      CHECK(dec.decode(view(v4frag(seg, 0, 48, true, id)), p, w) == DecodeResult::Held);
    }
    REQUIRE(w.names() == "fragment_table_full");
    CHECK(dec.stats().frag_dropped == 1);
    CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 1)), p, w) == DecodeResult::Held);  // id 1 was evicted
    CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 3)), p, w) == DecodeResult::Ok);
    check_udp_datagram(p);
  }
  SECTION("by bytes") {
    DecodeConfig cfg;
    cfg.frag_max_bytes = 1000;  // room for about three datagrams' first fragments
    Decoder dec(cfg);
    for (uint16_t id = 1; id <= 10; ++id) {
      CHECK(dec.decode(view(v4frag(seg, 0, 48, true, id)), p, w) == DecodeResult::Held);
    }
    CHECK(w.has("fragment_table_full"));
    CHECK(dec.stats().frag_dropped >= 6);
    CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 10)), p, w) == DecodeResult::Ok);
    check_udp_datagram(p);
    CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 1)), p, w) == DecodeResult::Held);
  }
  SECTION("a datagram larger than the bound is dropped") {
    DecodeConfig cfg;
    cfg.frag_max_bytes = 300;
    Decoder dec(cfg);
    const Bytes big = udp(1, 2, Bytes(1000, 9), pseudo(kA, kB));
    CHECK(dec.decode(view(v4frag(big, 0, 200, true, 5)), p, w) == DecodeResult::Malformed);
    CHECK(w.has("fragment_table_full"));
  }
}

TEST_CASE("fragment oddities use Zeek's weird names", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  // A non-last fragment under 64 bytes (Zeek's MIN_ACCEPTABLE_FRAG_SIZE).
  CHECK(dec.decode(view(v4frag(seg, 0, 16, true, 40)), p, w) == DecodeResult::Held);
  CHECK(w.names() == "excessively_small_fragment");
  w.clear();
  V4Spec df;
  df.src = kA;
  df.dst = kB;
  df.proto = 17;
  df.id = 41;
  df.df = true;
  df.mf = true;
  CHECK(dec.decode(view(eth(0x0800, ipv4(df, Bytes(seg.begin(), seg.begin() + 48)))), p, w) == DecodeResult::Held);
  CHECK(w.names() == "fragment_with_DF");
  w.clear();
  // Reaching past 65535 bytes: cannot be part of a valid datagram.
  V4Spec pod;
  pod.proto = 17;
  pod.id = 42;
  pod.frag_off = 65528;
  CHECK(dec.decode(view(eth(0x0800, ipv4(pod, Bytes(100, 0)))), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "excessively_large_fragment");
  w.clear();
  // Two last fragments disagreeing on the end.
  CHECK(dec.decode(view(v4frag(seg, 48, 60, false, 43)), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(v4frag(seg, 48, 40, false, 43)), p, w) == DecodeResult::Held);
  CHECK(w.has("fragment_size_inconsistency"));
}

TEST_CASE("fragments the snaplen cut are not reassembled", "[decode][defrag]") {
  const Bytes seg = whole_udp();
  Decoder dec;
  CollectWeirds w;
  DecodedPacket p;
  Bytes first = v4frag(seg, 0, 48, true);
  const uint32_t wire = static_cast<uint32_t>(first.size());
  first.resize(first.size() - 10);
  REQUIRE(dec.decode(view(first, LinkType::Ethernet, 1, wire), p, w) == DecodeResult::Ok);
  // (and UDP_datagram_length_mismatch: the UDP length is the whole datagram's, as in Zeek)
  CHECK(w.has("incompletely_captured_fragment"));
  CHECK(p.sport == 20000);  // the first fragment still names the connection
  CHECK_FALSE(p.from_fragments);
  w.clear();
  Bytes second = v4frag(seg, 48, 48, true);
  second.resize(second.size() - 10);
  CHECK(dec.decode(view(second, LinkType::Ethernet, 1, wire), p, w) == DecodeResult::Malformed);
  CHECK(w.names() == "incompletely_captured_fragment");
  CHECK(dec.stats().frag_dropped == 1);
}

TEST_CASE("IPv6 fragments reassemble, with extension headers before and after the fragment header",
          "[decode][defrag]") {
  const V6Addr a = v6addr(0x2001, 0xa), b = v6addr(0x2001, 0xb);
  // Fragmentable part: destination options, then UDP with 100 bytes.
  Bytes frag_part = ext_header(17, Bytes{1, 4, 0, 0, 0, 0});
  append(frag_part, udp(47808, 47808, payload100(), pseudo(a, b)));
  const Bytes hbh = ext_header(44, Bytes{1, 4, 0, 0, 0, 0});  // hop-by-hop, in every fragment
  auto frag = [&](size_t off, size_t len, bool more) {
    Bytes body = hbh;
    append(body, frag_header(60, static_cast<uint16_t>(off), more, 0xabcdef));
    body.insert(body.end(), frag_part.begin() + static_cast<std::ptrdiff_t>(off),
                frag_part.begin() + static_cast<std::ptrdiff_t>(off + len));
    return eth(0x86dd, ipv6(a, b, 0, body, 50));
  };
  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder dec(cfg);
  CollectWeirds w;
  DecodedPacket p;
  REQUIRE(frag_part.size() == 116);
  CHECK(dec.decode(view(frag(64, 52, false)), p, w) == DecodeResult::Held);
  REQUIRE(dec.decode(view(frag(0, 64, true)), p, w) == DecodeResult::Ok);
  CHECK(w.items.empty());
  CHECK(p.from_fragments);
  CHECK(p.ip_version == 6);
  CHECK(p.src.to_string() == "2001::a");
  CHECK(p.dst.to_string() == "2001::b");
  CHECK(p.ip_len == 40 + 8 + 116);  // fixed header + hop-by-hop + fragmentable part (Zeek's reassembled size)
  CHECK(p.ttl == 50);
  CHECK(p.l4 == Transport::Udp);
  CHECK(p.ip_proto == 17);
  CHECK(p.sport == 47808);
  CHECK(p.payload_len == 100);
  CHECK(Bytes(p.payload.begin(), p.payload.end()) == payload100());
  CHECK_FALSE(p.bad_checksum);
  CHECK(dec.stats().reassembled == 1);

  // Overlap in IPv6 is reported the same way.
  CHECK(dec.decode(view(frag(0, 64, true)), p, w) == DecodeResult::Held);
  CHECK(dec.decode(view(frag(0, 64, true)), p, w) == DecodeResult::Held);
  CHECK(w.names() == "fragment_overlap");
}
