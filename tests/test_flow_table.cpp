// The flow table: originator choice and flipping as Zeek decides it, UDP/ICMP semantics, uids,
// timeouts, eviction, interim records, event order and memory per connection.

#include <catch2/catch.hpp>

#include "capture/conn_history.hpp"
#include "flow_test_support.hpp"

using namespace ots;
using namespace ots::test;

namespace {

DecodedPacket udp_packet(IpAddr src, uint16_t sport, IpAddr dst, uint16_t dport, uint64_t ts) {
  DecodedPacket p;
  p.ts_ns = ts;
  p.ip_version = 4;
  p.src = src;
  p.dst = dst;
  p.sport = sport;
  p.dport = dport;
  p.l4 = Transport::Udp;
  p.ip_proto = 17;
  p.payload_len = 4;
  p.ip_len = 32;
  return p;
}

// A table of at most `max_flows` connections and its recorder, for the eviction tests.
struct SmallTable {
  explicit SmallTable(uint32_t max_flows) : t(config(max_flows), rec, rec) {}
  static FlowTableConfig config(uint32_t max_flows) {
    FlowTableConfig c;
    c.max_flows = max_flows;
    return c;
  }
  Recorder rec;
  FlowTable t;
};

}  // namespace

TEST_CASE("flow uid is a deterministic hash of the tuple and first packet time, never zero", "[flow]") {
  Harness h1, h2, h3;
  h1.udp(true);
  h2.udp(false);  // same tuple, first packet in the other direction, same time
  h3.ts += 1;
  h3.udp(true);  // one nanosecond later
  h1.flush();
  h2.flush();
  h3.flush();
  const Uid u1 = h1.only().uid, u2 = h2.only().uid, u3 = h3.only().uid;
  CHECK(u1.is_set());
  CHECK(u1 == u2);
  CHECK(u1 != u3);
  CHECK(u1.to_string().size() > 10);
  CHECK(u1.to_string()[0] == 'C');

  // A second table (another worker, another run) gives the same uid for the same packet.
  Harness again;
  again.udp(true);
  again.flush();
  CHECK(again.only().uid == u1);
}

TEST_CASE("flow UDP: both directions SF with history Dd, payload bytes summed", "[flow]") {
  Harness h;
  h.udp(true, "abcd");
  h.udp(false, "xy");
  h.udp(true, "abcd");
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "SF");
  CHECK(c.history == "Dd");
  CHECK(c.orig.bytes == 8);
  CHECK(c.resp.bytes == 2);
  CHECK(c.orig.pkts == 2);
  CHECK(c.orig.ip_bytes == 2 * 32);
  CHECK(c.id.proto == Transport::Udp);
  CHECK(c.id.orig_h == h.a());
  CHECK(c.id.orig_p == 40000);
}

TEST_CASE("flow UDP: only the originator is S0, a bad checksum is c/C and not activity", "[flow]") {
  Harness h;
  h.udp(true);
  h.udp(false, "zz", /*bad_checksum=*/true);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "S0");
  CHECK(c.history == "Dc");
  CHECK(c.resp.pkts == 1);  // counted (ConnSize sees it first) but not as payload
  CHECK(c.resp.bytes == 0);
}

TEST_CASE("flow UDP from a likely server port is flipped: ^d and SHR", "[flow]") {
  Harness h({}, "10.0.0.1", 40000, "10.0.0.2", 53);
  h.udp(false);
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "^d");
  CHECK(c.state == "SHR");
  CHECK(c.id.orig_h == h.a());
  CHECK(c.id.orig_p == 40000);
  CHECK(c.id.resp_h == h.b());
  CHECK(c.id.resp_p == 53);
  CHECK(c.resp.pkts == 1);

  Harness both({}, "10.0.0.1", 40000, "10.0.0.2", 20000);
  both.udp(false);
  both.udp(true);
  both.flush();
  CHECK(both.only().history == "^dD");
  CHECK(both.only().state == "SF");
}

