// The per-worker flow table: Zeek's connection semantics (who is the originator, conn_state, history,
// sizes, timeouts) over a cache-friendly, allocation-free (per packet) store.
//
// Layout: connections live in slabs of Slot (never moved, so Conn pointers stay valid); a table of
// buckets maps the canonical key's hash to a chain of slots linked through the slots; every live slot
// sits on one intrusive list per inactivity class ordered by last activity, so the longest-idle
// connection of a class is its list's head; TCP's
// attempt/close/reset delays sit in a small binary heap with lazy invalidation; interim records come from
// a list ordered by due time. advance_time() looks at a handful of list heads when nothing is due.

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "capture/conn_history.hpp"
#include "capture/flow.hpp"
#include "capture/flow_key.hpp"
#include "capture/tcp_reassembly.hpp"
#include "capture/tcp_state.hpp"

namespace ots {
namespace {

constexpr uint32_t kNil = UINT32_MAX;
constexpr uint64_t kTcpConnectionLingerNs = 5'000'000'000ull;  // tcp_connection_linger (base/init-bare.zeek)
// 64 connections per slab: the slabs round the peak up to a multiple of this (with 256, 1.2% of the perf
// capture's peak were empty slots), and a slab is 10.5 KiB.
constexpr unsigned kChunkShift = 6;
constexpr uint32_t kChunkSlots = 1u << kChunkShift;
constexpr uint32_t kTcpChunk = 256;

// Which inactivity timeout applies. TCP stays on udp_inactivity_timeout until one side leaves the
// handshake (TCP_Endpoint::SetState); a connection whose close completed has no inactivity timer left
// (CancelTimers) and waits for tcp_close_delay.
enum TimeoutClass : uint8_t { kTcpHandshake, kTcpActive, kUdp, kIcmp, kOtherIp, kClosing, kNumClasses };

enum SlotFlag : uint8_t {
  kLive = 1,
  kInterims = 2,     // interim records were written: their count is in the table's side map
  kOrigActive = 4,   // UDP_ACTIVE for the originator (a datagram with a good checksum)
  kRespActive = 8,
  kCloseDone = 16,   // TCP close complete: only the close/reset timers end it
  kBadChecksums = 32,  // UDP with bad checksums: its counters are in the table's side map
};

enum TimerKind : uint8_t { kAttempt, kClose, kReset };

// 160 bytes (a 120-byte Conn), the 32-bit members before the 1-aligned history so that nothing pads. The
// generation that told stale timers from a reused slot's new connection is the TCP state's serial (only
// TCP connections have timers), and the interim record count, which only connections older than
// interim_interval need, is in a side map: 8 bytes a connection.
struct Slot {
  Conn conn;  // first member: Conn::history() finds the slot from the Conn
  uint32_t prev = kNil, next = kNil;    // inactivity list (the free list uses `next`)
  uint32_t iprev = kNil, inext = kNil;  // interim list
  uint32_t hnext = kNil;                // the next slot in this one's hash bucket
  flow::ConnHistory hist;
  uint8_t tclass = kUdp;
  uint8_t epoch = 0;                    // bumps when Zeek would cancel the connection's timers
  uint8_t flags = 0;
};
static_assert(std::is_standard_layout_v<Slot>, "Conn::history() relies on Slot being standard-layout");
static_assert(sizeof(Slot) <= 160, "a table slot grew: every tracked connection pays for it");

const Slot& slot_of(const Conn& c) { return *reinterpret_cast<const Slot*>(&c); }

struct Timer {
  uint64_t when;
  uint32_t slot;
  uint32_t serial;  // the TCP state's: a stale timer's connection is gone, even if its slot is in use
  uint8_t kind;
  uint8_t epoch;
};
struct TimerLater {
  bool operator()(const Timer& a, const Timer& b) const {
    return a.when != b.when ? a.when > b.when : a.slot > b.slot;
  }
};

class PortSet {
 public:
  void assign(const std::vector<uint16_t>& ports) {
    bits_.fill(0);
    for (uint16_t p : ports) bits_[p >> 6] |= uint64_t(1) << (p & 63);
  }
  bool has(uint16_t p) const { return (bits_[p >> 6] >> (p & 63)) & 1; }

