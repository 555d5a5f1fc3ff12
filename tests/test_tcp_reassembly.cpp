// TCP reassembly: the stream on its own (TcpStream), then through the flow table with payload wanted.

#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "capture/tcp_reassembly.hpp"
#include "flow_test_support.hpp"

using namespace ots;
using namespace ots::test;
using flow::GapCause;
using flow::StreamLimits;
using flow::TcpStream;

namespace {

struct Sink final : flow::StreamSink {
  std::string out;
  std::vector<GapCause> causes;
  int inconsistencies = 0;
  int deliveries = 0;
  void deliver(std::span<const uint8_t> d) override {
    ++deliveries;
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  void gap(uint64_t len, GapCause why) override {
    out += "<gap " + std::to_string(len) + ">";
    causes.push_back(why);
  }
  void inconsistent() override { ++inconsistencies; }
};

// A stream with a store of its own (the flow table shares one store between all its streams).
struct Stream {
  flow::StreamStore store;
  TcpStream st;
  void segment(uint64_t seq, std::span<const uint8_t> captured, uint64_t len, uint64_t acked, bool keep,
               bool peer_active, const StreamLimits& limits, flow::StreamSink& sink) {
    st.segment(store, seq, captured, len, acked, keep, peer_active, limits, sink);
  }
  void ack(uint64_t up_to, bool keep, bool report, flow::StreamSink& sink) { st.ack(store, up_to, keep, report, sink); }
  void finish(bool keep, flow::StreamSink& sink) { st.finish(store, keep, sink); }
  size_t footprint() const { return st.footprint(store); }
  bool has_buffered() const { return st.has_buffered(store); }
  uint64_t next_seq() const { return st.next_seq(); }
  uint64_t trim_seq() const { return st.trim_seq(); }
};

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// A segment whose headers and capture agree.
void seg(Stream& st, uint64_t seq, std::string_view data, Sink& sink, const StreamLimits& lim = {},
         bool keep = true, uint64_t acked = 0) {
  st.segment(seq, bytes(data), data.size(), acked, keep, true, lim, sink);
}

constexpr uint32_t kA = 1000;
constexpr uint32_t kB = 5000;

void handshake(Harness& h) {
  h.tcp(true, fl::SYN, kA, 0);
  h.tcp(false, fl::SYN | fl::ACK, kB, kA + 1);
  h.tcp(true, fl::ACK, kA + 1, kB + 1);
}

}  // namespace

TEST_CASE("tcp stream in order goes straight through without buffering", "[tcp]") {
  Stream st;
  Sink s;
  StreamLimits lim;
  lim.keep_unacked_bytes = 0;
  seg(st, 1, "abc", s, lim);
  seg(st, 4, "def", s, lim);
  CHECK(s.out == "abcdef");
  CHECK(s.deliveries == 2);
  CHECK(st.next_seq() == 7);
  CHECK(st.footprint() == 0);
}

TEST_CASE("tcp stream out of order is held until the hole fills", "[tcp]") {
  Stream st;
  Sink s;
  seg(st, 7, "ghi", s);
  seg(st, 4, "def", s);
  CHECK(s.out.empty());
  CHECK(st.has_buffered());
  seg(st, 1, "abc", s);
  CHECK(s.out == "abcdefghi");
  CHECK_FALSE(st.has_buffered());
}

TEST_CASE("tcp stream frees its buffers once nothing waits and nothing is kept", "[tcp]") {
  Stream st;
  Sink s;
  StreamLimits lim;
  SECTION("ranges only (payload not wanted): the hole fills") {
    seg(st, 4, "def", s, lim, false);
    CHECK(st.footprint() > 0);
    seg(st, 1, "abc", s, lim, false);
    CHECK(st.next_seq() == 7);
    CHECK(st.footprint() == 0);
  }
  SECTION("payload wanted: the kept bytes go when the peer acknowledges them") {
    seg(st, 1, "abc", s, lim, true);
    CHECK(st.footprint() > 0);  // kept until acknowledged, for the retransmission check
    st.ack(4, true, true, s);
    CHECK(st.footprint() == 0);
    // A retransmission of acknowledged bytes allocates nothing and changes nothing.
    seg(st, 1, "abc", s, lim, true, 4);
    CHECK(st.footprint() == 0);
    // New data after the release is kept again, and a rewrite of it is still caught.
    seg(st, 4, "def", s, lim, true, 4);
    seg(st, 4, "dXf", s, lim, true, 4);
    CHECK(s.inconsistencies == 1);
    CHECK(s.out == "abcdef");
  }
}

TEST_CASE("tcp stream overlaps: first bytes win, differences are inconsistencies", "[tcp]") {
  SECTION("consistent overlap with delivered bytes") {
    Stream st;
    Sink s;
    seg(st, 1, "abcdef", s);
    seg(st, 4, "defghi", s);
    CHECK(s.out == "abcdefghi");
    CHECK(s.inconsistencies == 0);
  }
  SECTION("rewritten delivered bytes") {
    Stream st;
    Sink s;
    seg(st, 1, "abcdef", s);
    seg(st, 4, "XYZghi", s);
    CHECK(s.out == "abcdefghi");
    CHECK(s.inconsistencies == 1);
  }
  SECTION("rewritten buffered bytes") {
    Stream st;
    Sink s;
    seg(st, 5, "efgh", s);
    seg(st, 1, "abcdXfgh", s);
    CHECK(s.out == "abcdefgh");
    CHECK(s.inconsistencies == 1);
  }
  SECTION("a lone differing byte while the peer was silent is a keep-alive, not a rewrite") {
    Stream st;
    Sink s;
    StreamLimits lim;
    st.segment(1, bytes("a"), 1, 0, true, false, lim, s);
    st.segment(1, bytes("b"), 1, 0, true, false, lim, s);
    CHECK(s.inconsistencies == 0);
  }
  SECTION("acknowledged bytes are gone: a rewrite of them is not checked") {
    Stream st;
    Sink s;
    seg(st, 1, "abc", s);
    st.ack(4, true, true, s);
    seg(st, 1, "XYZ", s, {}, true, /*acked=*/4);
    CHECK(s.out == "abc");
    CHECK(s.inconsistencies == 0);
  }
}

TEST_CASE("tcp stream an ACK past a hole is a gap, then the data after it flows", "[tcp]") {
  Stream st;
  Sink s;
  seg(st, 1, "ab", s);
  seg(st, 6, "fg", s);
  st.ack(8, true, true, s);
  CHECK(s.out == "ab<gap 3>fg");
  REQUIRE(s.causes.size() == 1);
  CHECK(s.causes[0] == GapCause::Acked);
  st.ack(12, true, true, s);  // the tail was never seen either
  CHECK(s.out == "ab<gap 3>fg<gap 4>");
  CHECK(st.next_seq() == 12);
  st.ack(2, true, true, s);  // old ACK: nothing
  CHECK(s.causes.size() == 2);
}

TEST_CASE("tcp stream a partial connection's first ACK is not a gap", "[tcp]") {
  Stream st;
  Sink s;
  st.ack(2, true, /*report=*/false, s);
  CHECK(s.out.empty());
  CHECK(st.next_seq() == 1);
}

TEST_CASE("tcp stream the buffer limit gives up the oldest hole", "[tcp]") {
  Stream st;
  Sink s;
  StreamLimits lim;
  lim.max_ooo_bytes = 8;
  seg(st, 1, "a", s, lim);
  seg(st, 10, "12345", s, lim);
  CHECK(s.out == "a");
  seg(st, 20, "67890", s, lim);  // 10 bytes waiting > 8
  CHECK(s.out == "a<gap 8>12345");
  REQUIRE(!s.causes.empty());
  CHECK(s.causes.back() == GapCause::BufferLimit);
  st.finish(true, s);
  CHECK(s.out == "a<gap 8>12345<gap 5>67890");
  CHECK(s.causes.back() == GapCause::End);
  CHECK(st.footprint() == 0);
}

TEST_CASE("tcp stream a snaplen-truncated segment delivers what was captured, then a gap", "[tcp]") {
  StreamLimits lim;
  Stream st;
  Sink s;
  st.segment(1, bytes("abcd"), 10, 0, true, true, lim, s);
  CHECK(s.out == "abcd<gap 6>");
  CHECK(s.causes.back() == GapCause::Truncated);
  CHECK(st.next_seq() == 11);

  Stream ooo;
  Sink s2;
  ooo.segment(11, bytes("xy"), 5, 0, true, true, lim, s2);  // ahead of the stream, cut after 2 bytes
  seg(ooo, 1, "0123456789", s2, lim);
  CHECK(s2.out == "0123456789xy<gap 3>");
}

TEST_CASE("tcp stream without payload wanted tracks ranges and still finds gaps", "[tcp]") {
  Stream st;
  Sink s;
  seg(st, 1, "abc", s, {}, /*keep=*/false);
  seg(st, 10, "xyz", s, {}, false);
  st.ack(20, false, true, s);
  CHECK(s.deliveries == 0);
  CHECK(s.out == "<gap 6><gap 7>");
  CHECK(st.next_seq() == 20);
}

TEST_CASE("tcp stream bytes that arrived while unwanted are a gap once payload is wanted", "[tcp]") {
  Stream st;
  Sink s;
  seg(st, 5, "xyz", s, {}, /*keep=*/false);
  seg(st, 1, "abcd", s, {}, /*keep=*/true);
  CHECK(s.out == "abcd<gap 3>");
  CHECK(s.causes.back() == GapCause::NotKept);
}

// ---- through the flow table --------------------------------------------------------------------

TEST_CASE("tcp reassembly delivers out-of-order data in order (and Zeek calls it a retransmission)", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 6, kB + 1, "world");
  CHECK(h.rec.stream[0].empty());
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "hello");
  CHECK(h.rec.stream[0] == "helloworld");
  h.tcp(false, fl::PSH | fl::ACK, kB + 1, kA + 11, "ok");
  CHECK(h.rec.stream[1] == "ok");
  h.flush();
  CHECK(h.only().history == "ShADTd");
  CHECK(h.only().orig.bytes == 10);
}