TEST_CASE("flow UDP is not flipped when both ports are likely servers, or towards broadcast", "[flow]") {
  Harness h({}, "10.0.0.1", 53, "10.0.0.2", 20000);
  h.udp(false);
  h.flush();
  CHECK(h.only().history == "D");
  CHECK(h.only().id.orig_h == h.b());

  Harness bc({}, "255.255.255.255", 40000, "10.0.0.2", 53);
  bc.udp(false);
  bc.flush();
  CHECK(bc.only().history == "D");
  CHECK(bc.only().id.orig_h == bc.b());
  CHECK(bc.only().id.orig_p == 53);
}

TEST_CASE("flow TCP midstream from a server port is flipped", "[flow]") {
  Harness h({}, "10.0.0.1", 40000, "10.0.0.2", 502);
  h.tcp(false, fl::PSH | fl::ACK, 9000, 3000, "resp");
  h.tcp(true, fl::PSH | fl::ACK, 3000, 9004, "req");
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "^dD");
  CHECK(c.id.orig_h == h.a());
  CHECK(c.id.resp_p == 502);
  CHECK(c.state == "OTH");
  CHECK(c.resp.bytes == 4);
  CHECK(c.orig.bytes == 3);
}

TEST_CASE("flow TCP with two likely ports flips only towards the higher port, never on SYN-ACK", "[flow]") {
  Harness low({}, "10.0.0.1", 20000, "10.0.0.2", 502);
  low.tcp(false, fl::PSH | fl::ACK, 9000, 3000, "x");  // 502 -> 20000: source lower, flip
  low.flush();
  CHECK(low.only().history == "^d");
  CHECK(low.only().id.orig_p == 20000);

  Harness high({}, "10.0.0.1", 20000, "10.0.0.2", 502);
  high.tcp(true, fl::PSH | fl::ACK, 3000, 9000, "x");  // 20000 -> 502: no flip
  high.flush();
  CHECK(high.only().history == "D");
  CHECK(high.only().id.orig_p == 20000);

  Harness synack({}, "10.0.0.1", 20000, "10.0.0.2", 502);
  synack.tcp(false, fl::SYN | fl::ACK, 9000, 3001);  // 502 -> 20000, a SYN-ACK: no flip
  synack.flush();
  CHECK(synack.only().history == "H");
  CHECK(synack.only().id.orig_p == 502);
}

TEST_CASE("flow TCP SYN-ACK first from a server port: ^h then the client's ACK establishes", "[flow]") {
  Harness h({}, "10.0.0.1", 40000, "10.0.0.2", 502);
  h.tcp(false, fl::SYN | fl::ACK, 9000, 3001);
  h.tcp(true, fl::ACK, 3001, 9001);
  h.tcp(true, fl::PSH | fl::ACK, 3001, 9001, "req");
  h.tcp(false, fl::PSH | fl::ACK, 9001, 3004, "resp");
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "^hADd");
  CHECK(c.state == "S1");
  CHECK(c.id.orig_h == h.a());
  CHECK(c.orig.bytes == 3);
  CHECK(c.resp.bytes == 4);

  // A SYN-ACK from a port nobody serves on is not flipped (stealth scans): H and a weird.
  Harness odd({}, "10.0.0.1", 40000, "10.0.0.2", 41000);
  odd.tcp(false, fl::SYN | fl::ACK, 9000, 3001);
  odd.flush();
  CHECK(odd.only().history == "H");
  CHECK(odd.only().id.orig_h == odd.b());
  CHECK(odd.rec.saw_weird("connection_originator_SYN_ack"));

  // A plain SYN is never flipped, whatever its ports.
  Harness syn({}, "10.0.0.1", 40000, "10.0.0.2", 502);
  syn.tcp(false, fl::SYN, 9000, 0);
  syn.flush();
  CHECK(syn.only().history == "S");
  CHECK(syn.only().id.orig_p == 502);
}