 private:
  std::array<uint64_t, 1024> bits_{};
};

bool is_ipv4_broadcast(const IpAddr& a) {
  return a.is_v4() && a.bytes[12] == 0xff && a.bytes[13] == 0xff && a.bytes[14] == 0xff && a.bytes[15] == 0xff;
}

}  // namespace

std::vector<uint16_t> default_likely_server_ports(Transport t) {
  // The union of the `redef likely_server_ports += { ports }` of Zeek's base protocol scripts, plus the
  // ICSNPP analyzers (s7comm 102, iec104 2404, opcua 4840, ge-srtp 18245/18246, enip 44818/2222,
  // profinet 34962-34964, bacnet 47808).
  if (t == Transport::Udp) {
    return {53,   67,   68,    88,    123,   137,   138,   161,   162,   514,   1812, 1813,
            2222, 4789, 5060,  5353,  5355,  6081,  20000, 34962, 34963, 34964, 44818, 47808};
  }
  if (t == Transport::Tcp) {
    return {21,   22,   25,   53,   80,   81,   88,   102,  135,  139,   143,   389,   443,  445,
            502,  563,  585,  587,  614,  631,  636,  853,  989,  990,   992,   993,   995,  1080,
            2222, 2404, 3128, 3268, 3306, 3389, 4840, 5223, 5432, 6666,  6667,  6668,  6669, 8000,
            8080, 8443, 8888, 18245, 18246, 20000, 44818};
  }
  return {};
}

struct FlowTable::Impl {
  Impl(const FlowTableConfig& c, FlowEvents& ev, WeirdSink& w) : cfg(c), events(ev), weirds(w) {
    tcp_ports.assign(cfg.likely_server_tcp_ports);
    udp_ports.assign(cfg.likely_server_udp_ports);
    limits.max_ooo_bytes = cfg.reassembly_max_bytes;
    limits.keep_unacked_bytes = cfg.reassembly_unacked_bytes;
    timeouts[kTcpHandshake] = cfg.udp_inactivity_ns;
    timeouts[kTcpActive] = cfg.tcp_inactivity_ns;
    timeouts[kUdp] = cfg.udp_inactivity_ns;
    timeouts[kIcmp] = cfg.icmp_inactivity_ns;
    timeouts[kOtherIp] = cfg.unknown_ip_inactivity_ns;
    timeouts[kClosing] = UINT64_MAX;
    buckets.assign(1024, kNil);
    heap.reserve(1024);
  }

  // ---- slabs -------------------------------------------------------------------------------------

  Slot& slot(uint32_t i) { return chunks[i >> kChunkShift][i & (kChunkSlots - 1)]; }

  uint32_t alloc_slot() {
    if (free_head == kNil) {
      const auto base = static_cast<uint32_t>(chunks.size()) << kChunkShift;
      chunks.push_back(std::make_unique<Slot[]>(kChunkSlots));
      for (uint32_t k = kChunkSlots; k-- > 0;) {
        chunks.back()[k].next = free_head;
        free_head = base + k;
      }
    }
    const uint32_t i = free_head;
    free_head = slot(i).next;
    return i;
  }

  Conn::TcpState& tcp_at(uint32_t i) { return tcp_chunks[i / kTcpChunk][i % kTcpChunk]; }

  // Free TCP states are linked through their first endpoint's start_seq (index + 1 of the next free one,
  // 0 ends the list), which means nothing while the state is free: a link member cost 4 bytes in every
  // state. alloc_tcp() clears it.
  Conn::TcpState* alloc_tcp() {
    if (tcp_free_head == 0) {
      const auto base = static_cast<uint32_t>(tcp_chunks.size()) * kTcpChunk;
      tcp_chunks.push_back(std::make_unique<Conn::TcpState[]>(kTcpChunk));
      for (uint32_t k = kTcpChunk; k-- > 0;) {
        tcp_chunks.back()[k].ep[0].start_seq = tcp_free_head;
        tcp_free_head = base + k + 1;
      }
    }
    Conn::TcpState* s = &tcp_at(tcp_free_head - 1);
    tcp_free_head = s->ep[0].start_seq;
    s->ep[0].start_seq = 0;
    s->serial = ++tcp_serial;
    return s;
  }

  void free_tcp(Conn::TcpState* s) {
    counters.forget(*s);
    s->reset(streams);
    // The state's index, from the chunk that holds it: a scan of the chunks (one per 256 states) once per
    // TCP connection, instead of 4 bytes in every state.
    uint32_t index = 0;
    for (uint32_t ci = 0; ci < tcp_chunks.size(); ++ci) {
      const Conn::TcpState* first = tcp_chunks[ci].get();
      if (std::less_equal<>{}(first, s) && std::less<>{}(s, first + kTcpChunk)) {
        index = ci * kTcpChunk + static_cast<uint32_t>(s - first);
        break;
      }
    }
    s->ep[0].start_seq = tcp_free_head;
    tcp_free_head = index + 1;
  }

  // ---- key table ---------------------------------------------------------------------------------

  flow::FlowKey key_of(const Slot& s) const {
    const Conn& c = s.conn;
    const ConnId id = c.id();
    const flow::PacketEnds e{&id.orig_h, &id.resp_h, id.orig_p, id.resp_p, c.one_way_};
    return flow::make_key(e, c.vlan, c.inner_vlan, c.ip_proto);
  }

  static uint32_t hash32(const flow::FlowKey& k) { return flow::table_hash(k); }

  // Whether the slot's connection has the packet's key, compared field by field (rebuilding the slot's
  // canonical key for a memcmp cost as much as the rest of the lookup). Equal canonical keys mean the
  // same ends in either order, or in the order seen for one-way ICMP. `is_orig` tells which order matched:
  // the packet comes from the originator exactly when the first does (a packet whose source and
  // destination ends are equal matches it first).
  static bool same_flow(const Slot& s, const flow::PacketEnds& e, const DecodedPacket& p, bool& is_orig) {
    const Conn& c = s.conn;
    if (c.ip_proto != p.ip_proto || c.vlan != p.vlan || c.inner_vlan != p.inner_vlan ||
        c.one_way_ != e.one_way) {
      return false;
    }
    if (c.orig_p() == e.sport && c.resp_p() == e.dport && c.orig_h_is(*e.src) && c.resp_h_is(*e.dst)) {
      is_orig = true;
      return true;
    }
    is_orig = false;
    return !e.one_way && c.orig_p() == e.dport && c.resp_p() == e.sport && c.orig_h_is(*e.dst) &&
           c.resp_h_is(*e.src);
  }

