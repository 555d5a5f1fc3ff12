// Zeek's conn_state and history for TCP: one packet sequence per conn_state value, with the history
// string Zeek writes for it (TCPSessionAdapter.cc state machine, base/protocols/conn/main.zeek).

#include <catch2/catch.hpp>

#include "capture/tcp_state.hpp"
#include "flow_test_support.hpp"

using namespace ots;
using namespace ots::test;

namespace {

constexpr uint32_t kA = 1000;  // A's ISN
constexpr uint32_t kB = 5000;  // B's ISN

void handshake(Harness& h) {
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(false, fl::SYN | fl::ACK, kB, kA + 1);
  h.tcp(true, fl::ACK, kA + 1, kB + 1);
}

}  // namespace

TEST_CASE("tcp S0: an unanswered SYN ends after tcp_attempt_delay", "[tcp]") {
  Harness h;
  h.tcp(true, fl::SYN, kA, 0);
  const uint64_t syn = h.ts;
  h.advance(syn + 5 * kSec - 1);
  CHECK(h.rec.ended.empty());
  h.advance(syn + 5 * kSec);
  const auto& c = h.only();
  CHECK(c.state == "S0");
  CHECK(c.history == "S");
  CHECK(c.why == FlowEnd::Timeout);
  CHECK(c.orig.pkts == 1);
  CHECK(c.resp.pkts == 0);
  CHECK(c.orig.bytes == 0);
}

TEST_CASE("tcp S1: established and never closed", "[tcp]") {
  Harness h;
  handshake(h);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "S1");
  CHECK(c.history == "ShA");
  CHECK(c.why == FlowEnd::Shutdown);
}

TEST_CASE("tcp SF: a normal session is ShADadFf with sizes from the sequence space", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  h.tcp(false, fl::ACK, kB + 1, kA + 6);
  h.tcp(false, fl::PSH | fl::ACK, kB + 1, kA + 6, "world!");
  h.tcp(true, fl::FIN | fl::ACK, kA + 6, kB + 7);
  h.tcp(false, fl::FIN | fl::ACK, kB + 7, kA + 7);
  const uint64_t last_fin = h.ts;
  h.tcp(true, fl::ACK, kA + 7, kB + 8);
  // The close completes with the second FIN: the connection goes tcp_close_delay after it.
  h.advance(last_fin + 5 * kSec - 1);
  CHECK(h.rec.ended.empty());
  h.advance(last_fin + 5 * kSec);
  const auto& c = h.only();
  CHECK(c.state == "SF");
  CHECK(c.history == "ShADadFf");
  CHECK(c.why == FlowEnd::Closed);
  CHECK(c.orig.bytes == 5);
  CHECK(c.resp.bytes == 6);
  CHECK(c.orig.pkts == 5);
  CHECK(c.resp.pkts == 4);
  CHECK(c.orig.ip_bytes == 5 * 40 + 5);
  CHECK(c.resp.ip_bytes == 4 * 40 + 6);
  // Zeek stops moving last_time once both sides closed: the final ACK is not in the duration.
  CHECK(c.last_ts == last_fin);
  CHECK(c.missed == 0);
}

TEST_CASE("tcp REJ: SYN answered by RST", "[tcp]") {
  Harness h;
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(false, fl::RST | fl::ACK, 0, kA + 1);
  const uint64_t rst = h.ts;
  h.advance(rst + 5 * kSec);
  const auto& c = h.only();
  CHECK(c.state == "REJ");
  CHECK(c.history == "Sr");
  CHECK(c.why == FlowEnd::Closed);
  CHECK(c.resp.bytes == 0);
}

TEST_CASE("tcp S2: originator closes, responder never answers", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(true, fl::FIN | fl::ACK, kA + 1, kB + 1);
  const uint64_t fin = h.ts;
  h.advance(fin + 300 * kSec - 1);  // tcp_inactivity_timeout
  CHECK(h.rec.ended.empty());
  h.advance(fin + 300 * kSec);
  const auto& c = h.only();
  CHECK(c.state == "S2");
  CHECK(c.history == "ShAF");
  CHECK(c.why == FlowEnd::Timeout);
}

TEST_CASE("tcp S3: responder closes, originator never answers", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(false, fl::FIN | fl::ACK, kB + 1, kA + 1);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "S3");
  CHECK(c.history == "ShAf");
}

TEST_CASE("tcp RSTO: the originator aborts after the SYN-ACK (ShR)", "[tcp]") {
  // conn.log line of zeek's modbus_and_non_modbus_on_port_502 baseline: ShR, RSTO, 2 and 1 packets.
  Harness h({}, "198.74.56.135", 60293, "192.168.10.111", 502);
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(false, fl::SYN | fl::ACK, kB, kA + 1);
  h.tcp(true, fl::RST, kA + 1, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "RSTO");
  CHECK(c.history == "ShR");
  CHECK(c.orig.pkts == 2);
  CHECK(c.resp.pkts == 1);
  CHECK(c.orig.bytes == 0);
  CHECK(c.resp.bytes == 0);
}