TEST_CASE("flow ICMP echo request and reply share a connection keyed by type", "[flow]") {
  Harness h;
  h.icmp(true, 8, 0);
  h.icmp(false, 0, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.id.proto == Transport::Icmp);
  CHECK(c.id.orig_h == h.a());
  CHECK(c.id.orig_p == 8);
  CHECK(c.id.resp_p == 0);
  CHECK(c.state == "OTH");
  CHECK(c.history == "");
  CHECK(c.orig.pkts == 1);
  CHECK(c.resp.pkts == 1);
  CHECK(c.orig.bytes == 56);

  // The reply seen first makes its sender the originator (Zeek does not flip ICMP).
  Harness r;
  r.icmp(false, 0, 0);
  r.icmp(true, 8, 0);
  r.flush();
  CHECK(r.only().id.orig_h == r.b());
  CHECK(r.only().id.orig_p == 0);
  CHECK(r.only().id.resp_p == 8);
  CHECK(r.only().resp.pkts == 1);
}

TEST_CASE("flow ICMP one-way messages are keyed in the direction seen, code as second port", "[flow]") {
  Harness h;
  h.icmp(true, 3, 3);
  h.icmp(false, 3, 3);
  h.icmp(true, 3, 3);
  h.flush();
  REQUIRE(h.rec.ended.size() == 2);
  CHECK(h.rec.ended[0].id.orig_p == 3);
  CHECK(h.rec.ended[0].id.resp_p == 3);
  CHECK(h.rec.ended[0].orig.pkts + h.rec.ended[1].orig.pkts == 3);
  CHECK(h.rec.ended[0].resp.pkts + h.rec.ended[1].resp.pkts == 0);
}

TEST_CASE("flow UDP inactivity timeout ends the connection, activity pushes it back", "[flow]") {
  Harness h;
  h.udp(true);
  const uint64_t t1 = h.ts;
  h.advance(t1 + 30 * kSec);
  h.ts = t1 + 30 * kSec - kMs;
  h.udp(false);
  const uint64_t t2 = h.ts;
  h.advance(t1 + 60 * kSec);
  CHECK(h.rec.ended.empty());
  h.advance(t2 + 60 * kSec - 1);
  CHECK(h.rec.ended.empty());
  h.advance(t2 + 60 * kSec);
  const auto& c = h.only();
  CHECK(c.why == FlowEnd::Timeout);
  CHECK(c.when == t2 + 60 * kSec);
  CHECK(c.state == "SF");
}

TEST_CASE("flow a packet after the timeout starts a new connection even without advance_time", "[flow]") {
  Harness h;
  h.udp(true);
  h.ts += 61 * kSec;
  h.udp(true);
  REQUIRE(h.rec.ended.size() == 1);
  CHECK(h.rec.ended[0].why == FlowEnd::Timeout);
  h.flush();
  REQUIRE(h.rec.ended.size() == 2);
  CHECK(h.rec.ended[0].uid != h.rec.ended[1].uid);
}

TEST_CASE("flow TCP timeouts: handshake on the UDP timeout, then tcp_inactivity", "[flow]") {
  FlowTableConfig cfg;
  cfg.tcp_attempt_ns = 0;  // no attempt timer: the handshake phase runs on udp_inactivity_timeout
  Harness h(cfg);
  h.tcp(true, fl::SYN, 1000, 0);
  h.advance(h.ts + 60 * kSec - 1);
  CHECK(h.rec.ended.empty());
  h.advance(h.ts + 60 * kSec);
  CHECK(h.only().why == FlowEnd::Timeout);
  CHECK(h.only().state == "S0");

  Harness mid;
  mid.tcp(true, fl::PSH | fl::ACK, 1000, 2000, "x");
  mid.advance(mid.ts + 299 * kSec);
  CHECK(mid.rec.ended.empty());
  mid.advance(mid.ts + 300 * kSec);
  CHECK(mid.only().why == FlowEnd::Timeout);
  CHECK(mid.only().state == "OTH");
}