  // Chained buckets, one 32-bit head each, with the links in the slots: 4 bytes per connection at a load
  // of at most 1, where an open-addressing table of {slot, hash} entries at a load of at most 1/2 cost
  // 16. same_flow() rejects a wrong slot on its first compare (protocol, VLANs, ports) almost always.
  // Inlined by hand: out of line, its call cost more than the lookup itself (callgrind).
  [[gnu::always_inline]] uint32_t find(const flow::PacketEnds& pe, const DecodedPacket& p, uint32_t h,
                                       bool& is_orig) {
    for (uint32_t i = buckets[h & (buckets.size() - 1)]; i != kNil; i = slot(i).hnext) {
      if (same_flow(slot(i), pe, p, is_orig)) return i;
    }
    return kNil;
  }

  void table_put(uint32_t i, uint32_t h) {
    uint32_t& head = buckets[h & (buckets.size() - 1)];
    slot(i).hnext = head;
    head = i;
  }

  void table_insert(uint32_t i, uint32_t h) {
    if (stats.active + 1 > buckets.size()) {
      // Rehash every live connection (its hash is recomputed from its key: growth is rare, and keeping
      // the hash would cost 4 bytes per connection). Slot i is live already but not linked yet.
      buckets.assign(buckets.size() * 2, kNil);
      for (uint32_t k = 0; k < chunks.size() * kChunkSlots; ++k) {
        if (k != i && (slot(k).flags & kLive)) table_put(k, hash32(key_of(slot(k))));
      }
    }
    table_put(i, h);
  }

  void table_erase(uint32_t i, uint32_t h) {
    uint32_t* link = &buckets[h & (buckets.size() - 1)];
    while (*link != i) link = &slot(*link).hnext;
    *link = slot(i).hnext;
    slot(i).hnext = kNil;
  }

  // ---- intrusive lists ---------------------------------------------------------------------------

  // Slot i is `s` (given by callers that have it: slot() is 7 instructions a call).
  void list_push(uint8_t cls, uint32_t i, Slot& s) {
    s.tclass = cls;
    s.prev = tails[cls];
    s.next = kNil;
    if (tails[cls] != kNil) {
      slot(tails[cls]).next = i;
    } else {
      heads[cls] = i;
    }
    tails[cls] = i;
  }

  void list_unlink(Slot& s) {
    if (s.prev != kNil) {
      slot(s.prev).next = s.next;
    } else {
      heads[s.tclass] = s.next;
    }
    if (s.next != kNil) {
      slot(s.next).prev = s.prev;
    } else {
      tails[s.tclass] = s.prev;
    }
    s.prev = s.next = kNil;
  }

  // Moves the connection to the tail of `cls` (it was active now). Inline: nearly every packet moves its
  // connection, and the call cost a third of the move (callgrind).
  [[gnu::always_inline]] void touch(uint32_t i, Slot& s, uint8_t cls) {
    if (tails[cls] == i && s.tclass == cls) return;
    list_unlink(s);
    list_push(cls, i, s);
  }

  void interim_push(uint32_t i) {
    Slot& s = slot(i);
    s.iprev = itail;
    s.inext = kNil;
    if (itail != kNil) {
      slot(itail).inext = i;
    } else {
      ihead = i;
    }
    itail = i;
  }

  void interim_unlink(uint32_t i) {
    Slot& s = slot(i);
    if (s.iprev != kNil) {
      slot(s.iprev).inext = s.inext;
    } else if (ihead == i) {
      ihead = s.inext;
    }
    if (s.inext != kNil) {
      slot(s.inext).iprev = s.iprev;
    } else if (itail == i) {
      itail = s.iprev;
    }
    s.iprev = s.inext = kNil;
  }

  uint64_t interim_due(uint32_t i) {
    const Slot& s = slot(i);
    const uint64_t written = (s.flags & kInterims) ? interim_counts.find(i)->second : 0;
    return s.conn.first_ts_ns + (written + 1) * cfg.interim_interval_ns;
  }

  // ---- timers ------------------------------------------------------------------------------------

  void push_timer(uint64_t when, uint32_t i, TimerKind kind) {
    const Slot& s = slot(i);
    heap.push_back(Timer{when, i, s.conn.tcp->serial, static_cast<uint8_t>(kind), s.epoch});
    std::push_heap(heap.begin(), heap.end(), TimerLater{});
  }

  bool timer_valid(const Timer& t) {
    const Slot& s = slot(t.slot);
    return (s.flags & kLive) && s.conn.tcp && s.conn.tcp->serial == t.serial && s.epoch == t.epoch;
  }

  // ---- weirds and stream delivery ----------------------------------------------------------------

  // The uid of a TCP connection's weird. Conn::uid() hashes it again at each call, and a connection that
  // has one weird tends to have many (the perf capture: 459,494 weirds, 15,737 of them logged, once per
  // connection), so the last uids are kept, by the TCP state's serial and the first packet's time (a
  // connection instance: serials repeat only after 2^32 TCP connections).
  Uid tcp_uid(const Conn& c) {
    if (!c.tcp) return c.uid();
    UidMemo& m = uid_memo[c.tcp->serial % kUidMemo];
    if (!m.set || m.serial != c.tcp->serial || m.first_ts != c.first_ts_ns) {
      m.uid = c.uid();
      m.serial = c.tcp->serial;
      m.first_ts = c.first_ts_ns;
      m.set = true;
    }
    return m.uid;
  }