TEST_CASE("tcp reassembly an ACK past a hole reports the gap (G, missed_bytes) and goes on", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "aaaa");
  h.tcp(true, fl::PSH | fl::ACK, kA + 9, kB + 1, "cccc");
  CHECK(h.rec.stream[0] == "aaaa");
  h.tcp(false, fl::ACK, kB + 1, kA + 13);
  CHECK(h.rec.stream[0] == "aaaa<gap 4>cccc");
  h.flush();
  const auto& c = h.only();
  CHECK(c.history == "ShADaG");
  CHECK(c.missed == 4);
  CHECK(c.orig.bytes == 12);  // the sequence space, hole included
}

TEST_CASE("tcp reassembly gaps are counted for connections without payload too", "[tcp]") {
  Harness h;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "aaaa");
  h.tcp(false, fl::ACK, kB + 1, kA + 13);
  h.flush();
  CHECK(h.only().history == "ShADaG");
  CHECK(h.only().missed == 8);
  CHECK(h.rec.stream[0].empty());
}

TEST_CASE("tcp reassembly a midstream connection reports no missed bytes (Zeek: not established)", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  h.tcp(true, fl::PSH | fl::ACK, 70000, 9000, "hello");
  h.tcp(true, fl::PSH | fl::ACK, 70010, 9000, "later");
  h.tcp(false, fl::ACK, 9000, 70015);
  CHECK(h.rec.stream[0] == "hello<gap 5>later");
  h.flush();
  CHECK(h.only().missed == 0);
  CHECK(h.only().history == "Da");
  CHECK(h.only().history.find('G') == std::string::npos);
}