TEST_CASE("tcp RSTR: the responder aborts an established connection", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(false, fl::RST, kB + 1, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "RSTR");
  CHECK(c.history == "ShAr");
}

TEST_CASE("tcp RSTOS0: SYN then RST from the originator, nothing from the responder", "[tcp]") {
  Harness h;
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(true, fl::RST, kA + 1, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "RSTOS0");
  CHECK(c.history == "SR");
  CHECK(c.orig.bytes == 0);
}

TEST_CASE("tcp RSTRH: midstream data answered by RST (Dr)", "[tcp]") {
  // Zeek baseline line: 198.74.56.135:60293 -> 192.168.10.111:502, 109 bytes, RSTRH, "Dr", 1/149, 1/40.
  Harness h({}, "198.74.56.135", 60293, "192.168.10.111", 502);
  h.tcp(true, fl::PSH | fl::ACK, 2000, 7000, std::string(109, 'q'));
  h.tcp(false, fl::RST, 7000, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "RSTRH");
  CHECK(c.history == "Dr");
  CHECK(c.orig.bytes == 109);
  CHECK(c.resp.bytes == 0);
  CHECK(c.orig.pkts == 1);
  CHECK(c.orig.ip_bytes == 149);
  CHECK(c.resp.pkts == 1);
  CHECK(c.resp.ip_bytes == 40);
}

TEST_CASE("tcp ShR then Dr on one tuple: the reset connection goes, the next one starts midstream", "[tcp]") {
  Harness h({}, "198.74.56.135", 60293, "192.168.10.111", 502);
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(false, fl::SYN | fl::ACK, kB, kA + 1);
  h.tcp(true, fl::RST, kA + 1, 0);
  h.ts += 10 * kSec;
  h.advance(h.ts);
  h.tcp(true, fl::PSH | fl::ACK, 2000, 7000, std::string(109, 'q'));
  h.tcp(false, fl::RST, 7000, 0);
  h.flush();
  REQUIRE(h.rec.ended.size() == 2);
  CHECK(h.rec.ended[0].history == "ShR");
  CHECK(h.rec.ended[0].state == "RSTO");
  CHECK(h.rec.ended[0].why == FlowEnd::Closed);
  CHECK(h.rec.ended[1].history == "Dr");
  CHECK(h.rec.ended[1].state == "RSTRH");
  CHECK(h.rec.ended[0].uid != h.rec.ended[1].uid);
}

TEST_CASE("tcp SH: SYN then FIN, no SYN-ACK", "[tcp]") {
  Harness h;
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(true, fl::FIN, kA + 1, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "SH");
  CHECK(c.history == "SF");
  CHECK(h.rec.saw_weird("inappropriate_FIN"));
}

TEST_CASE("tcp SHR: SYN-ACK then FIN from the responder, no SYN (flipped by the server port)", "[tcp]") {
  Harness h({}, "10.0.0.1", 40000, "10.0.0.2", 502);
  h.tcp(false, fl::SYN | fl::ACK, kB, kA + 1);
  h.tcp(false, fl::FIN | fl::ACK, kB + 1, kA + 1);
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "SHR");
  CHECK(c.history == "^hf");
  CHECK(c.id.orig_h == h.a());
  CHECK(c.id.orig_p == 40000);
  CHECK(c.id.resp_p == 502);
  CHECK(c.resp.pkts == 2);
  CHECK(c.orig.pkts == 0);
}

TEST_CASE("tcp OTH: midstream traffic without any SYN", "[tcp]") {
  Harness h;
  h.tcp(true, fl::PSH | fl::ACK, 3000, 9000, "x");
  h.tcp(false, fl::PSH | fl::ACK, 9000, 3001, "y");
  h.flush();
  const auto& c = h.only();
  CHECK(c.state == "OTH");
  CHECK(c.history == "Dd");
  CHECK(c.orig.bytes == 1);
  CHECK(c.resp.bytes == 1);
}

TEST_CASE("tcp a lone RST is OTH with history R", "[tcp]") {
  Harness h;
  h.tcp(true, fl::RST, kA, 0);
  h.flush();
  CHECK(h.only().state == "OTH");
  CHECK(h.only().history == "R");
  CHECK(h.rec.saw_weird("spontaneous_RST"));
}

TEST_CASE("tcp retransmitted payload counts once and adds T at the 1st and 10th time", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  for (int i = 0; i < 9; ++i) h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "ShADT");
  CHECK(c.orig.bytes == 5);
  CHECK(c.orig.pkts == 12);

  Harness h2;
  handshake(h2);
  for (int i = 0; i < 11; ++i) h2.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  h2.flush();
  CHECK(h2.only().history == "ShADTT");
  CHECK(h2.only().orig.bytes == 5);
}