  struct ConnWeirds final : tcp::Weirds {
    ConnWeirds(Impl& t, const Conn& c, uint64_t time, bool o) : table(t), conn(c), ts(time), is_orig(o) {}
    void weird(std::string_view name) override {
      // A repeat of this connection's last weird of the name is counted on the hint, unbuilt.
      const uint32_t serial = conn.tcp ? conn.tcp->serial : 0;
      // By connection and where the name lies: one packet can raise two names of one length
      // (TCP_seq_underflow_or_misorder and TCP_ack_underflow_or_misorder), which must not share a place.
      const auto at = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(name.data()) >> 3);
      WeirdMemo& m = table.weird_memo[((serial ^ at) * 0x9e3779b1u) >> (32 - kWeirdMemoBits)];
      if (m.hint.valid && conn.tcp && m.name == name.data() && m.size == name.size() && m.serial == serial &&
          m.first_ts == conn.first_ts_ns && table.weirds.weird_repeated(m.hint, name, ts)) {
        return;
      }
      const ConnId id = conn.id();
      WeirdEvent ev;
      ev.ts_ns = ts;
      ev.name = name;
      ev.uid = table.tcp_uid(conn);
      ev.id = id;
      ev.has_addrs = true;
      ev.is_orig = is_orig;
      ev.source = "tcp";
      m.hint = table.weirds.weird_hinted(ev);
      m.name = name.data();
      m.size = static_cast<uint32_t>(name.size());
      m.serial = serial;
      m.first_ts = conn.first_ts_ns;
    }
    Impl& table;
    const Conn& conn;
    uint64_t ts;
    bool is_orig;
  };

  struct Delivery final : flow::StreamSink {
    Delivery(Impl& t, Slot& sl, tcp::Endpoint& e, uint64_t time) : Delivery(t, sl, e, time, sl.conn.tcp->is_orig(e)) {}
    // With the endpoint's direction known already (process_tcp: one Delivery per ACK and per segment).
    Delivery(Impl& t, Slot& sl, tcp::Endpoint& e, uint64_t time, bool orig)
        : table(t), s(sl), ep(e), ts(time), is_orig(orig) {}
    void deliver(std::span<const uint8_t> data) override {
      table.events.on_payload(s.conn, is_orig, data, ts);
    }
    void gap(uint64_t len, flow::GapCause why) override {
      Conn& c = s.conn;
      if (why == flow::GapCause::Acked) acked_missing += len;
      // Zeek counts a gap (content_gap, so missed_bytes, and history g/G) only while both sides are
      // established or cleanly closing; holes left at the very end were never acknowledged and Zeek
      // does not report them either.
      const bool counted = why != flow::GapCause::End && why != flow::GapCause::NotKept &&
                           tcp::established_or_cleanly_closing(*c.tcp);
      if (counted) {
        c.missed_bytes += len;
        tcp::content_gap(*c.tcp, ep, s.hist, table.counters);
      }
      if (why == flow::GapCause::BufferLimit) {
        ConnWeirds(table, c, ts, is_orig).weird("excessive_data_without_further_acks");
      }
      if (c.wants_payload) table.events.on_gap(c, is_orig, len, ts);
    }
    void inconsistent() override {
      ConnWeirds(table, s.conn, ts, is_orig).weird("rexmit_inconsistency");
    }
    Impl& table;
    Slot& s;
    tcp::Endpoint& ep;
    uint64_t ts;
    bool is_orig;
    uint64_t acked_missing = 0;  // bytes an ACK covered that were never seen (TrimToSeq's num_missing)
  };

  // ---- connection life ---------------------------------------------------------------------------

  bool want_flip(const DecodedPacket& p, const flow::PacketEnds& e) const {
    // IPBasedAnalyzer::NewConn never flips towards the broadcast address.
    if (is_ipv4_broadcast(*e.dst)) return false;
    if (p.l4 == Transport::Tcp) {
      // TCPAnalyzer::WantConnection: only a connection not starting with a plain SYN is a candidate.
      const bool syn = p.tcp_flags & tcp_flag::SYN, ack = p.tcp_flags & tcp_flag::ACK;
      if (syn && !ack) return false;
      if (!tcp_ports.has(e.sport)) return false;
      // Both plausible servers: flip only if this is not a SYN-ACK (stealth scans) and the
      // destination port is the higher one.
      if (tcp_ports.has(e.dport)) return !syn && e.sport < e.dport;
      return true;
    }
    if (p.l4 == Transport::Udp) return udp_ports.has(e.sport) && !udp_ports.has(e.dport);
    return false;
  }