TEST_CASE("tcp reassembly a retransmission with other bytes is a rexmit_inconsistency weird", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abcdef");
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abXdef");
  CHECK(h.rec.saw_weird("rexmit_inconsistency"));
  CHECK(h.rec.stream[0] == "abcdef");
  h.flush();
  CHECK(h.only().history == "ShADT");
  CHECK(h.only().orig.bytes == 6);

  Harness same;
  same.rec.want_payload = true;
  handshake(same);
  same.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abcdef");
  same.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abcdef");
  CHECK_FALSE(same.rec.saw_weird("rexmit_inconsistency"));
  CHECK(same.rec.stream[0] == "abcdef");
}

TEST_CASE("tcp reassembly repeated rexmit_inconsistency weirds are counted on the filter's hint", "[tcp][weird]") {
  // A connection that rewrites its retransmissions: the first weird is built and logged, the repeats
  // are offered on the hint and counted, unbuilt; another connection's weird is built again.
  WeirdFilter filter;
  Harness h;
  h.rec.want_payload = true;
  h.rec.hint_filter = &filter;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abcdef");
  for (int i = 0; i < 5; ++i) h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abXdef");
  CHECK(h.rec.weird_names == std::vector<std::string>{"rexmit_inconsistency"});
  CHECK(h.rec.weird_repeats == 4);
  CHECK(filter.seen() == 5);
  CHECK(filter.logged() == 1);
  CHECK(h.rec.stream[0] == "abcdef");

  Harness other(FlowTableConfig{}, "10.0.0.3");
  other.rec.want_payload = true;
  other.rec.hint_filter = &filter;
  handshake(other);
  other.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abcdef");
  other.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "abXdef");
  CHECK(other.rec.weird_names == std::vector<std::string>{"rexmit_inconsistency"});
  CHECK(filter.seen() == 6);
  CHECK(filter.logged() == 2);
}