TEST_CASE("tcp zero window, FIN+RST and SYN+FIN letters", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(false, fl::ACK, kB + 1, kA + 1, {}, /*window=*/0);
  h.tcp(true, fl::FIN | fl::RST | fl::ACK, kA + 1, kB + 1);
  h.flush();
  CHECK(h.only().history == "ShAawI");

  Harness q;
  q.tcp(true, fl::SYN | fl::FIN, kA, 0);
  q.flush();
  CHECK(q.only().history == "Q");
}

TEST_CASE("tcp SYN retransmission adds no letter, a SYN with a new ISN starts a new connection", "[tcp]") {
  Harness h;
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(true, fl::SYN, kA + 777, 0);
  h.flush();
  REQUIRE(h.rec.ended.size() == 2);
  CHECK(h.rec.ended[0].history == "S");
  CHECK(h.rec.ended[0].orig.pkts == 2);
  CHECK(h.rec.ended[0].why == FlowEnd::Closed);
  CHECK(h.rec.ended[1].history == "S");
  CHECK(h.rec.saw_weird("SYN_seq_jump"));
}

TEST_CASE("tcp a reused slot's new connection ignores the old connection's attempt timer", "[tcp]") {
  // The new connection takes the slot and the TCP state the old one gave back; only the state's serial
  // tells the old timer from its own.
  Harness h;
  h.tcp(true, fl::SYN, kA, 0);  // attempt timer at +5 s
  const uint64_t t0 = h.ts;
  h.ts = t0 + 2 * kSec;
  h.tcp(true, fl::SYN, kA + 777, 0);  // a new ISN: the first connection ends, a new one starts
  REQUIRE(h.rec.ended.size() == 1);
  h.advance(t0 + 5 * kSec + kMs);  // the first connection's timer is due, and stale
  CHECK(h.rec.ended.size() == 1);
  h.advance(t0 + 7 * kSec + 2 * kMs);  // the new connection's own
  REQUIRE(h.rec.ended.size() == 2);
  CHECK(h.rec.ended[1].why == FlowEnd::Timeout);
  CHECK(h.rec.ended[1].first_ts == t0 + 2 * kSec + kMs);
}

TEST_CASE("tcp a SYN after a finished connection reuses the tuple", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(true, fl::FIN | fl::ACK, kA + 1, kB + 1);
  h.tcp(false, fl::FIN | fl::ACK, kB + 1, kA + 2);
  h.tcp(true, fl::ACK, kA + 2, kB + 2);
  h.tcp(true, fl::SYN, kA + 100000, 0);
  REQUIRE(h.rec.ended.size() == 1);
  CHECK(h.rec.ended[0].history == "ShAFf");
  CHECK(h.rec.ended[0].state == "SF");
  CHECK(h.rec.saw_weird("premature_connection_reuse"));
  h.flush();
  REQUIRE(h.rec.ended.size() == 2);
  CHECK(h.rec.ended[1].history == "S");
}

TEST_CASE("tcp bad checksum adds C and is not counted", "[tcp]") {
  Harness h;
  handshake(h);
  DecodedPacket p;
  p.ts_ns = h.ts + kMs;
  p.ip_version = 4;
  p.src = h.a();
  p.dst = h.b();
  p.sport = 40000;
  p.dport = 5555;
  p.l4 = Transport::Tcp;
  p.ip_proto = 6;
  p.tcp_flags = fl::PSH | fl::ACK;
  p.seq = kA + 1;
  p.ack = kB + 1;
  p.payload_len = 10;
  p.ip_len = 50;
  p.bad_checksum = true;
  h.table.process(p);
  h.flush();
  CHECK(h.only().history == "ShAC");
  CHECK(h.only().orig.pkts == 2);
  CHECK(h.only().orig.bytes == 0);
}

TEST_CASE("tcp a SYN after its SYN-ACK flips the connection", "[tcp]") {
  // Both packets seen, the SYN-ACK first (two capture interfaces): Zeek flips on the SYN.
  Harness h;
  h.tcp(true, fl::SYN | fl::ACK, kB, kA + 1);  // A answers B's SYN we have not seen yet
  h.tcp(false, fl::SYN, kA, 0);
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "Hs^");
  CHECK(c.id.orig_h == h.b());
  CHECK(c.id.resp_h == h.a());
  CHECK(c.state == "S1");
  CHECK(h.rec.saw_weird("connection_originator_SYN_ack"));
}