TEST_CASE("flow a full table evicts the longest-idle connection", "[flow]") {
  FlowTableConfig cfg;
  cfg.max_flows = 3;
  Recorder rec;
  FlowTable t(cfg, rec, rec);
  const IpAddr a = ip("10.0.0.1"), b = ip("10.0.0.2");
  t.process(udp_packet(a, 1001, b, 7, kT0 + 1));
  t.process(udp_packet(a, 1002, b, 7, kT0 + 2));
  t.process(udp_packet(a, 1003, b, 7, kT0 + 3));
  t.process(udp_packet(b, 7, a, 1001, kT0 + 4));  // 1001 active again: 1002 is now the idlest
  t.process(udp_packet(a, 1004, b, 7, kT0 + 5));
  REQUIRE(rec.ended.size() == 1);
  CHECK(rec.ended[0].id.orig_p == 1002);
  CHECK(rec.ended[0].why == FlowEnd::Evicted);
  CHECK(t.stats().active == 3);
  CHECK(t.stats().evicted == 1);
  CHECK(t.stats().created == 4);
}

TEST_CASE("flow interim records every interval of a connection's life", "[flow]") {
  FlowTableConfig cfg;
  cfg.interim_interval_ns = 10 * kSec;
  Harness h(cfg);
  h.udp(true);
  const uint64_t first = h.ts;
  for (int i = 1; i <= 6; ++i) {
    h.ts = first + static_cast<uint64_t>(i) * 4 * kSec;
    h.advance(h.ts);
    h.udp(i % 2 == 0);
  }
  REQUIRE(h.rec.interim_times.size() == 2);
  CHECK(h.rec.interim_times[0] == first + 10 * kSec);
  CHECK(h.rec.interim_times[1] == first + 20 * kSec);
  CHECK(h.table.stats().interim == 2);
  h.flush();
  h.advance(first + 100 * kSec);
  CHECK(h.rec.interim_times.size() == 2);
}

TEST_CASE("flow interim counts live beside the table only for connections that had one", "[flow]") {
  Recorder rec;
  FlowTableConfig cfg;
  cfg.interim_interval_ns = 10 * kSec;
  cfg.udp_inactivity_ns = 1000 * kSec;
  FlowTable t(cfg, rec, rec);
  const IpAddr a = ip("10.0.0.1"), b = ip("10.0.0.2");
  t.process(udp_packet(a, 1001, b, 7, kT0));
  t.process(udp_packet(a, 1002, b, 7, kT0 + 5 * kSec));
  const uint64_t m0 = t.stats().memory_bytes;
  t.advance_time(kT0 + 10 * kSec);  // 1001's first interim record
  REQUIRE(rec.interim_times.size() == 1);
  CHECK(t.stats().memory_bytes > m0);
  // Each connection counts its own records: 1001 is due at 20 and 30, 1002 at 15, 25 and 35.
  t.advance_time(kT0 + 35 * kSec);
  const std::vector<uint64_t> due = {kT0 + 10 * kSec, kT0 + 15 * kSec, kT0 + 20 * kSec,
                                     kT0 + 25 * kSec, kT0 + 30 * kSec, kT0 + 35 * kSec};
  CHECK(rec.interim_times == due);
  CHECK(t.stats().interim == 6);
  const uint64_t m_two = t.stats().memory_bytes;
  t.flush_all();
  CHECK(t.stats().memory_bytes == m_two - 64);  // both counts went with their connections
}

TEST_CASE("flow events come in order: new, packet, payload, end exactly once", "[flow]") {
  Harness h;
  h.rec.want_payload = true;
  h.udp(true, "ping");
  h.udp(false, "pong");
  h.flush();
  h.flush();
  CHECK(h.rec.calls == std::vector<std::string>{"new", "packet", "payload", "packet", "payload", "end"});
  CHECK(h.rec.stream[0] == "ping");
  CHECK(h.rec.stream[1] == "pong");
}

