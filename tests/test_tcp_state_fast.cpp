// The TCP state machine's fast path (tcp::process_fast, inline for the flow table) held to the general
// path (tcp::process_general) by random packet sequences: handshakes or midstream starts, data, ACKs,
// retransmissions, reordering, zero windows, wraps of the sequence space, control flags and garbage.

#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "capture/tcp_state.hpp"

using namespace ots;
using tcp::EpState;

namespace {

struct Recorder final : tcp::Weirds {
  std::string log;
  void weird(std::string_view name) override {
    log.append(name);
    log += ';';
  }
};

// One connection through process_fast (the general path when it declines), one through the general
// path only.
struct Pair {
  flow::StreamStore store;
  Conn::TcpState fast, general;
  flow::ConnHistory fast_hist, general_hist;
  tcp::CounterStore fast_counters, general_counters;
  Recorder fast_weirds, general_weirds;
  uint64_t taken = 0, declined = 0;

  bool last_delivered = false;  // the last packet's Outcome::deliver

  void packet(const tcp::Packet& p) {
    tcp::Outcome fo;
    if (tcp::process_fast(fast, fast_hist, p, fast_counters, fo,
                          [&](std::string_view name) { fast_weirds.weird(name); })) {
      ++taken;
    } else {
      ++declined;
      fo = tcp::process_general(fast, fast_hist, p, fast_weirds, fast_counters);
    }
    const tcp::Outcome go = tcp::process_general(general, general_hist, p, general_weirds, general_counters);
    check(fo, go);
    last_delivered = fo.deliver;
    // What the flow table does next (did_close matters to update_last_time).
    if (fo.do_close) {
      REQUIRE(tcp::connection_closed(fast, *fo.endpoint) == tcp::connection_closed(general, *go.endpoint));
    }
  }

  void reset() {
    fast_counters.forget(fast);
    general_counters.forget(general);
    fast.reset(store);
    general.reset(store);
    fast_hist.clear();
    general_hist.clear();
  }