  uint32_t create(const DecodedPacket& p, const flow::PacketEnds& e, uint32_t h,
                  bool& flipped) {
    if (stats.active >= cfg.max_flows) evict_one();
    const uint32_t i = alloc_slot();
    Slot& s = slot(i);
    s.conn = Conn{};
    s.hist.clear();
    s.prev = s.next = s.iprev = s.inext = s.hnext = kNil;
    s.epoch = 0;
    s.flags = kLive;

    Conn& c = s.conn;
    c.one_way_ = e.one_way;
    flipped = want_flip(p, e);
    c.set_id(ConnId{flipped ? *e.dst : *e.src, flipped ? *e.src : *e.dst, flipped ? e.dport : e.sport,
                    flipped ? e.sport : e.dport, p.l4});
    if (c.v6_) ++v6_live;
    if (p.src_mac && p.dst_mac) {
      std::memcpy(c.orig_mac, flipped ? p.dst_mac : p.src_mac, 6);
      std::memcpy(c.resp_mac, flipped ? p.src_mac : p.dst_mac, 6);
      c.has_macs = true;
    }
    c.vlan = p.vlan;
    c.inner_vlan = p.inner_vlan;
    c.ip_proto = p.ip_proto;
    c.first_ts_ns = c.last_ts_ns = p.ts_ns;
    if (flipped) s.hist.add('^');  // Connection::FlipRoles

    uint8_t cls = kOtherIp;
    switch (p.l4) {
      case Transport::Tcp:
        c.tcp = alloc_tcp();
        cls = kTcpHandshake;
        break;
      case Transport::Udp: cls = kUdp; break;
      case Transport::Icmp:
      case Transport::Icmp6: cls = kIcmp; break;
      default: break;
    }
    table_insert(i, h);
    list_push(cls, i, s);
    if (cfg.interim_interval_ns > 0) interim_push(i);
    ++stats.active;
    ++stats.created;
    events.on_new_flow(c, p);
    return i;
  }

  void end(uint32_t i, FlowEnd why) {
    Slot& s = slot(i);
    Conn& c = s.conn;
    if (c.tcp) {
      const uint64_t ts = c.last_ts_ns;
      for (tcp::Endpoint& e : c.tcp->ep) {
        Delivery d(*this, s, e, ts);
        e.stream.finish(streams, c.wants_payload, d);
      }
    }
    const uint32_t h = hash32(key_of(s));
    sync_tcp_sizes(c);
    events.on_flow_end(c, why);
    ++stats.ended;
    if (why == FlowEnd::Evicted) ++stats.evicted;

    table_erase(i, h);
    list_unlink(s);
    if (cfg.interim_interval_ns > 0) interim_unlink(i);
    if (c.tcp) {
      free_tcp(c.tcp);
      c.tcp = nullptr;
    }
    c.app = nullptr;
    if (s.flags & kBadChecksums) udp_bad_checksums.erase(i);
    if (s.flags & kInterims) interim_counts.erase(i);
    if (c.v6_) --v6_live;
    c.clear_id();  // gives an IPv6 connection's address pair back now, not when the slot is reused
    s.flags = 0;
    s.next = free_head;
    free_head = i;
    --stats.active;
  }

  void evict_one() {
    uint32_t best = kNil;
    uint64_t best_ts = UINT64_MAX;
    for (uint32_t h : heads) {
      if (h != kNil && slot(h).conn.last_ts_ns < best_ts) {
        best = h;
        best_ts = slot(h).conn.last_ts_ns;
      }
    }
    if (best != kNil) end(best, FlowEnd::Evicted);
  }

  void flip_conn(Conn& c) {
    c.flip_id();
    if (c.tcp) {  // its weirds' identifier is another now
      for (WeirdMemo& m : weird_memo) {
        if (m.serial == c.tcp->serial && m.first_ts == c.first_ts_ns) m.hint.valid = false;
      }
    }
    uint8_t mac[6];
    std::memcpy(mac, c.orig_mac, 6);
    std::memcpy(c.orig_mac, c.resp_mac, 6);
    std::memcpy(c.resp_mac, mac, 6);
    std::swap(c.orig, c.resp);  // ConnSize's counters flip with the roles
  }

  // ---- per transport -----------------------------------------------------------------------------

  // TCP payload sizes come from the sequence space (TCP_Endpoint::Size), so they are computed when a
  // record needs them (the end, an interim record) rather than on every packet.
  static void sync_tcp_sizes(Conn& c) {
    if (!c.tcp) return;
    c.orig.bytes = tcp::size(*c.tcp, c.tcp->orig());
    c.resp.bytes = tcp::size(*c.tcp, c.tcp->resp());
  }