TEST_CASE("flow flush_all ends connections by first time, then uid", "[flow]") {
  Recorder rec;
  FlowTable t({}, rec, rec);
  const IpAddr a = ip("10.0.0.1"), b = ip("10.0.0.2");
  t.process(udp_packet(a, 3000, b, 7, kT0 + 50));
  t.process(udp_packet(a, 1000, b, 7, kT0 + 10));
  t.process(udp_packet(a, 2000, b, 7, kT0 + 10));
  t.flush_all();
  REQUIRE(rec.ended.size() == 3);
  CHECK(rec.ended[0].first_ts == kT0 + 10);
  CHECK(rec.ended[1].first_ts == kT0 + 10);
  CHECK(rec.ended[0].uid < rec.ended[1].uid);
  CHECK(rec.ended[2].id.orig_p == 3000);
  for (const auto& e : rec.ended) CHECK(e.why == FlowEnd::Shutdown);
  CHECK(t.stats().active == 0);
  CHECK(t.stats().ended == 3);
}

TEST_CASE("flow VLANs keep otherwise identical tuples apart", "[flow]") {
  Recorder rec;
  FlowTable t({}, rec, rec);
  const IpAddr a = ip("10.0.0.1"), b = ip("10.0.0.2");
  DecodedPacket p = udp_packet(a, 1000, b, 7, kT0);
  t.process(p);
  p.vlan = 10;
  t.process(p);
  p.inner_vlan = 20;
  t.process(p);
  CHECK(t.stats().active == 3);
  t.flush_all();
  CHECK(rec.ended[1].uid != rec.ended[0].uid);
}