TEST_CASE("tcp reassembly buffer limit: the hole is given up and counted", "[tcp]") {
  FlowTableConfig cfg;
  cfg.reassembly_max_bytes = 8;
  Harness h(cfg);
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "a");
  h.tcp(true, fl::PSH | fl::ACK, kA + 10, kB + 1, "12345");
  h.tcp(true, fl::PSH | fl::ACK, kA + 20, kB + 1, "67890");
  CHECK(h.rec.stream[0] == "a<gap 8>12345");
  h.flush();
  CHECK(h.rec.stream[0] == "a<gap 8>12345<gap 5>67890");
  CHECK(h.only().missed == 8);  // the hole left at the end was never acknowledged: not counted
  CHECK(h.only().history == "ShADG");
  CHECK(h.rec.saw_weird("excessive_data_without_further_acks"));
}

TEST_CASE("tcp reassembly buffers count in memory_bytes and are returned when the connection ends", "[tcp]") {
  FlowTableConfig cfg;
  cfg.reassembly_unacked_bytes = 0;
  Harness h(cfg);
  h.rec.want_payload = true;
  handshake(h);
  const uint64_t base = h.table.stats().memory_bytes;
  h.tcp(true, fl::PSH | fl::ACK, kA + 1001, kB + 1, std::string(1000, 'z'));
  CHECK(h.table.stats().memory_bytes >= base + 1000);
  h.flush();
  CHECK(h.table.stats().reassembly_bytes == 0);
  // The bytes went back; the store keeps its chunk of 64 buffer records for the next streams (as the table
  // keeps its slabs), the pointer to it and its free list of one handle.
  CHECK(h.table.stats().memory_bytes ==
        base + 64 * sizeof(flow::StreamBuffers) + sizeof(void*) + sizeof(uint32_t));
}

TEST_CASE("tcp reassembly a hole left at the end is delivered around, before on_flow_end", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "aa");
  h.tcp(true, fl::PSH | fl::ACK, kA + 10, kB + 1, "zz");
  h.flush();
  CHECK(h.rec.stream[0] == "aa<gap 7>zz");
  REQUIRE(h.rec.calls.size() >= 3);
  CHECK(h.rec.calls[h.rec.calls.size() - 3] == "gap");
  CHECK(h.rec.calls[h.rec.calls.size() - 2] == "payload");
  CHECK(h.rec.calls.back() == "end");
  CHECK(h.only().missed == 0);
  CHECK(h.only().history == "ShAD");
}