  void check(const tcp::Outcome& f, const tcp::Outcome& g) const {
    REQUIRE((f.endpoint - &fast.ep[0]) == (g.endpoint - &general.ep[0]));
    REQUIRE(f.flipped == g.flipped);
    REQUIRE(f.update_last_time == g.update_last_time);
    REQUIRE(f.do_close == g.do_close);
    REQUIRE(f.arm_attempt == g.arm_attempt);
    REQUIRE(f.arm_reset == g.arm_reset);
    REQUIRE(f.deliver == g.deliver);
    REQUIRE(f.rel_data_seq == g.rel_data_seq);
    REQUIRE(f.have_ack == g.have_ack);
    REQUIRE(f.rel_ack == g.rel_ack);
    for (int k = 0; k < 2; ++k) {
      INFO("endpoint " << k);
      const tcp::Endpoint& a = fast.ep[k];
      const tcp::Endpoint& b = general.ep[k];
      REQUIRE(a.state == b.state);
      REQUIRE(a.prev_state == b.prev_state);
      REQUIRE(a.did_close == b.did_close);
      REQUIRE(a.fin_seen == b.fin_seen);
      REQUIRE(a.active == b.active);
      REQUIRE(a.conn_bits == b.conn_bits);
      REQUIRE(a.seq_wraps == b.seq_wraps);
      REQUIRE(a.ack_wraps == b.ack_wraps);
      REQUIRE(a.rxmt_cnt == b.rxmt_cnt);
      REQUIRE(a.start_seq == b.start_seq);
      REQUIRE(a.last_seq == b.last_seq);
      REQUIRE(a.ack_seq == b.ack_seq);
      REQUIRE(a.hist_last_syn == b.hist_last_syn);
      REQUIRE(a.hist_last_fin == b.hist_last_fin);
      REQUIRE(a.hist_last_rst == b.hist_last_rst);
      REQUIRE(a.fin_seq() == b.fin_seq());
      REQUIRE(a.stream.next_seq() == b.stream.next_seq());
      REQUIRE(a.stream.trim_seq() == b.stream.trim_seq());
      REQUIRE(tcp::size(fast, a) == tcp::size(general, b));
    }
    REQUIRE(std::string(fast_hist.text().c_str()) == general_hist.text().c_str());
    REQUIRE(fast_hist.seen[0] == general_hist.seen[0]);
    REQUIRE(fast_hist.seen[1] == general_hist.seen[1]);
    REQUIRE(fast_weirds.log == general_weirds.log);
    REQUIRE(fast_counters.size() == general_counters.size());
    REQUIRE(std::string(tcp::conn_state(fast, fast_hist.text().c_str())) ==
            tcp::conn_state(general, general_hist.text().c_str()));
  }
};

// A sender's view of its own sequence space.
struct Side {
  uint32_t next = 0;  // the next sequence number it sends
};

void run_random(uint32_t seed, int ops, Pair& pair) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return static_cast<uint32_t>(std::uniform_int_distribution<uint64_t>(0, n - 1)(rng)); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  Side side[2];
  auto start = [&] {
    pair.reset();
    for (Side& s : side) {
      // Now and then just below 2^32, so that the connection wraps the sequence space.
      s.next = chance(0.3) ? 0xffffffffu - pick(20000) : static_cast<uint32_t>(rng());
    }
    const uint32_t how = pick(10);
    if (how < 5) {  // a handshake, or only part of one
      pair.packet({true, tcp_flag::SYN, side[0].next, 0, 1024, 0});
      ++side[0].next;
      if (chance(0.9)) {
        pair.packet({false, tcp_flag::SYN | tcp_flag::ACK, side[1].next, side[0].next, 1024, 0});
        ++side[1].next;
        if (chance(0.9)) pair.packet({true, tcp_flag::ACK, side[0].next, side[1].next, 1024, 0});
      }
    } else if (how < 6) {  // the SYN-ACK seen before its SYN (two interfaces): the roles flip
      pair.packet({true, tcp_flag::SYN | tcp_flag::ACK, side[0].next, side[1].next + 1, 1024, 0});
      ++side[0].next;
      pair.packet({false, tcp_flag::SYN, side[1].next, 0, 1024, 0});
      ++side[1].next;
    } else if (how < 7) {  // the SYN missed, the SYN-ACK seen, then the ACK
      pair.packet({false, tcp_flag::SYN | tcp_flag::ACK, side[1].next, side[0].next, 1024, 0});
      ++side[1].next;
      if (chance(0.8)) pair.packet({true, tcp_flag::ACK, side[0].next, side[1].next, 1024, 0});
    } else if (how < 8) {  // midstream, the responder first
      pair.packet({false, tcp_flag::ACK | tcp_flag::PSH, side[1].next, side[0].next, 1024, 10});
      side[1].next += 10;
    }  // else midstream, whoever comes first below
  };
  start();
  for (int op = 0; op < ops; ++op) {
    INFO("seed " << seed << " op " << op);
    const bool orig = chance(0.5);
    Side& me = side[orig ? 0 : 1];
    const Side& other = side[orig ? 1 : 0];
    tcp::Packet p;
    p.is_orig = orig;
    p.flags = tcp_flag::ACK;
    if (chance(0.3)) p.flags |= tcp_flag::PSH;
    p.seq = me.next;
    p.ack = other.next;
    p.window = static_cast<uint16_t>(1 + pick(65535));
    p.len = chance(0.4) ? 0 : 1 + pick(1460);
    const uint32_t r = pick(1000);
    if (r < 600) {
      // In order.
    } else if (r < 700) {
      p.seq = me.next - pick(4000);  // a retransmission or an overlap
    } else if (r < 750) {
      p.seq = me.next + pick(4000);  // ahead of a hole
    } else if (r < 790) {
      p.ack = other.next - pick(4000);  // an old ACK
    } else if (r < 820) {
      p.window = 0;
    } else if (r < 840) {
      p.flags = chance(0.5) ? 0 : tcp_flag::PSH;  // no ACK
    } else if (r < 860) {
      p.flags |= tcp_flag::URG;
    } else if (r < 880) {
      p.flags |= tcp_flag::FIN;
    } else if (r < 895) {
      p.flags = chance(0.5) ? tcp_flag::RST : tcp_flag::RST | tcp_flag::ACK;
    } else if (r < 910) {
      p.flags = chance(0.5) ? tcp_flag::SYN : tcp_flag::SYN | tcp_flag::ACK;
      if (chance(0.5)) p.seq = me.next - 1;
    } else if (r < 925) {
      p.flags = static_cast<uint8_t>(pick(256));  // any combination
    } else if (r < 940) {
      p.seq = static_cast<uint32_t>(rng());  // garbage sequence number
    } else if (r < 955) {
      p.ack = chance(0.5) ? 0 : static_cast<uint32_t>(rng());  // garbage ACK
    } else if (r < 965) {
      p.len = pick(1u << 21);  // a length no segment has, but the headers may say
    } else if (r < 975) {
      p.seq = me.next - 0x80000000u + pick(3);  // half the sequence space away
    } else if (r < 985) {
      p.ack = other.next + pick(1u << 22);  // ACKs data never sent
    } else if (r < 990) {
      start();  // a new connection in the same states
      continue;
    }
    const uint32_t seg_end = p.seq + p.len;
    if (static_cast<int32_t>(seg_end - me.next) > 0 && !(p.flags & tcp_flag::RST)) me.next = seg_end;
    pair.packet(p);
  }
}

}  // namespace