  // Inline in process(), its only caller: the call cost 20 instructions a TCP packet (callgrind).
  [[gnu::always_inline]] void process_tcp(uint32_t i, Slot& s, const DecodedPacket& p, bool is_orig) {
    Conn& c = s.conn;
    Conn::TcpState& st = *c.tcp;

    if (p.bad_checksum) {
      // TCPAnalyzer::ValidateChecksum: the packet stops here (not even counted); the decoder reported it.
      tcp::checksum_error(st, is_orig ? st.orig() : st.resp(), s.hist, counters);
      events.on_packet(c, is_orig, p);
      return;
    }

    // The state machine's fast path inline; the general path when it declines. The weirds' sink is made
    // only for a weird, and the general path's packet only for it: the fast path's, a temporary of an
    // inlined call, stays in registers (one in memory for both cost 9 instructions a packet, callgrind).
    tcp::Outcome o;
    const auto weird = [&](std::string_view name) { ConnWeirds(*this, c, p.ts_ns, is_orig).weird(name); };
    if (!tcp::process_fast(st, s.hist, tcp::Packet{is_orig, p.tcp_flags, p.seq, p.ack, p.window, p.payload_len},
                           counters, o, weird)) {
      const tcp::Packet tp{is_orig, p.tcp_flags, p.seq, p.ack, p.window, p.payload_len};
      ConnWeirds w(*this, c, p.ts_ns, is_orig);
      o = tcp::process_general(st, s.hist, tp, w, counters);
      if (o.flipped) flip_conn(c);
    }
    if (o.update_last_time) c.last_ts_ns = p.ts_ns;

    // ConnSize counts after the TCP analysis, in the direction the packet arrived.
    EndpointCounters& ctr = is_orig ? c.orig : c.resp;
    ++ctr.pkts;
    ctr.ip_bytes += p.ip_len;

    tcp::Endpoint& e = *o.endpoint;
    tcp::Endpoint& peer = st.peer(e);
    const bool sender_is_orig = is_orig != o.flipped;  // st.is_orig(e): e was the sender's before a flip
    events.on_packet(c, sender_is_orig, p);

    // The ACK first (it may reveal a gap in the peer's stream), then this packet's data, as Zeek does.
    if (o.have_ack) {
      uint64_t up_to = o.rel_ack;
      if (peer.fin_seen && up_to >= peer.fin_seq()) up_to = peer.fin_seq() - 1;  // not the FIN's octet
      // TCP_Reassembler::Undelivered: a partial connection's first ACK (1 or 2) is not a gap.
      const bool report = !(up_to <= 2 && st.is_partial());
      // TCP_Reassembler::AckReceived's capture-loss counters (get_gap_stats, capture_loss.log): an ACK
      // of new data while both ends are established, and a gap when data below it was never seen.
      const bool count_ack = up_to > peer.stream.trim_seq() && peer.state == tcp::EpState::Established &&
                             e.state == tcp::EpState::Established;
      // The sink only for the general path: a fast ACK reports nothing (so no bytes missing either).
      uint64_t acked_missing = 0;
      if (!peer.stream.ack_fast(streams, up_to, report)) {
        Delivery d(*this, s, peer, p.ts_ns, !sender_is_orig);
        peer.stream.ack_general(streams, up_to, c.wants_payload, report, d);
        acked_missing = d.acked_missing;
      }
      if (count_ack) {
        ++stats.ack_events;
        if (acked_missing) ++stats.gap_events;
      }
    }
    if (o.deliver) {
      if (p.payload.size() < p.payload_len) ConnWeirds(*this, c, p.ts_ns, is_orig).weird("truncated_tcp_payload");
      Delivery d(*this, s, e, p.ts_ns, sender_is_orig);
      e.stream.segment(streams, o.rel_data_seq, p.payload, p.payload_len, e.rel_ack(), c.wants_payload, peer.active,
                       limits, d);
    }

    if (o.arm_attempt && cfg.tcp_attempt_ns != 0) push_timer(p.ts_ns + cfg.tcp_attempt_ns, i, kAttempt);
    if (o.arm_reset) push_timer(p.ts_ns + cfg.tcp_reset_ns, i, kReset);
    if (o.do_close && tcp::connection_closed(st, e)) {
      // Close complete: CancelTimers (inactivity and attempt included), then the connection goes
      // tcp_close_delay after its last activity.
      ++s.epoch;
      s.flags |= kCloseDone;
      push_timer(c.last_ts_ns + cfg.tcp_close_ns, i, kClose);
    }


    const uint8_t cls = (s.flags & kCloseDone) ? kClosing : tcp::in_handshake(st) ? kTcpHandshake : kTcpActive;
    if (o.update_last_time || cls != s.tclass) touch(i, s, cls);
  }

  void process_udp(uint32_t i, Slot& s, const DecodedPacket& p, bool is_orig) {
    Conn& c = s.conn;
    // ConnSize sees the datagram before the checksum is checked.
    EndpointCounters& ctr = is_orig ? c.orig : c.resp;
    ++ctr.pkts;
    ctr.ip_bytes += p.ip_len;
    if (p.bad_checksum) {
      // UDPSessionAdapter::HandleBadChecksum: C / c, and nothing else happens.
      s.flags |= kBadChecksums;
      if (flow::scaled_history_due(udp_bad_checksums[i][is_orig ? 0 : 1])) s.hist.add(is_orig ? 'C' : 'c');
      events.on_packet(c, is_orig, p);
      return;
    }
    c.last_ts_ns = p.ts_ns;
    touch(i, s, kUdp);
    ctr.bytes += p.payload_len;
    s.hist.check(is_orig ? 0x1 : 0x2, is_orig ? 'D' : 'd');
    s.flags |= is_orig ? kOrigActive : kRespActive;
    events.on_packet(c, is_orig, p);
    if (c.wants_payload) {
      const auto n = std::min<size_t>(p.payload.size(), p.payload_len);
      events.on_payload(c, is_orig, p.payload.first(n), p.ts_ns);
    }
  }

  void process_other(uint32_t i, Slot& s, const DecodedPacket& p, bool is_orig) {
    Conn& c = s.conn;
    if (p.bad_checksum) {  // ICMP: a bad checksum ends the analysis before anything is counted
      events.on_packet(c, is_orig, p);
      return;
    }
    c.last_ts_ns = p.ts_ns;
    touch(i, s, s.tclass);
    EndpointCounters& ctr = is_orig ? c.orig : c.resp;
    ++ctr.pkts;
    ctr.ip_bytes += p.ip_len;
    if (p.l4 == Transport::Icmp || p.l4 == Transport::Icmp6) ctr.bytes += p.payload_len;
    events.on_packet(c, is_orig, p);
  }

