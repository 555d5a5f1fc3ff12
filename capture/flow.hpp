// Connection tracking: a per-worker flow table that keeps Zeek's connection state and feeds in-order
// payload to application analyzers.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "capture/decode.hpp"
#include "capture/history_text.hpp"
#include "capture/net_types.hpp"
#include "capture/weird.hpp"

namespace ots {

struct AppState;  // owned by the pipeline (dissector state of one connection); opaque here

// Zeek's likely_server_ports for one transport: the ports of the protocols a default Zeek (with ICSNPP)
// registers analyzers for. A connection whose first packet comes from one of them, and does not go to
// one, is flipped (history '^').
std::vector<uint16_t> default_likely_server_ports(Transport t);

// Zeek's default timeouts (base/init-bare.zeek), configurable.
struct FlowTableConfig {
  uint32_t max_flows = 1u << 20;                        // beyond this, the longest-idle flows are evicted
  uint64_t tcp_inactivity_ns = 300'000'000'000ull;      // tcp_inactivity_timeout = 5 min
  uint64_t udp_inactivity_ns = 60'000'000'000ull;       // udp_inactivity_timeout = 1 min
  uint64_t icmp_inactivity_ns = 60'000'000'000ull;      // icmp_inactivity_timeout = 1 min
  uint64_t tcp_attempt_ns = 5'000'000'000ull;           // tcp_attempt_delay = 5 s (unanswered SYN)
  uint64_t tcp_close_ns = 5'000'000'000ull;             // tcp_close_delay = 5 s (after both FINs)
  uint64_t tcp_reset_ns = 5'000'000'000ull;             // tcp_reset_delay = 5 s (after RST)
  uint64_t interim_interval_ns = 3600'000'000'000ull;   // conn_long.log interval for long-lived flows; 0 = off
  uint32_t reassembly_max_bytes = 1u << 20;             // out-of-order bytes buffered per direction
  uint64_t unknown_ip_inactivity_ns = 60'000'000'000ull;  // unknown_ip_inactivity_timeout = 1 min (other IP protocols)
  // Delivered TCP bytes kept per direction until the peer ACKs them, to spot retransmissions that differ
  // from what was delivered (weird "rexmit_inconsistency"). Zeek keeps all unacknowledged bytes.
  uint32_t reassembly_unacked_bytes = 16384;
  std::vector<uint16_t> likely_server_tcp_ports = default_likely_server_ports(Transport::Tcp);
  std::vector<uint16_t> likely_server_udp_ports = default_likely_server_ports(Transport::Udp);
};

// Why a connection record is written.
enum class FlowEnd : uint8_t {
  Closed,     // FIN/RST handling finished (after tcp_close/tcp_reset delay)
  Timeout,    // inactivity timeout
  Evicted,    // the table was full; the longest-idle flow made room
  Shutdown,   // end of input or sensor stop
};

// Per-direction counters as conn.log reports them.
struct EndpointCounters {
  uint64_t pkts = 0;
  uint64_t ip_bytes = 0;      // IP header + payload (Zeek's orig_ip_bytes)
  uint64_t bytes = 0;         // payload bytes: for TCP from the sequence space (retransmissions count
                              // once), brought up to date before on_interim and on_flow_end only
};

// One tracked connection. The flow table owns it; pointers stay valid until on_flow_end returns.
struct Conn {
  // 120 bytes, in an order without padding holes (a static_assert below keeps it so): with the TCP
  // endpoints it is most of a tracked connection's memory. The uid is not kept: uid() hashes it again
  // from the key and the first packet's time (12 bytes a connection, for a hash when a record is written).
  Conn() = default;
  ~Conn() { clear_id(); }
  Conn(const Conn& o);
  Conn& operator=(const Conn& o);
  Conn(Conn&& o) noexcept;
  Conn& operator=(Conn&& o) noexcept;

  // Zeek's conn_id, built from the compact form below (by value: call sites read it as before).
  ConnId id() const {
    ConnId r;
    if (v6_) {
      r.orig_h = addrs_.v6[0];
      r.resp_h = addrs_.v6[1];
    } else {
      r.orig_h = v4_addr(addrs_.v4[0]);
      r.resp_h = v4_addr(addrs_.v4[1]);
    }
    r.orig_p = orig_p_;
    r.resp_p = resp_p_;
    r.proto = proto();
    return r;
  }
  void set_id(const ConnId& id);
  Transport proto() const { return kTransports[proto_code_]; }
  uint16_t orig_p() const { return orig_p_; }
  uint16_t resp_p() const { return resp_p_; }
  // Address compares without building an IpAddr (the flow table's lookup runs them on every packet).
  bool orig_h_is(const IpAddr& a) const { return addr_is(a, 0); }
  bool resp_h_is(const IpAddr& a) const { return addr_is(a, 1); }
  // Swaps originator and responder addresses and ports (Connection::FlipRoles).
  void flip_id();
  // Back to an empty IPv4 id, giving an IPv6 connection's address pair back.
  void clear_id();