TEST_CASE("tcp reassembly across the 32-bit sequence wrap, out of order", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  const uint32_t isn = 0xFFFFFFF0u;
  h.tcp(true, fl::SYN, isn, 0);
  h.tcp(false, fl::SYN | fl::ACK, kB, isn + 1);
  h.tcp(true, fl::ACK, isn + 1, kB + 1);
  h.tcp(true, fl::PSH | fl::ACK, isn + 1, kB + 1, "0123456789");
  h.tcp(true, fl::PSH | fl::ACK, isn + 21, kB + 1, "ABCDEFGHIJ");  // entirely past the wrap
  h.tcp(true, fl::PSH | fl::ACK, isn + 11, kB + 1, "abcdefghij");  // straddles it
  CHECK(h.rec.stream[0] == "0123456789abcdefghijABCDEFGHIJ");
  h.tcp(false, fl::ACK, kB + 1, isn + 31);
  h.flush();
  CHECK(h.only().orig.bytes == 30);
  CHECK(h.only().missed == 0);
}

TEST_CASE("tcp reassembly a snaplen-truncated segment: captured bytes, then a gap", "[tcp]") {
  Harness h;
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "0123456789", 8192, /*caplen=*/6);
  h.tcp(true, fl::PSH | fl::ACK, kA + 11, kB + 1, "next");
  CHECK(h.rec.stream[0] == "012345<gap 4>next");
  CHECK(h.rec.saw_weird("truncated_tcp_payload"));
  h.flush();
  CHECK(h.only().missed == 4);
  CHECK(h.only().history == "ShADG");
  CHECK(h.only().orig.bytes == 14);
}

TEST_CASE("tcp reassembly follows the roles when the connection was flipped", "[tcp]") {
  Harness h({}, "10.0.0.1", 40000, "10.0.0.2", 502);
  h.rec.want_payload = true;
  h.tcp(false, fl::SYN | fl::ACK, kB, kA + 1);
  h.tcp(true, fl::ACK, kA + 1, kB + 1);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "request");
  h.tcp(false, fl::PSH | fl::ACK, kB + 1, kA + 8, "response");
  CHECK(h.rec.stream[0] == "request");
  CHECK(h.rec.stream[1] == "response");
}

TEST_CASE("tcp reassembly in order allocates nothing per packet", "[tcp]") {
  FlowTableConfig cfg;
  cfg.reassembly_unacked_bytes = 0;
  Harness h(cfg);
  h.rec.want_payload = true;
  handshake(h);
  h.tcp(true, fl::PSH | fl::ACK, kA + 1, kB + 1, "x");
  const uint64_t before = h.table.stats().memory_bytes;
  std::string payload(100, 'p');
  for (uint32_t i = 0; i < 1000; ++i) {
    h.tcp(true, fl::PSH | fl::ACK, kA + 2 + 100 * i, kB + 1, payload);
    h.tcp(false, fl::ACK, kB + 1, kA + 2 + 100 * (i + 1));
  }
  CHECK(h.table.stats().memory_bytes == before);
  CHECK(h.rec.stream[0].size() == 1 + 100 * 1000);
}

