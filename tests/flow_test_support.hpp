// A harness for flow-table tests: builds DecodedPacket values by hand (no decoder involved) and records
// every FlowEvents call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "capture/decode.hpp"
#include "capture/flow.hpp"
#include "capture/weird.hpp"
#include "sensor/weird_filter.hpp"

namespace ots::test {

inline IpAddr ip(const char* text) {
  IpAddr a;
  IpAddr::parse(text, a);
  return a;
}

// What a connection looked like when it ended.
struct EndedConn {
  ConnId id;
  Uid uid;
  uint64_t first_ts = 0, last_ts = 0;
  EndpointCounters orig, resp;
  uint64_t missed = 0;
  std::string state, history;
  FlowEnd why = FlowEnd::Shutdown;
  uint64_t when = 0;  // the time of the advance_time() call (or last packet) that ended it
};

class Recorder : public FlowEvents, public WeirdSink {
 public:
  bool want_payload = false;
  std::vector<std::string> calls;         // "new", "packet", "payload", "gap", "interim", "end"
  std::vector<EndedConn> ended;
  std::vector<std::string> weird_names;
  std::string stream[2];                  // [0] originator, [1] responder: payload, gaps as "<gap N>"
  std::vector<uint64_t> interim_times;
  uint64_t now = 0;

  void on_new_flow(Conn& c, const DecodedPacket&) override {
    calls.push_back("new");
    c.wants_payload = want_payload;
  }
  void on_packet(Conn&, bool, const DecodedPacket&) override { calls.push_back("packet"); }
  void on_payload(Conn&, bool is_orig, std::span<const uint8_t> data, uint64_t) override {
    calls.push_back("payload");
    stream[is_orig ? 0 : 1].append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  void on_gap(Conn&, bool is_orig, uint64_t len, uint64_t) override {
    calls.push_back("gap");
    stream[is_orig ? 0 : 1] += "<gap " + std::to_string(len) + ">";
  }
  void on_interim(Conn&, uint64_t now_ns) override {
    calls.push_back("interim");
    interim_times.push_back(now_ns);
  }
  void on_flow_end(Conn& c, FlowEnd why) override {
    calls.push_back("end");
    EndedConn e;
    e.id = c.id();
    e.uid = c.uid();
    e.first_ts = c.first_ts_ns;
    e.last_ts = c.last_ts_ns;
    e.orig = c.orig;
    e.resp = c.resp;
    e.missed = c.missed_bytes;
    e.state = c.conn_state();
    e.history = c.history().c_str();
    e.why = why;
    e.when = now;
    ended.push_back(e);
  }
  void weird(const WeirdEvent& ev) override { weird_names.emplace_back(ev.name); }
  // With a filter, weirds go through it with repeat hints, as the worker's do; weird_names then holds
  // the weirds built, weird_repeats counts those the flow table offered on a hint instead.
  WeirdFilter* hint_filter = nullptr;
  uint64_t weird_repeats = 0;
  RepeatHint weird_hinted(const WeirdEvent& ev) override {
    weird(ev);
    return hint_filter ? hint_filter->admit_hinted(ev).hint : RepeatHint{};
  }
  bool weird_repeated(const RepeatHint& h, std::string_view name, uint64_t ts_ns) override {
    if (hint_filter == nullptr || !hint_filter->repeated(h, name, ts_ns)) return false;
    ++weird_repeats;
    return true;
  }

  bool saw_weird(std::string_view name) const {
    for (const auto& w : weird_names) {
      if (w == name) return true;
    }
    return false;
  }
};

constexpr uint64_t kT0 = 1'600'000'000'000'000'000ull;
constexpr uint64_t kMs = 1'000'000ull;
constexpr uint64_t kSec = 1'000'000'000ull;

namespace fl = tcp_flag;

// A two-host conversation: A is usually the client, B the server. Every packet advances the clock by
// 1 ms unless a time is given.
class Harness {
 public:
  explicit Harness(FlowTableConfig cfg = {}, const char* a = "10.0.0.1", uint16_t a_port = 40000,
                   const char* b = "10.0.0.2", uint16_t b_port = 5555)
      : table(cfg, rec, rec), a_(ip(a)), b_(ip(b)), a_port_(a_port), b_port_(b_port) {}

  Recorder rec;
  FlowTable table;
  uint64_t ts = kT0;

  // A TCP segment from A (from_a) or B. `caplen` < data.size() simulates the snaplen cutting it.
  void tcp(bool from_a, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = {},
           uint16_t window = 8192, size_t caplen = SIZE_MAX) {
    DecodedPacket p = base(from_a, Transport::Tcp, 6);
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.window = window;
    p.payload_len = static_cast<uint32_t>(data.size());
    p.payload = {reinterpret_cast<const uint8_t*>(data.data()), std::min(caplen, data.size())};
    p.ip_len = 40 + p.payload_len;
    send(p);
  }

  void udp(bool from_a, std::string_view data = "x", bool bad_checksum = false) {
    DecodedPacket p = base(from_a, Transport::Udp, 17);
    p.payload_len = static_cast<uint32_t>(data.size());
    p.payload = {reinterpret_cast<const uint8_t*>(data.data()), data.size()};
    p.ip_len = 28 + p.payload_len;
    p.bad_checksum = bad_checksum;
    send(p);
  }

  void icmp(bool from_a, uint8_t type, uint8_t code, uint32_t payload_len = 56) {
    DecodedPacket p = base(from_a, Transport::Icmp, 1);
    p.sport = type;
    p.dport = code;
    p.payload_len = payload_len;
    p.ip_len = 28 + payload_len;
    send(p);
  }

  void advance(uint64_t to) {
    rec.now = to;
    table.advance_time(to);
  }
  void flush() {
    rec.now = ts;
    table.flush_all();
  }

  // The single connection that ended (fails the test if there is not exactly one).
  const EndedConn& only() const {
    REQUIRE(rec.ended.size() == 1);
    return rec.ended.front();
  }

  IpAddr a() const { return a_; }
  IpAddr b() const { return b_; }

 private:
  DecodedPacket base(bool from_a, Transport l4, uint8_t proto) {
    DecodedPacket p;
    ts += kMs;
    p.ts_ns = ts;
    p.ip_version = 4;
    p.src = from_a ? a_ : b_;
    p.dst = from_a ? b_ : a_;
    p.sport = from_a ? a_port_ : b_port_;
    p.dport = from_a ? b_port_ : a_port_;
    p.l4 = l4;
    p.ip_proto = proto;
    p.ttl = 64;
    return p;
  }
  void send(const DecodedPacket& p) {
    rec.now = p.ts_ns;
    table.process(p);
  }

  IpAddr a_, b_;
  uint16_t a_port_, b_port_;
};

}  // namespace ots::test