  // The compact form behind id() (read it through id(), write it through set_id()): public only so that
  // Conn stays standard-layout. IPv4 connections (nearly all of an OT network's) keep their two addresses
  // here, 4 bytes each, in network byte order; an IPv6 one owns a heap pair of 16-byte addresses (v6_
  // set): 8 bytes a connection instead of 32, and only IPv6 connections pay 32 more and an allocation.
  union Addrs {
    uint32_t v4[2];
    IpAddr* v6;
  } addrs_ = {{0, 0}};
  uint16_t orig_p_ = 0;
  uint16_t resp_p_ = 0;
  uint16_t vlan = 0;
  uint16_t inner_vlan = 0;
  // Bit per confirmed application protocol (the pipeline's numbering; dissectors/registry.cpp asserts
  // that there are at most 16).
  uint16_t services = 0;
  uint8_t ip_proto = 0;
  uint8_t proto_code_ : 3 = 0;     // proto() as an index into kTransports (set_id)
  bool v6_ : 1 = false;
  bool one_way_ : 1 = false;       // one-way ICMP, keyed in the direction seen (part of the uid's key)
  bool has_macs : 1 = false;
  bool wants_payload : 1 = false;  // set by on_new_flow: deliver payload (TCP reassembled) to on_payload
  uint8_t orig_mac[6] = {};
  uint8_t resp_mac[6] = {};
  uint64_t first_ts_ns = 0;
  uint64_t last_ts_ns = 0;
  EndpointCounters orig, resp;
  uint64_t missed_bytes = 0;
  AppState* app = nullptr;        // the pipeline's per-connection dissector state
  // Opaque TCP tracking state, owned by the flow table's TCP code.
  struct TcpState;
  TcpState* tcp = nullptr;

  // Zeek's uid: flow::make_uid over the canonical key and first_ts_ns, as the flow table made it when
  // the connection started (the key and first_ts_ns never change after that).
  Uid uid() const;

  // Zeek's conn_state string (S0, S1, SF, REJ, ... OTH) and history letters for this connection now.
  // Only for connections a FlowTable created (the history lives beside the Conn in the table's slab).
  const char* conn_state() const;
  HistoryText history() const;

 private:
  static constexpr Transport kTransports[] = {Transport::Unknown, Transport::Icmp, Transport::Tcp, Transport::Udp,
                                              Transport::Icmp6};
  static IpAddr v4_addr(uint32_t stored) {
    IpAddr a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, &stored, 4);
    return a;
  }
  bool addr_is(const IpAddr& a, int which) const {
    if (v6_) return addrs_.v6[which] == a;
    // Word compares, not IpAddr::is_v4's memcmp: this runs on every packet. The IPv4-mapped prefix is
    // eight zero bytes, then 00 00 ff ff.
    static constexpr uint32_t kMappedMid = std::endian::native == std::endian::little ? 0xffff0000u : 0x0000ffffu;
    uint64_t head;
    uint32_t mid, low;
    std::memcpy(&head, a.bytes.data(), 8);
    std::memcpy(&mid, a.bytes.data() + 8, 4);
    std::memcpy(&low, a.bytes.data() + 12, 4);
    return ((low ^ addrs_.v4[which]) | (mid ^ kMappedMid) | head) == 0;
  }
};
static_assert(sizeof(Conn) == 120, "Conn grew or gained a padding hole: every tracked connection pays for it");

// What the flow table tells the pipeline. Called on the worker's thread.
class FlowEvents {
 public:
  virtual ~FlowEvents() = default;
  // A new connection; `first` is its first packet. Set c.wants_payload / c.app here.
  virtual void on_new_flow(Conn& c, const DecodedPacket& first) = 0;
  // Every packet of a connection after its state was updated (for per-packet checks; keep it cheap).
  virtual void on_packet(Conn& c, bool is_orig, const DecodedPacket& p) = 0;
  // In-order payload for connections with wants_payload: each UDP datagram; TCP bytes after reassembly.
  virtual void on_payload(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) = 0;
  // TCP content that will never arrive (a hole in the sequence space), `len` bytes, before the next data.
  virtual void on_gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) = 0;
  // Interim record for a long-lived connection (conn_long.log); the connection goes on.
  virtual void on_interim(Conn& c, uint64_t now_ns) = 0;
  // The connection is over; write its record and free c.app. `c` is destroyed after this returns.
  virtual void on_flow_end(Conn& c, FlowEnd why) = 0;
};

class FlowTable {
 public:
  FlowTable(const FlowTableConfig& cfg, FlowEvents& events, WeirdSink& weirds);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Finds or creates the packet's connection, decides originator/responder as Zeek does (SYN sender;
  // otherwise the side not on a well-known port), updates state and counters, and delivers payload.
  void process(const DecodedPacket& p);
  // The hash process() looks the packet's connection up by, for a stage that decodes ahead of the worker
  // to compute on its own core and hand over in DecodedPacket::flow_hash.
  static uint32_t hash_of(const DecodedPacket& p);

  // Packet time moved to now_ns: ends connections that timed out or finished closing, emits interim
  // records. Cheap when nothing is due; the pipeline calls it once per burst.
  void advance_time(uint64_t now_ns);

  // Ends every connection (end of input, shutdown), in a deterministic order.
  void flush_all();

  struct Stats {
    uint64_t active = 0, created = 0, ended = 0, evicted = 0, interim = 0;
    uint64_t memory_bytes = 0;  // table, connections and reassembly buffers
    uint64_t reassembly_bytes = 0;  // of which TCP reassembly buffers (stats.log reassem_tcp_size)
    // Zeek's get_gap_stats() (capture_loss.log): ACKs of new data between established endpoints, and
    // those of them that acknowledged data never seen (a capture gap). Totals since the start.
    uint64_t ack_events = 0, gap_events = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ots