TEST_CASE("tcp RST after our own FIN ends after tcp_reset_delay", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(true, fl::FIN | fl::ACK, kA + 1, kB + 1);
  h.tcp(true, fl::RST, kA + 2, 0);
  const uint64_t rst = h.ts;
  h.advance(rst + 5 * kSec - 1);
  CHECK(h.rec.ended.empty());
  h.advance(rst + 5 * kSec);
  const auto& c = h.only();
  CHECK(c.why == FlowEnd::Closed);
  CHECK(c.history == "ShAFR");
  CHECK(c.state == "RSTO");
}

TEST_CASE("tcp conn_state RSTOS0 pattern", "[tcp]") {
  CHECK(tcp::history_is_rstos0("SR"));
  CHECK(tcp::history_is_rstos0("^SR"));
  CHECK(tcp::history_is_rstos0("STTR"));
  CHECK(tcp::history_is_rstos0("SaRr"));  // lower-case letters are the responder's: not excluded
  CHECK(tcp::history_is_rstos0("ShR"));  // matches too; conn_state only asks when the responder is inactive
  CHECK_FALSE(tcp::history_is_rstos0("SAR"));
  CHECK_FALSE(tcp::history_is_rstos0("S"));
  CHECK_FALSE(tcp::history_is_rstos0("R"));
  CHECK_FALSE(tcp::history_is_rstos0("DR"));
}

TEST_CASE("tcp sequence numbers wrap around 2^32", "[tcp]") {
  Harness h;
  const uint32_t isn = 0xFFFFFFF0u;
  h.tcp(true, fl::SYN, isn, 0);
  h.tcp(false, fl::SYN | fl::ACK, kB, isn + 1);
  h.tcp(true, fl::ACK, isn + 1, kB + 1);
  for (uint32_t i = 0; i < 4; ++i) h.tcp(true, fl::PSH | fl::ACK, isn + 1 + 10 * i, kB + 1, "0123456789");
  h.tcp(false, fl::ACK, kB + 1, isn + 41);
  h.tcp(true, fl::FIN | fl::ACK, isn + 41, kB + 1);
  h.tcp(false, fl::FIN | fl::ACK, kB + 1, isn + 42);
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "ShADaFf");
  CHECK(c.orig.bytes == 40);
  CHECK(c.state == "SF");
}

TEST_CASE("tcp retransmissions past 65535 go on counting beside the endpoint", "[tcp]") {
  // T at the 1st, 10th ... 100,000th retransmission: the last one needs the count the endpoint's 16 bits
  // handed over to the table's CounterStore at 65,535.
  Harness h;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  for (int i = 0; i < 99'999; ++i) h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  h.flush();
  CHECK(h.only().history == "ShADTTTTT");
  h.rec.ended.clear();
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  for (int i = 0; i < 100'000; ++i) h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  h.flush();
  CHECK(h.only().history == "ShADTTTTTT");
  CHECK(h.only().orig.bytes == 5);
}

TEST_CASE("tcp counter store keeps rare counters per endpoint until the connection is forgotten", "[tcp]") {
  Conn::TcpState s;
  tcp::CounterStore counters;
  flow::ConnHistory hist;
  for (int i = 0; i < 10; ++i) tcp::checksum_error(s, s.ep[0], hist, counters);  // C at the 1st and 10th
  tcp::content_gap(s, s.ep[1], hist, counters);
  CHECK(hist.text().view() == "CCg");
  CHECK(counters.size() == 2);
  CHECK(s.spilled());
  counters.forget(s);
  CHECK(counters.size() == 0);
  CHECK_FALSE(s.spilled());
  // A connection that reuses the state starts counting from zero.
  tcp::checksum_error(s, s.ep[0], hist, counters);
  CHECK(hist.text().view() == "CCgC");
  // Retransmissions stay in the endpoint until 65,535 and need no entry.
  for (int i = 0; i < 65'535; ++i) (void)counters.count(s, s.ep[1], tcp::CounterStore::kRetransmit);
  CHECK(s.ep[1].rxmt_cnt == 65'535);
  CHECK(counters.size() == 1);
  CHECK_FALSE(counters.count(s, s.ep[1], tcp::CounterStore::kRetransmit));  // the 65,536th
  CHECK(counters.size() == 2);
  counters.forget(s);
  CHECK(counters.size() == 0);
}

TEST_CASE("tcp endpoint fin_seq keeps 48 bits and the values just below zero", "[tcp]") {
  // Below 2^48 - 2^32 (the wrap counters end at 2^48), and within 2^32 below 2^64 (a FIN numbered before
  // the SYN gives a relative sequence number below zero).
  tcp::Endpoint e;
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, (uint64_t{1} << 32) + 7, (uint64_t{1} << 48) - (uint64_t{1} << 32) - 1,
                     UINT64_MAX, UINT64_MAX - 5, uint64_t{0xffff'ffff'0000'0000ull}}) {
    e.set_fin_seq(v);
    CHECK(e.fin_seq() == v);
  }
}