TEST_CASE("tcp state fast path does what the general path does on random packet sequences", "[tcp]") {
  Pair pair;
  for (uint32_t seed = 1; seed <= 200; ++seed) run_random(seed, 500, pair);
  // The comparison means something only if the fast path was taken, and declined, often (about 40% and
  // 60% of these packets: the sequences are rich in what the fast path leaves to the general one).
  INFO("taken " << pair.taken << " declined " << pair.declined);
  CHECK(pair.taken > 30000);
  CHECK(pair.declined > 30000);
}

TEST_CASE("tcp state fast path takes an established connection's data and ACKs and declines flags", "[tcp]") {
  Pair pair;
  const uint32_t a = 1000, b = 5000;
  pair.packet({true, tcp_flag::SYN, a, 0, 1024, 0});
  pair.packet({false, tcp_flag::SYN | tcp_flag::ACK, b, a + 1, 1024, 0});
  CHECK(pair.taken == 0);
  pair.packet({true, tcp_flag::ACK, a + 1, b + 1, 1024, 0});
  // The handshake's last ACK: both established, both first packets seen.
  CHECK(pair.taken == 1);
  pair.packet({true, tcp_flag::ACK | tcp_flag::PSH, a + 1, b + 1, 1024, 5});
  pair.packet({false, tcp_flag::ACK, b + 1, a + 6, 1024, 0});
  pair.packet({true, tcp_flag::ACK | tcp_flag::PSH, a + 1, b + 1, 1024, 5});  // retransmitted: T
  pair.packet({false, tcp_flag::ACK, b + 1, a + 6, 0, 0});                    // zero window: w
  CHECK(pair.taken == 5);
  pair.packet({true, tcp_flag::ACK | tcp_flag::FIN, a + 6, b + 1, 1024, 0});
  CHECK(pair.taken == 5);
  CHECK(std::string(pair.fast_hist.text().c_str()) == "ShADaTwF");
  CHECK(pair.fast.orig().state == EpState::Closed);
  CHECK(pair.fast.orig().rxmt_cnt == 1);
  // Data from before the responder's ISN and an ACK of the originator's before its ISN: the underflow
  // weirds come from the fast path too, and the data is not delivered.
  pair.packet({false, tcp_flag::ACK | tcp_flag::PSH, b - 100, a - 50, 1024, 10});
  CHECK(pair.taken == 6);
  CHECK_FALSE(pair.last_delivered);
  CHECK(pair.fast_weirds.log == "TCP_seq_underflow_or_misorder;TCP_ack_underflow_or_misorder;");
  CHECK(pair.fast.did_weird());
}