  void process(const DecodedPacket& p) {
    if (p.ip_version == 0) return;
    const flow::PacketEnds e = flow::packet_ends(p);
    const uint32_t h = p.has_flow_hash ? p.flow_hash : hash32(flow::make_key(e, p));
    bool is_orig = true;
    uint32_t i = find(e, p, h, is_orig);
    Slot* sp = nullptr;
    if (i != kNil) {
      sp = &slot(i);
      Slot& s = *sp;
      Conn& c = s.conn;
      if (s.tclass != kClosing && p.ts_ns >= c.last_ts_ns && p.ts_ns - c.last_ts_ns >= timeouts[s.tclass]) {
        // Its inactivity timer is due: Zeek would have expired it before this packet.
        end(i, FlowEnd::Timeout);
        i = kNil;
      } else if (c.tcp && (p.tcp_flags & tcp_flag::SYN)) {  // only a SYN can reuse (is_reuse's first test)
        ConnWeirds w(*this, c, p.ts_ns, is_orig);
        const tcp::Packet tp{is_orig, p.tcp_flags, p.seq, p.ack, p.window, p.payload_len};
        if (tcp::is_reuse(*c.tcp, tp, p.ts_ns, c.last_ts_ns, kTcpConnectionLingerNs, w)) {
          end(i, FlowEnd::Closed);
          i = kNil;
        }
      }
    }
    if (i == kNil) {
      bool flipped = false;
      i = create(p, e, h, flipped);
      sp = &slot(i);
      is_orig = !flipped;
    }
    switch (p.l4) {
      case Transport::Tcp: process_tcp(i, *sp, p, is_orig); break;
      case Transport::Udp: process_udp(i, *sp, p, is_orig); break;
      default: process_other(i, *sp, p, is_orig); break;
    }
  }