TEST_CASE("tcp stream points keep 64-bit relative sequence numbers past 2^32 and at Zeek's underflow", "[tcp]") {
  Stream st;
  Sink s;
  const uint64_t far = (uint64_t{5} << 32) + 9;  // five 32-bit wraps into the stream
  st.ack(far, false, true, s);                   // a hole up to there, given up
  CHECK(st.next_seq() == far);
  CHECK(st.trim_seq() == far);
  seg(st, far, "abc", s, {}, true, far);
  seg(st, far + 5, "f", s, {}, true, far);  // out of order, beyond 2^32 too
  CHECK(st.has_buffered());
  seg(st, far + 3, "de", s, {}, true, far);
  CHECK(s.out.substr(s.out.size() - 6) == "abcdef");
  CHECK(st.next_seq() == far + 6);
  // The highest point kept exactly: 4 GiB short of 2^48, where the endpoints' 16-bit wrap counters end.
  const uint64_t top = (uint64_t{1} << 48) - (uint64_t{1} << 32) - 1;
  st.ack(top, false, true, s);
  CHECK(st.next_seq() == top);
  CHECK(st.trim_seq() == top);
  // A FIN numbered before the SYN makes the ACK limit fin_seq - 1 wrap to 2^64 - 1: kept exactly, so
  // every later segment is old data, as with 64-bit fields.
  st.ack(UINT64_MAX, false, true, s);
  CHECK(st.next_seq() == UINT64_MAX);
  CHECK(st.trim_seq() == UINT64_MAX);
  const auto gaps = s.causes.size();
  seg(st, far + 100, "zz", s);
  CHECK(s.causes.size() == gaps);
  CHECK(st.footprint() == 0);
}

TEST_CASE("tcp stream store hands out handles and reuses them once given back", "[tcp]") {
  flow::StreamStore store;
  TcpStream a, b;
  Sink s;
  a.segment(store, 5, bytes("late"), 4, 0, true, true, {}, s);  // out of order: buffers
  b.segment(store, 1, bytes("kept"), 4, 0, true, true, {}, s);  // in order, kept until acknowledged
  CHECK(store.live() == 2);
  CHECK(a.footprint(store) > 0);
  CHECK(b.footprint(store) > 0);
  b.ack(store, 5, true, true, s);  // acknowledged: nothing kept, the handle goes back
  CHECK(store.live() == 1);
  const size_t table = store.footprint();
  CHECK(b.footprint(store) == 0);
  b.segment(store, 7, bytes("x"), 1, 0, true, true, {}, s);  // a hole again: the freed handle is reused
  CHECK(store.live() == 2);
  CHECK(store.footprint() == table);
  a.finish(store, true, s);
  b.reset(store);
  CHECK(store.live() == 0);
  CHECK(a.next_seq() == 9);
  CHECK(b.next_seq() == 1);
}

TEST_CASE("tcp stream store keeps a few small kept-byte buffers given back for the next streams", "[tcp]") {
  flow::StreamStore store;
  Sink s;
  const size_t empty = store.footprint();
  // Request and response: kept until acknowledged, then given back; the capacity stays in the store
  // (counted in its footprint) and the next stream's kept bytes use it.
  TcpStream a;
  a.segment(store, 1, bytes("request"), 7, 0, true, true, {}, s);
  const size_t kept = a.footprint(store);
  CHECK(kept >= 7);
  a.ack(store, 8, true, true, s);
  CHECK(a.footprint(store) == 0);
  CHECK(store.live() == 0);
  const size_t with_spare = store.footprint();
  CHECK(with_spare >= empty + kept);
  // Too small for more bytes, and not taken for 16 fewer or more: a stream holds at most 15 bytes
  // of capacity more than it would have allocated.
  TcpStream more;
  const std::string longer(30, 'm');
  more.segment(store, 1, bytes(longer), longer.size(), 0, true, true, {}, s);
  CHECK(store.footprint() == with_spare);
  more.reset(store);  // its 30 bytes' capacity is a spare now too
  TcpStream b;
  b.segment(store, 1, bytes("resp"), 4, 0, true, true, {}, s);
  CHECK(b.footprint(store) == kept);        // the 7 bytes' spare, now the stream's: not the 30 bytes'
  // The retransmission check works on the reused buffer as on a new one.
  b.segment(store, 1, bytes("rXsp"), 4, 0, true, true, {}, s);
  CHECK(s.inconsistencies == 1);
  b.segment(store, 1, bytes("resp"), 4, 0, true, true, {}, s);
  CHECK(s.inconsistencies == 1);
  CHECK(s.out == "request" + longer + "resp");
  b.reset(store);

  // Large buffers are freed, not kept; and no more than a few are kept at a time.
  TcpStream big;
  const std::string large(4096, 'x');
  big.segment(store, 1, bytes(large), large.size(), 0, true, true, {}, s);
  big.ack(store, 1 + large.size(), true, true, s);
  std::vector<TcpStream> many(64);
  for (TcpStream& t : many) t.segment(store, 1, bytes("abc"), 3, 0, true, true, {}, s);
  for (TcpStream& t : many) t.ack(store, 4, true, true, s);
  CHECK(store.live() == 0);
  // The chunk of 64 buffer records and the tables, and at most a few small spares: not the 4 KiB one.
  CHECK(store.footprint() < empty + 64 * sizeof(flow::StreamBuffers) + 2048);
}