TEST_CASE("flow memory stays under 170 bytes per UDP connection at 100k connections", "[flow]") {
  Recorder rec;
  FlowTable t({}, rec, rec);
  const IpAddr b = ip("10.9.9.9");
  for (uint32_t i = 0; i < 100'000; ++i) {
    const IpAddr a = IpAddr::v4(0x0a000000u + (i >> 8));
    t.process(udp_packet(a, static_cast<uint16_t>(1024 + (i & 0xff)), b, 502, kT0 + i));
  }
  const auto st = t.stats();
  REQUIRE(st.active == 100'000);
  const double per_flow = static_cast<double>(st.memory_bytes) / static_cast<double>(st.active);
  INFO("bytes per UDP connection: " << per_flow);
  // A 160-byte slot (slabs of 64), a 4-byte bucket head per connection or two, the table's fixed parts:
  // about 166 (184-byte slots, with the uid and the interim count in them, made it 190).
  CHECK(per_flow < 170.0);
  t.flush_all();
  CHECK(rec.ended.size() == 100'000);
}

TEST_CASE("flow memory per TCP connection at 20k connections with payload", "[flow]") {
  // Handshake, four bytes each way, both acknowledged: every connection has run its streams.
  Recorder rec;
  FlowTableConfig cfg;
  cfg.tcp_attempt_ns = 0;  // no attempt timers: the heap would hold one per connection
  FlowTable t(cfg, rec, rec);
  static constexpr uint8_t kData[4] = {1, 2, 3, 4};
  const IpAddr b = ip("10.9.9.9");
  auto tcp = [](IpAddr src, uint16_t sport, IpAddr dst, uint16_t dport, uint64_t ts, uint8_t flags, uint32_t seq,
                uint32_t ack, bool data) {
    DecodedPacket p = udp_packet(src, sport, dst, dport, ts);  // the addressing; TCP from here on
    p.l4 = Transport::Tcp;
    p.ip_proto = 6;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.window = 8192;
    p.payload = data ? std::span<const uint8_t>(kData) : std::span<const uint8_t>();
    p.payload_len = data ? 4 : 0;
    p.ip_len = 40 + p.payload_len;
    return p;
  };
  for (uint32_t i = 0; i < 20'000; ++i) {
    const IpAddr a = IpAddr::v4(0x0a000000u + (i >> 8));
    const auto port = static_cast<uint16_t>(1024 + (i & 0xff));
    const uint64_t ts = kT0 + i * 1000;
    t.process(tcp(a, port, b, 502, ts, fl::SYN, 100, 0, false));
    t.process(tcp(b, 502, a, port, ts + 1, fl::SYN | fl::ACK, 900, 101, false));
    t.process(tcp(a, port, b, 502, ts + 2, fl::ACK | fl::PSH, 101, 901, true));
    t.process(tcp(b, 502, a, port, ts + 3, fl::ACK | fl::PSH, 901, 105, true));
    t.process(tcp(a, port, b, 502, ts + 4, fl::ACK, 105, 905, false));
  }
  const auto st = t.stats();
  REQUIRE(st.active == 20'000);
  const double per_flow = static_cast<double>(st.memory_bytes) / static_cast<double>(st.active);
  INFO("bytes per TCP connection: " << per_flow);
  // A 160-byte slot (slabs of 64) and a 116-byte TCP state (pools of 256), a bucket head or two, the
  // fixed parts: about 287 (it was 365 with a 184-byte slot and a 168-byte TCP state).
  CHECK(per_flow < 290.0);
  CHECK(st.reassembly_bytes == 0);  // everything acknowledged: no buffers left
  t.flush_all();
  REQUIRE(rec.ended.size() == 20'000);
  CHECK(rec.ended.back().history == "ShDdA");
  CHECK(rec.ended.back().orig.bytes == 4);
}

TEST_CASE("flow history packs each of its 25 letters in 5 bits and keeps the first 23", "[flow]") {
  flow::ConnHistory h;
  CHECK(h.text().empty());
  for (char c : flow::kHistoryLetters) h.add(c);
  // 25 letters offered, the first 23 kept, in order.
  CHECK(std::string(h.text().c_str()) == std::string(flow::kHistoryLetters.substr(0, 23)));
  CHECK(h.size() == 23);
  h.clear();
  for (char c : std::string_view("^ShADadFf")) h.add(c);
  CHECK(h.text().view() == "^ShADadFf");
  for (char c : flow::kHistoryLetters.substr(2)) {  // the last two letters at the end of a full history
    h.clear();
    for (int i = 0; i < 22; ++i) h.add('T');
    h.add(c);
    CHECK(h.text().view() == std::string(22, 'T') + c);
  }
  // Once-only bits: the responder's TCP masks (shifted by 8) are apart from the originator's.
  h.clear();
  CHECK_FALSE(h.check(0x40, 'Q'));
  CHECK(h.check(0x40, 'Q'));
  CHECK_FALSE(h.check(0x4000, 'q'));
  CHECK(h.check(0x4000, 'q'));
  CHECK(h.text().view() == "Qq");
}

TEST_CASE("flow IPv4 and IPv6 connections on shared buckets are found again across growth and removals",
          "[flow]") {
  // 6,000 connections grow the bucket table from 1,024 to 8,192 heads (each growth rehashes every chain);
  // half of them time out (unlinked from the middle of chains); the other half must still be found.
  Recorder rec;
  FlowTable t({}, rec, rec);
  const IpAddr server4 = ip("10.9.9.9"), server6 = ip("fd00::9");
  auto client = [](uint32_t i) {
    if (i % 2 == 0) return IpAddr::v4(0x0a000000u + i);
    IpAddr a = ip("fd00::");
    a.bytes[12] = static_cast<uint8_t>(i >> 24);
    a.bytes[13] = static_cast<uint8_t>(i >> 16);
    a.bytes[14] = static_cast<uint8_t>(i >> 8);
    a.bytes[15] = static_cast<uint8_t>(i);
    return a;
  };
  auto packet = [&](uint32_t i, bool from_client, uint64_t ts) {
    const IpAddr c = client(i), s = (i % 2 == 0) ? server4 : server6;
    DecodedPacket p = from_client ? udp_packet(c, 40000, s, 502, ts) : udp_packet(s, 502, c, 40000, ts);
    p.ip_version = (i % 2 == 0) ? 4 : 6;
    return p;
  };
  constexpr uint32_t kN = 6000;
  for (uint32_t i = 0; i < kN; ++i) t.process(packet(i, true, kT0 + (i < kN / 2 ? 0 : 30 * kSec) + i));
  REQUIRE(t.stats().active == kN);
  t.advance_time(kT0 + 61 * kSec);  // the first half's udp_inactivity_timeout is due
  REQUIRE(rec.ended.size() == kN / 2);
  for (uint32_t i = kN / 2; i < kN; ++i) t.process(packet(i, false, kT0 + 62 * kSec + i));
  CHECK(t.stats().active == kN / 2);  // every reply found its connection
  t.process(packet(0, true, kT0 + 63 * kSec));  // an ended connection's tuple starts a new one
  CHECK(t.stats().active == kN / 2 + 1);
  t.flush_all();
  REQUIRE(rec.ended.size() == kN + 1);
  size_t answered = 0;
  for (size_t k = kN / 2; k < kN; ++k) answered += rec.ended[k].history == "Dd" ? 1 : 0;
  CHECK(answered == kN / 2);
  CHECK(rec.ended[kN].id.orig_h == client(0));
  CHECK(rec.ended[kN].history == "D");
}

TEST_CASE("flow IPv6 connections alone pay for 16-byte addresses and give them back on eviction and timeout",
          "[flow]") {
  SmallTable table(4);
  Recorder& rec = table.rec;
  FlowTable& t = table.t;
  const IpAddr a4 = ip("10.0.0.1"), b4 = ip("10.0.0.2"), a6 = ip("fd00::1"), b6 = ip("2001:db8::ff:2");
  auto v6 = [](DecodedPacket p) {
    p.ip_version = 6;
    return p;
  };
  t.process(udp_packet(a4, 1001, b4, 7, kT0 + 1));
  const uint64_t m1 = t.stats().memory_bytes;
  t.process(v6(udp_packet(a6, 1002, b6, 7, kT0 + 2)));
  CHECK(t.stats().memory_bytes == m1 + 32);  // the IPv6 connection's address pair
  t.process(v6(udp_packet(b6, 53, a6, 40000, kT0 + 3)));  // from a likely server port: flipped
  CHECK(t.stats().memory_bytes == m1 + 64);
  t.process(udp_packet(a4, 1004, b4, 7, kT0 + 4));
  CHECK(t.stats().memory_bytes == m1 + 64);  // IPv4 connections pay nothing beside their slot
  // Both directions of each still meet on one connection.
  t.process(v6(udp_packet(b6, 7, a6, 1002, kT0 + 5)));
  t.process(v6(udp_packet(a6, 40000, b6, 53, kT0 + 6)));
  t.process(udp_packet(b4, 7, a4, 1004, kT0 + 7));
  CHECK(t.stats().active == 4);
  // The table is full: each new connection evicts the idlest, the IPv4 one first, then an IPv6 one.
  t.process(udp_packet(a4, 1005, b4, 7, kT0 + 8));
  REQUIRE(rec.ended.size() == 1);
  CHECK(rec.ended[0].id.orig_h == a4);
  CHECK(t.stats().memory_bytes == m1 + 64);
  t.process(udp_packet(a4, 1006, b4, 7, kT0 + 9));
  REQUIRE(rec.ended.size() == 2);
  CHECK(rec.ended[1].why == FlowEnd::Evicted);
  CHECK(rec.ended[1].id.orig_h == a6);
  CHECK(rec.ended[1].id.resp_h == b6);
  CHECK(rec.ended[1].id.orig_p == 1002);
  CHECK(rec.ended[1].history == "Dd");
  CHECK(t.stats().memory_bytes == m1 + 32);
  t.advance_time(kT0 + 120 * kSec);  // udp_inactivity_timeout for the rest
  REQUIRE(rec.ended.size() == 6);
  bool flipped_seen = false;
  for (const EndedConn& e : rec.ended) {
    if (e.id.orig_p != 40000) continue;
    flipped_seen = true;
    CHECK(e.id.orig_h == a6);  // the originator is the client, the side not on port 53
    CHECK(e.id.resp_h == b6);
    CHECK(e.id.resp_p == 53);
    CHECK(e.why == FlowEnd::Timeout);
    CHECK(e.history == "^dD");
  }
  CHECK(flipped_seen);
  CHECK(t.stats().active == 0);
  CHECK(t.stats().memory_bytes == m1);
}

TEST_CASE("flow a connection's id round-trips IPv4 in 4 bytes and IPv6 in its own pair through copies and moves",
          "[flow]") {
  Conn c4;
  c4.set_id(ConnId{ip("192.168.1.10"), ip("10.0.0.255"), 40000, 502, Transport::Tcp});
  CHECK(c4.id() == ConnId{ip("192.168.1.10"), ip("10.0.0.255"), 40000, 502, Transport::Tcp});
  CHECK_FALSE(c4.v6_);
  CHECK(c4.orig_h_is(ip("192.168.1.10")));
  CHECK_FALSE(c4.orig_h_is(ip("::192.168.1.10")));  // same low 4 bytes, not an IPv4 address
  const ConnId id6{ip("fe80::1"), ip("10.0.0.1"), 1, 2, Transport::Udp};  // a mixed pair stays 16 bytes each
  Conn c6;
  c6.set_id(id6);
  CHECK(c6.v6_);
  CHECK(c6.id() == id6);
  Conn copy = c6;
  c6.flip_id();
  CHECK(c6.id() == ConnId{ip("10.0.0.1"), ip("fe80::1"), 2, 1, Transport::Udp});
  CHECK(copy.id() == id6);  // the copy owns its own pair
  copy = c4;
  CHECK(copy.id() == c4.id());
  CHECK_FALSE(copy.v6_);
  Conn moved = std::move(c6);
  CHECK(moved.id().orig_h == ip("10.0.0.1"));
  c4 = std::move(moved);
  CHECK(c4.id().resp_h == ip("fe80::1"));
  c4.clear_id();  // the pair is given back
  CHECK(c4.id().orig_h == IpAddr::v4(0u));
  CHECK_FALSE(c4.v6_);
}

TEST_CASE("flow UDP bad-checksum counters live beside the table only while their connection does",
          "[flow]") {
  SmallTable table(2);
  Recorder& rec = table.rec;
  FlowTable& t = table.t;
  const IpAddr a = ip("10.0.0.1"), b = ip("10.0.0.2");
  auto bad = [](DecodedPacket p) {
    p.bad_checksum = true;
    return p;
  };
  t.process(udp_packet(a, 1001, b, 7, kT0 + 1));
  const uint64_t m1 = t.stats().memory_bytes;
  // Connection 1001: 10 bad datagrams from the responder (c at the 1st and the 10th), 1 from the originator.
  for (uint64_t k = 0; k < 10; ++k) t.process(bad(udp_packet(b, 7, a, 1001, kT0 + 2 + k)));
  t.process(bad(udp_packet(a, 1001, b, 7, kT0 + 20)));
  CHECK(t.stats().memory_bytes > m1);
  // Connection 1002 has its own counters: its first bad datagram is a C again.
  t.process(udp_packet(a, 1002, b, 7, kT0 + 21));
  t.process(bad(udp_packet(a, 1002, b, 7, kT0 + 22)));
  const uint64_t m_two = t.stats().memory_bytes;  // two connections with counters
  // A third connection evicts the idlest (1001, whose bad datagrams were not activity).
  t.process(udp_packet(a, 1003, b, 7, kT0 + 23));
  REQUIRE(rec.ended.size() == 1);
  CHECK(rec.ended[0].id.orig_p == 1001);
  CHECK(rec.ended[0].why == FlowEnd::Evicted);
  CHECK(rec.ended[0].history == "DccC");
  CHECK(t.stats().memory_bytes == m_two - 32);  // its counters went with it
  // 1001's slot is reused by 1003: its counters did not survive (a bad datagram is a first C again).
  t.process(bad(udp_packet(a, 1003, b, 7, kT0 + 24)));
  t.advance_time(kT0 + 120 * kSec);
  REQUIRE(rec.ended.size() == 3);
  for (size_t k = 1; k < 3; ++k) {
    CHECK(rec.ended[k].why == FlowEnd::Timeout);
    CHECK(rec.ended[k].history == "DC");
  }
  CHECK(t.stats().memory_bytes == m_two - 64);
}
