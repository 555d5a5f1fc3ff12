// TCP reassembly: the fast paths (TcpStream::segment and ack inline, for range-only streams without
// buffers; segment_kept and ack_kept, for streams that keep bytes with nothing waiting) held to the general
// path by random segment and ACK sequences, and what those sequences found.

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "capture/tcp_reassembly.hpp"

using namespace ots;
using flow::GapCause;
using flow::StreamLimits;
using flow::StreamStore;
using flow::TcpStream;

namespace {

// Everything a stream tells its sink, in order.
struct Recorder final : flow::StreamSink {
  std::string log;
  void deliver(std::span<const uint8_t> d) override {
    log += "D";
    log.append(reinterpret_cast<const char*>(d.data()), d.size());
    log += ";";
  }
  void gap(uint64_t len, GapCause why) override {
    log += "G" + std::to_string(len) + "/" + std::to_string(static_cast<int>(why)) + ";";
  }
  void inconsistent() override { log += "I;"; }
};

// One stream through the public entry points (fast paths included), one through the general path only.
struct Pair {
  StreamStore fast_store, general_store;
  TcpStream fast, general;
  Recorder fast_sink, general_sink;
  unsigned acks = 0;

  void segment(uint64_t seq, std::span<const uint8_t> captured, uint64_t len, uint64_t acked, bool keep,
               bool peer_active, const StreamLimits& lim) {
    fast.segment(fast_store, seq, captured, len, acked, keep, peer_active, lim, fast_sink);
    general.segment_general(general_store, seq, captured, len, acked, keep, peer_active, lim, general_sink);
  }
  void ack(uint64_t up_to, bool keep, bool report) {
    // ack()'s own first test (nothing new acknowledged) is not part of the fast path: the general path
    // starts with it too.
    general.ack_general(general_store, up_to, keep, report, general_sink);
    if (++acks % 2 != 0) {
      fast.ack(fast_store, up_to, keep, report, fast_sink);
      return;
    }
    // Every other ACK as the flow table makes it: ack_fast alone, and the general path (with a sink made
    // then) only when it declines, which it does having changed nothing.
    const uint64_t next = fast.next_seq(), trim = fast.trim_seq();
    const size_t footprint = fast.footprint(fast_store), held = fast_store.held(), live = fast_store.live();
    const std::string told = fast_sink.log;
    if (fast.ack_fast(fast_store, up_to, report)) return;
    REQUIRE(fast.next_seq() == next);
    REQUIRE(fast.trim_seq() == trim);
    REQUIRE(fast.footprint(fast_store) == footprint);
    REQUIRE(fast_store.held() == held);
    REQUIRE(fast_store.live() == live);
    REQUIRE(fast_sink.log == told);
    fast.ack_general(fast_store, up_to, keep, report, fast_sink);
  }
  void finish(bool keep) {
    fast.finish(fast_store, keep, fast_sink);
    general.finish(general_store, keep, general_sink);
  }
  void reset() {
    fast.reset(fast_store);
    general.reset(general_store);
  }
  void check() const {
    REQUIRE(fast_sink.log == general_sink.log);
    REQUIRE(fast.next_seq() == general.next_seq());
    REQUIRE(fast.trim_seq() == general.trim_seq());
    REQUIRE(fast.has_buffered(fast_store) == general.has_buffered(general_store));
    REQUIRE(fast.footprint(fast_store) == general.footprint(general_store));
    REQUIRE(fast_store.live() == general_store.live());
    REQUIRE(fast_store.footprint() == general_store.footprint());
    // The stores keep their streams' footprint in step, through either path.
    REQUIRE(fast_store.held() == fast.footprint(fast_store));
    REQUIRE(general_store.held() == general.footprint(general_store));
  }
};

// The bytes a sender sends at a relative sequence number: the same for every retransmission unless the
// test rewrites them on purpose.
uint8_t byte_at(uint64_t seq) { return static_cast<uint8_t>('a' + seq % 26); }

// A run's random choices.
struct Dice {
  std::mt19937_64 rng;
  explicit Dice(uint32_t seed) : rng(seed) {}
  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
};

constexpr uint64_t kNoRewrite = UINT64_MAX;

// The sender's bytes at seq, cap of the segment's len captured, the byte at `rewrite` changed (unless
// kNoRewrite), through both streams.
void send(Pair& p, std::vector<uint8_t>& buf, uint64_t seq, uint64_t len, uint64_t cap, uint64_t rewrite,
          uint64_t acked, bool keep, bool peer_active, const StreamLimits& lim) {
  buf.resize(cap);
  for (uint64_t k = 0; k < cap; ++k) buf[k] = byte_at(seq + k);
  if (rewrite < cap) buf[rewrite] ^= 0x20;
  p.segment(seq, {buf.data(), static_cast<size_t>(cap)}, len, acked, keep, peer_active, lim);
}

// The connection ends; the streams start again.
void restart(Pair& p, bool keep, uint64_t& acked) {
  p.finish(keep);
  p.check();
  p.reset();
  acked = 0;
}

void run_random(uint32_t seed, int ops, double keep_share) {
  Dice dice(seed);
  Pair p;
  StreamLimits lim;
  lim.max_ooo_bytes = 64;
  lim.keep_unacked_bytes = 16;
  uint64_t acked = 0;  // the highest ACK the peer sent, as the endpoint state gives segment()
  std::vector<uint8_t> buf;
  for (int op = 0; op < ops; ++op) {
    INFO("seed " << seed << " op " << op);
    const bool keep = dice.chance(keep_share);
    const uint64_t r = dice.pick(100);
    if (r < 60) {
      // Mostly in order, sometimes behind (retransmissions, overlaps) or ahead (holes).
      const uint64_t next = p.fast.next_seq();
      uint64_t seq = next;
      if (dice.chance(0.3)) seq = next + dice.pick(24);
      if (dice.chance(0.2)) seq = next > 12 ? next - dice.pick(12) : 1 + dice.pick(next);
      const uint64_t len = dice.pick(20);
      uint64_t cap = len;
      if (dice.chance(0.1)) cap = dice.pick(len + 1);      // the snaplen cut it
      if (dice.chance(0.05)) cap = len + dice.pick(4);     // link-layer padding
      const uint64_t rewrite = cap > 0 && dice.chance(0.1) ? dice.pick(cap) : kNoRewrite;  // a rewritten retransmission
      const uint64_t seg_acked = dice.chance(0.8) ? acked : acked + dice.pick(8);
      send(p, buf, seq, len, cap, rewrite, seg_acked, keep, dice.chance(0.9), lim);
    } else if (r < 95) {
      const uint64_t next = p.fast.next_seq();
      uint64_t up_to = next > 4 ? next - dice.pick(4) : next;
      if (dice.chance(0.3)) up_to = next + dice.pick(16);
      if (dice.chance(0.1)) up_to = dice.pick(3) + 1;
      acked = std::max(acked, up_to);
      p.ack(up_to, keep, !dice.chance(0.1));
    } else if (r < 98) {
      lim.keep_unacked_bytes = static_cast<uint32_t>(dice.chance(0.5) ? 16 : dice.pick(3) * 8);
      lim.max_ooo_bytes = 16 + dice.pick(64);
      continue;
    } else {
      restart(p, keep, acked);
    }
    p.check();
  }
  p.finish(true);
  p.check();
}

// Request and response polling, as the kept-bytes fast paths see it: payload always wanted, segments in
// order or sent again over bytes not acknowledged yet (some rewritten, some longer than before), the
// peer's ACK mostly of everything; now and then a hole, a cut segment or an ACK past the stream sends
// the stream down the general path and back.
void run_polling(uint32_t seed, int ops) {
  Dice dice(seed);
  Pair p;
  StreamLimits lim;
  lim.max_ooo_bytes = 64;
  lim.keep_unacked_bytes = 24;
  uint64_t acked = 0;
  std::vector<uint8_t> buf;
  for (int op = 0; op < ops; ++op) {
    INFO("seed " << seed << " op " << op);
    const uint64_t r = dice.pick(100);
    const uint64_t next = p.fast.next_seq(), trim = p.fast.trim_seq();
    if (r < 55) {
      uint64_t seq = next;
      if (dice.chance(0.3) && next > trim) seq = trim + dice.pick(next - trim);  // again, over unacknowledged bytes
      if (dice.chance(0.05)) seq = next + 1 + dice.pick(8);                      // a hole
      if (dice.chance(0.03)) seq = trim > 3 ? trim - dice.pick(4) : trim;        // below what was acknowledged
      const uint64_t len = dice.pick(dice.chance(0.1) ? 40 : 20);
      uint64_t cap = len;
      if (dice.chance(0.05)) cap = dice.pick(len + 1);
      const uint64_t rewrite = cap > 0 && dice.chance(0.3) ? dice.pick(cap) : kNoRewrite;
      const uint64_t seg_acked = dice.chance(0.9) ? acked : acked + dice.pick(4);
      send(p, buf, seq, len, cap, rewrite, seg_acked, true, dice.chance(0.9), lim);
    } else if (r < 95) {
      uint64_t up_to = next;
      if (dice.chance(0.3) && next >= trim) up_to = trim + dice.pick(next - trim + 1);  // part of what was sent
      if (dice.chance(0.05)) up_to = next + 1 + dice.pick(8);          // past the stream
      acked = std::max(acked, up_to);
      p.ack(up_to, true, !dice.chance(0.1));
    } else if (r < 98) {
      lim.keep_unacked_bytes = static_cast<uint32_t>(dice.chance(0.7) ? 24 : dice.pick(4) * 6);
      continue;
    } else {
      restart(p, true, acked);
    }
    p.check();
  }
  p.finish(true);
  p.check();
}

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("tcp stream fast paths agree with the general path on range only streams", "[tcp]") {
  for (uint32_t seed = 1; seed <= 200; ++seed) run_random(seed, 400, 0.0);
}

TEST_CASE("tcp stream fast paths agree with the general path when payload is wanted now and then", "[tcp]") {
  for (uint32_t seed = 1001; seed <= 1200; ++seed) run_random(seed, 400, 0.2);
  for (uint32_t seed = 2001; seed <= 2100; ++seed) run_random(seed, 400, 0.9);
}

TEST_CASE("tcp stream kept bytes fast paths agree with the general path on polling streams", "[tcp]") {
  for (uint32_t seed = 3001; seed <= 3300; ++seed) run_polling(seed, 400);
}

TEST_CASE("tcp stream kept bytes fast paths check rewrites then give the buffers back at the ACK", "[tcp]") {
  StreamStore store;
  TcpStream st;
  Recorder r;
  StreamLimits lim;
  st.segment(store, 1, bytes("abcdef"), 6, 0, true, true, lim, r);
  CHECK(store.live() == 1);
  CHECK(store.held() == st.footprint(store));
  CHECK(st.footprint(store) >= 6);
  // Sent again, longer, its first bytes rewritten (the DNP3 responses of mb100k): one inconsistency,
  // then only the new bytes are delivered.
  st.segment(store, 1, bytes("Xbcdefghij"), 10, 0, true, true, lim, r);
  CHECK(r.log == "Dabcdef;I;Dghij;");
  CHECK(st.next_seq() == 11);
  st.ack(store, 5, true, true, r);  // part of it: the rest stays for the check
  CHECK(store.live() == 1);
  st.segment(store, 5, bytes("eXg"), 3, 5, true, true, lim, r);
  CHECK(r.log == "Dabcdef;I;Dghij;I;");
  st.ack(store, 11, true, true, r);
  CHECK(store.live() == 0);
  CHECK(store.held() == 0);
  CHECK(st.footprint(store) == 0);
  CHECK(st.trim_seq() == 11);
}

TEST_CASE("tcp stream fast path moves next and trim and leaves no buffers", "[tcp]") {
  StreamStore store;
  TcpStream st;
  Recorder r;
  flow::StreamSink& sink = r;
  st.segment(store, 1, bytes("abcd"), 4, 0, false, true, {}, sink);
  CHECK(st.next_seq() == 5);
  st.ack(store, 5, false, true, sink);
  CHECK(st.trim_seq() == 5);
  st.segment(store, 5, bytes("ef"), 2, 5, false, true, {}, sink);
  CHECK(st.next_seq() == 7);
  CHECK(r.log.empty());
  CHECK(store.live() == 0);
  // A truncated segment is not whole: the general path reports its missing tail.
  st.segment(store, 7, bytes("g"), 3, 5, false, true, {}, sink);
  CHECK(st.next_seq() == 10);
  CHECK(r.log == "G2/1;");
  // An ACK past a hole is a gap even without buffers.
  st.ack(store, 12, false, true, sink);
  CHECK(r.log == "G2/1;G2/0;");
  CHECK(st.next_seq() == 12);
}

TEST_CASE("tcp stream truncated segment filling a hole leaves no block behind the stream", "[tcp]") {
  StreamStore store;
  TcpStream st;
  Recorder r;
  st.segment(store, 6, bytes("fghij"), 5, 0, true, true, {}, r);  // beyond a hole: waits
  // Fills the hole, but the snaplen cut it after 5 of its 10 bytes: the waiting bytes were delivered
  // past the missing tail, which is then no hole at all.
  st.segment(store, 1, bytes("abcde"), 10, 0, true, true, {}, r);
  CHECK(st.next_seq() == 11);
  CHECK_FALSE(st.has_buffered(store));
  st.ack(store, 11, true, true, r);
  st.ack(store, 14, true, true, r);  // a hole past the stream: the ACK reports it (this looped forever)
  st.finish(store, true, r);
  CHECK(r.log == "Dabcde;Dfghij;G3/0;");
  CHECK(store.live() == 0);
}