TEST_CASE("tcp stream store takes the latest spare that fits and drops the oldest when full", "[tcp]") {
  flow::StreamStore store;
  Sink s;
  // A stream that keeps n bytes and has them acknowledged gives back a spare of n bytes' capacity.
  auto give = [&](size_t n) {
    TcpStream t;
    const std::string data(n, 'k');
    t.segment(store, 1, bytes(data), n, 0, true, true, {}, s);
    REQUIRE(t.footprint(store) == n);
    t.ack(store, 1 + n, true, true, s);
    REQUIRE(t.footprint(store) == 0);
  };
  // The capacity a new stream keeping n bytes gets (a spare's, or n of its own); it keeps it.
  std::vector<TcpStream> takers(4);
  size_t next_taker = 0;
  auto take = [&](size_t n) {
    TcpStream& t = takers[next_taker++];
    const std::string data(n, 't');
    t.segment(store, 1, bytes(data), n, 0, true, true, {}, s);
    return t.footprint(store);
  };
  give(40);
  give(45);
  CHECK(take(35) == 45);  // both fit (less than 16 bytes more than wanted): the latest is taken
  CHECK(take(35) == 40);
  CHECK(take(35) == 35);  // none left: its own
  const size_t before = store.footprint();
  for (size_t n = 10; n <= 90; n += 10) give(n);  // nine spares given, eight kept: the 10 bytes' goes
  CHECK(store.footprint() == before + (20 + 30 + 40 + 50 + 60 + 70 + 80 + 90));
  CHECK(take(3) == 3);  // only the 10 bytes' spare would have fitted, and it went
}

TEST_CASE("tcp stream store spares follow the latest fit first and oldest out rule through random use", "[tcp]") {
  // A model of the rule: capacities oldest first, at most eight, of at most 128 bytes; a stream keeping
  // n bytes takes the latest of less than 16 bytes more, or allocates n.
  flow::StreamStore store;
  Sink s;
  std::deque<size_t> model;
  std::vector<std::unique_ptr<TcpStream>> live;
  std::mt19937_64 rng(11);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  for (int op = 0; op < 20000; ++op) {
    INFO("op " << op);
    if (live.empty() || pick(2) == 0) {
      const size_t n = 1 + pick(140);
      size_t expect = n;
      for (size_t k = model.size(); k-- > 0;) {
        if (model[k] >= n && model[k] - n < 16) {
          expect = model[k];
          model.erase(model.begin() + static_cast<std::ptrdiff_t>(k));
          break;
        }
      }
      live.push_back(std::make_unique<TcpStream>());
      const std::string data(n, 'd');
      live.back()->segment(store, 1, bytes(data), n, 0, true, true, {}, s);
      REQUIRE(live.back()->footprint(store) == expect);
    } else {
      const size_t k = pick(live.size());
      const size_t cap = live[k]->footprint(store);
      live[k]->ack(store, live[k]->next_seq(), true, true, s);
      REQUIRE(live[k]->footprint(store) == 0);
      if (cap <= 128) {
        if (model.size() == 8) model.pop_front();
        model.push_back(cap);
      }
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
}