  void advance_time(uint64_t now) {
    for (;;) {
      while (!heap.empty() && !timer_valid(heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), TimerLater{});
        heap.pop_back();
      }
      // The earliest due event of any kind, so the outcome does not depend on how often we are called.
      enum { kNone, kHeap, kInactive, kInterim } src = kNone;
      uint64_t best = UINT64_MAX;
      uint32_t who = kNil;
      if (!heap.empty()) {
        best = heap.front().when;
        src = kHeap;
      }
      for (uint8_t cls = 0; cls < kClosing; ++cls) {
        if (heads[cls] == kNil) continue;
        const uint64_t last = slot(heads[cls]).conn.last_ts_ns;
        const uint64_t due = last > UINT64_MAX - timeouts[cls] ? UINT64_MAX : last + timeouts[cls];
        if (due < best) {
          best = due;
          src = kInactive;
          who = heads[cls];
        }
      }
      if (ihead != kNil && interim_due(ihead) < best) {
        best = interim_due(ihead);
        src = kInterim;
        who = ihead;
      }
      if (src == kNone || best > now) return;

      if (src == kHeap) {
        const Timer t = heap.front();
        std::pop_heap(heap.begin(), heap.end(), TimerLater{});
        heap.pop_back();
        if (t.kind == kAttempt) {
          // TCPSessionAdapter::AttemptTimer: still nothing from the responder.
          const Conn::TcpState& st = *slot(t.slot).conn.tcp;
          const tcp::EpState os = st.orig().state;
          if ((os == tcp::EpState::SynSent || os == tcp::EpState::SynAckSent) &&
              st.resp().state == tcp::EpState::Inactive) {
            end(t.slot, FlowEnd::Timeout);
          }
        } else {
          end(t.slot, FlowEnd::Closed);
        }
      } else if (src == kInactive) {
        end(who, FlowEnd::Timeout);
      } else {
        Slot& s = slot(who);
        s.flags |= kInterims;
        ++interim_counts[who];
        ++stats.interim;
        interim_unlink(who);
        interim_push(who);
        sync_tcp_sizes(s.conn);
        events.on_interim(s.conn, best);
      }
    }
  }

  void flush_all() {
    // By first packet, then uid. The uid is hashed again at each call (Conn::uid), so only for connections
    // that share their first packet's time with another.
    struct Order {
      uint64_t first_ts;
      uint32_t slot;
      Uid uid;
    };
    std::vector<Order> order;
    order.reserve(stats.active);
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
      for (uint32_t k = 0; k < kChunkSlots; ++k) {
        const Slot& s = chunks[ci][k];
        if (s.flags & kLive) {
          order.push_back(Order{s.conn.first_ts_ns, static_cast<uint32_t>(ci << kChunkShift) + k, {}});
        }
      }
    }
    std::sort(order.begin(), order.end(), [](const Order& x, const Order& y) { return x.first_ts < y.first_ts; });
    for (size_t a = 0; a < order.size();) {
      size_t b = a + 1;
      while (b < order.size() && order[b].first_ts == order[a].first_ts) ++b;
      if (b - a > 1) {
        for (size_t k = a; k < b; ++k) order[k].uid = slot(order[k].slot).conn.uid();
        std::sort(order.begin() + static_cast<std::ptrdiff_t>(a), order.begin() + static_cast<std::ptrdiff_t>(b),
                  [](const Order& x, const Order& y) { return x.uid < y.uid; });
      }
      a = b;
    }
    for (const Order& o : order) end(o.slot, FlowEnd::Shutdown);
    heap.clear();
  }

  Stats get_stats() const {
    Stats st = stats;
    uint64_t m = sizeof(Impl);
    m += chunks.capacity() * sizeof(chunks[0]) + chunks.size() * uint64_t(kChunkSlots) * sizeof(Slot);
    m += buckets.capacity() * sizeof(buckets[0]);
    m += tcp_chunks.capacity() * sizeof(tcp_chunks[0]);
    m += tcp_chunks.size() * uint64_t(kTcpChunk) * sizeof(Conn::TcpState);
    m += heap.capacity() * sizeof(Timer);
    m += streams.held() + streams.footprint() + counters.footprint();
    m += v6_live * 2 * sizeof(IpAddr);
    // A node of the side map (link, key, counters, malloc's header) and its bucket pointer.
    m += udp_bad_checksums.size() * 32 + udp_bad_checksums.bucket_count() * sizeof(void*);
    m += interim_counts.size() * 32 + interim_counts.bucket_count() * sizeof(void*);
    st.memory_bytes = m;
    st.reassembly_bytes = streams.held();
    return st;
  }

  FlowTableConfig cfg;
  FlowEvents& events;
  WeirdSink& weirds;
  flow::StreamLimits limits;
  PortSet tcp_ports, udp_ports;
  uint64_t timeouts[kNumClasses] = {};

  std::vector<std::unique_ptr<Slot[]>> chunks;
  uint32_t free_head = kNil;
  std::vector<uint32_t> buckets;  // power-of-two count; the first slot of each chain, kNil if none
  uint32_t heads[kNumClasses] = {kNil, kNil, kNil, kNil, kNil, kNil};
  uint32_t tails[kNumClasses] = {kNil, kNil, kNil, kNil, kNil, kNil};
  uint32_t ihead = kNil, itail = kNil;
  std::vector<std::unique_ptr<Conn::TcpState[]>> tcp_chunks;
  uint32_t tcp_free_head = 0;  // index + 1 of the first free TcpState; 0 = none
  std::vector<Timer> heap;
  // The reassembly buffers, by handle (a TCP endpoint holds 4 bytes, not 8), and the bytes they hold.
  flow::StreamStore streams;
  tcp::CounterStore counters;  // history-letter counters few connections need (C, W, G; T past 65,535)
  uint64_t v6_live = 0;      // live connections whose addresses are a heap pair (Conn::set_id)
  // UDP bad-checksum counters per direction (C / c), by slot: in the slot, 8 bytes every connection paid
  // for what few UDP connections ever see. An entry lives while its connection does (kBadChecksums).
  std::unordered_map<uint32_t, std::array<uint32_t, 2>> udp_bad_checksums;
  // Interim records written so far, by slot, for connections that had one (kInterims).
  std::unordered_map<uint32_t, uint32_t> interim_counts;
  uint32_t tcp_serial = 0;  // the last serial given to a TCP state (Timer::serial)
  // tcp_uid()'s last answers and the connections they were for, by serial.
  struct UidMemo {
    uint64_t first_ts = 0;
    Uid uid;
    uint32_t serial = 0;
    bool set = false;
  };
  static constexpr uint32_t kUidMemo = 64;
  std::array<UidMemo, kUidMemo> uid_memo{};
  // The hints for repeats of TCP connections' weirds (WeirdSink::RepeatHint), by connection and name:
  // the filter's identifier for a connection's weird is its name and ConnId. The connection instance is
  // its TCP state's serial and first packet's time (as tcp_uid's), whose ConnId changes only when the
  // roles flip (flip_conn forgets its hints); the name is compared by where its text lies, the sink
  // compares the text itself. 48 bytes an entry: the table is part of every flow table's memory.
  struct WeirdMemo {
    const char* name = nullptr;
    uint64_t first_ts = 0;
    uint32_t size = 0;
    uint32_t serial = 0;
    WeirdSink::RepeatHint hint;
  };
  static constexpr uint32_t kWeirdMemoBits = 6;
  static constexpr uint32_t kWeirdMemo = 1u << kWeirdMemoBits;
  std::array<WeirdMemo, kWeirdMemo> weird_memo{};
  Stats stats;
};

FlowTable::FlowTable(const FlowTableConfig& cfg, FlowEvents& events, WeirdSink& weirds)
    : impl_(std::make_unique<Impl>(cfg, events, weirds)) {}

FlowTable::~FlowTable() = default;

void FlowTable::process(const DecodedPacket& p) { impl_->process(p); }

uint32_t FlowTable::hash_of(const DecodedPacket& p) {
  return flow::table_hash(flow::make_key(flow::packet_ends(p), p));
}

void FlowTable::advance_time(uint64_t now_ns) { impl_->advance_time(now_ns); }

void FlowTable::flush_all() { impl_->flush_all(); }

FlowTable::Stats FlowTable::stats() const { return impl_->get_stats(); }

HistoryText Conn::history() const { return slot_of(*this).hist.text(); }

const char* Conn::conn_state() const {
  switch (proto()) {
    case Transport::Tcp: return tcp ? tcp::conn_state(*tcp, history().c_str()) : "OTH";
    case Transport::Udp: {
      const uint8_t f = slot_of(*this).flags;
      if (f & kOrigActive) return (f & kRespActive) ? "SF" : "S0";
      return (f & kRespActive) ? "SHR" : "OTH";
    }
    default: return "OTH";
  }
}

}  // namespace ots
