// Zeek's TCP endpoint state machine: endpoint states, relative sequence numbers, sizes, the history
// letters and the conn_state they add up to. Follows src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc
// (Process, UpdateStateMachine, ConnectionClosed, IsReuse), src/analyzer/protocol/tcp/TCP_Endpoint.{h,cc}
// and scripts/base/protocols/conn/main.zeek (conn_state).
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "capture/conn_history.hpp"
#include "capture/decode.hpp"
#include "capture/flow.hpp"
#include "capture/tcp_reassembly.hpp"

namespace ots::tcp {

// TCP_Endpoint.h EndpointState; conn_state() reads these.
enum class EpState : uint8_t {
  Inactive,     // nothing (or nothing meaningful) seen from this side
  SynSent,      // SYN seen, no ACK
  SynAckSent,   // SYN-ACK seen, no initial SYN
  Partial,      // data seen, but no SYN
  Established,  // SYN-ACK seen (implicit for a SYN sent by the responder)
  Closed,       // FIN seen
  Reset,        // RST seen
};

// 56 bytes (two per TCP connection, the largest part of its memory after the table slot): the flags share
// one byte, the wrap counters are 16 bits, fin_seq is 48 bits like the stream's points, and of
// the four counters behind the logarithmic letters only the retransmissions' stays here, in 16 bits: C, W
// and G are rare, so their counters (and a retransmission count past 65,535) live in the flow table's
// CounterStore.
struct Endpoint {
  EpState state = EpState::Inactive;
  EpState prev_state = EpState::Inactive;
  bool did_close : 1 = false;   // the close was reported (ConnectionClosed)
  bool fin_seen : 1 = false;    // FIN_cnt > 0
  bool active : 1 = false;      // HasDoneSomething(): a packet came from this side
  // A byte of the connection's own, in what would be padding (Conn::TcpState's accessors): ep[0]'s is the
  // originator's index, ep[1]'s a set of flags.
  uint8_t conn_bits = 0;
  // Sequence-space wraps: 16 bits cover 2^48 bytes (256 TiB) in one direction of one connection.
  uint16_t seq_wraps = 0;
  uint16_t ack_wraps = 0;
  uint16_t rxmt_cnt = 0;    // retransmissions (letter T) while below 0xffff; then in the CounterStore
  uint16_t fin_hi = 0;
  uint32_t start_seq = 0;   // Zeek keeps an int64, but only ever stores 32-bit values in it
  uint32_t last_seq = 0;    // one past the highest sequence number sent
  uint32_t ack_seq = 0;     // highest sequence number the peer acknowledged of our data
  // Relative sequence numbers of the last SYN, FIN and RST (low 32 bits; only compared for equality).
  uint32_t hist_last_syn = 0, hist_last_fin = 0, hist_last_rst = 0;
  uint32_t fin_lo = 0;
  flow::TcpStream stream;   // the bytes this endpoint sends

  // Relative sequence number one past the FIN.
  uint64_t fin_seq() const { return flow::TcpStream::join(fin_lo, fin_hi); }
  void set_fin_seq(uint64_t v) {
    fin_lo = static_cast<uint32_t>(v);
    fin_hi = flow::TcpStream::high16(v);
  }
  // TCP_Endpoint::ToRelativeSeqSpace of the acknowledged point.
  uint64_t rel_ack() const { return (uint64_t(ack_wraps) << 32) + ack_seq - start_seq; }
};
static_assert(sizeof(Endpoint) <= 56, "a TCP endpoint grew: every tracked TCP connection pays twice");
static_assert(alignof(Endpoint) >= 4, "CounterStore keys put a counter kind in the low two bits of its address");

struct Packet {
  bool is_orig = false;
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;
  uint32_t len = 0;  // payload length as the headers say
};

// What the flow table does after the state machine has seen a packet.
struct Outcome {
  Endpoint* endpoint = nullptr;  // the sender (still the sender after a flip)
  bool flipped = false;          // a SYN answered a SYN-ACK: the roles were swapped (FlipRoles)
  bool update_last_time = false; // Zeek stops moving last_time once both sides closed
  bool do_close = false;         // call connection_closed() after the data was processed
  bool arm_attempt = false;      // originator's first SYN: tcp_attempt_delay timer
  bool arm_reset = false;        // RST after our own FIN: tcp_reset_delay timer
  bool deliver = false;          // the payload goes to the reassembler
  uint64_t rel_data_seq = 0;
  bool have_ack = false;         // rel_ack acknowledges the peer's data
  uint64_t rel_ack = 0;
};

class Weirds {
 public:
  virtual void weird(std::string_view name) = 0;

 protected:
  ~Weirds() = default;
};

}  // namespace ots::tcp

namespace ots {

// 116 bytes: the two endpoints, with the connection's own bits in their spare bytes (as members after the
// endpoints they cost 4 bytes a TCP connection, with the alignment), and the serial.
struct Conn::TcpState {
  tcp::Endpoint ep[2];
  // Given by the flow table when the state is taken for a connection: its timers carry it, so a timer of
  // an earlier connection in the same table slot is stale (2^32 TCP connections within one timer's delay
  // would be needed to mistake one).
  uint32_t serial = 0;

  // Which of ep[] is the originator (a flip swaps them, as Zeek's pointers).
  uint8_t orig_idx() const { return ep[0].conn_bits; }
  void set_orig_idx(uint8_t i) { ep[0].conn_bits = i; }
  bool is_partial() const { return ep[1].conn_bits & kPartial; }  // TCPSessionAdapter::is_partial
  void set_partial(bool on) { set(kPartial, on); }
  // 1 = originator, 2 = responder (CheckPIA_FirstPacket).
  uint8_t first_packet_seen() const { return ep[1].conn_bits & kSeenMask; }
  void set_first_packet_seen(uint8_t v) {
    ep[1].conn_bits = static_cast<uint8_t>((ep[1].conn_bits & ~kSeenMask) | (v & kSeenMask));
  }
  bool did_weird() const { return ep[1].conn_bits & kDidWeird; }  // Connection::DidWeird (TCP's own weirds)
  void set_did_weird(bool on) { set(kDidWeird, on); }
  bool spilled() const { return ep[1].conn_bits & kSpilled; }  // the CounterStore holds counters of this one
  void set_spilled(bool on) { set(kSpilled, on); }

  tcp::Endpoint& orig() { return ep[orig_idx()]; }
  tcp::Endpoint& resp() { return ep[1 - orig_idx()]; }
  const tcp::Endpoint& orig() const { return ep[orig_idx()]; }
  const tcp::Endpoint& resp() const { return ep[1 - orig_idx()]; }
  bool is_orig(const tcp::Endpoint& e) const { return &e == &ep[orig_idx()]; }
  tcp::Endpoint& peer(const tcp::Endpoint& e) { return &e == &ep[0] ? ep[1] : ep[0]; }
  const tcp::Endpoint& peer(const tcp::Endpoint& e) const { return &e == &ep[0] ? ep[1] : ep[0]; }
  void reset(flow::StreamStore& store);

 private:
  static constexpr uint8_t kSeenMask = 3, kPartial = 4, kDidWeird = 8, kSpilled = 16;
  void set(uint8_t bit, bool on) {
    ep[1].conn_bits = static_cast<uint8_t>(on ? ep[1].conn_bits | bit : ep[1].conn_bits & ~bit);
  }
};
static_assert(sizeof(Conn::TcpState) <= 116, "TCP state grew: every tracked TCP connection pays for it");

}  // namespace ots

namespace ots::tcp {

// The counters behind the logarithmic history letters (Connection::ScaledHistoryEntry: a letter at the
// 1st, 10th, 100th ... event) that few connections ever need: bad checksums (C), zero windows (W), content
// gaps (G), and retransmissions (T) past the endpoint's 16 bits. Keyed by endpoint (TCP states never
// move); a connection's entries go when it ends (forget).
class CounterStore {
 public:
  enum Kind : uint8_t { kChecksum, kRetransmit, kZeroWindow, kGap };
  // Counts one event of `kind` from `e`; true when its letter is due. Inline for the common case, a
  // retransmission counted in the endpoint.
  bool count(Conn::TcpState& s, Endpoint& e, Kind kind) {
    if (kind == kRetransmit && e.rxmt_cnt < 0xffff) {
      uint32_t n = e.rxmt_cnt;
      const bool due = flow::scaled_history_due(n);
      e.rxmt_cnt = static_cast<uint16_t>(n);
      return due;
    }
    return count_beside(s, e, kind);
  }
  void forget(Conn::TcpState& s);
  size_t size() const { return map_.size(); }
  // A node (link, key, count, malloc's header) and the bucket pointers.
  size_t footprint() const { return map_.size() * 32 + map_.bucket_count() * sizeof(void*); }

 private:
  bool count_beside(Conn::TcpState& s, Endpoint& e, Kind kind);
  static uint64_t key(const Endpoint& e, Kind kind) { return reinterpret_cast<uintptr_t>(&e) | kind; }
  std::unordered_map<uint64_t, uint32_t> map_;
};

// The parts of the state machine that process_fast (inline, below) shares with the general path.
namespace detail {

inline constexpr int32_t kTooLargeSeqDelta = 1048576;  // TOO_LARGE_SEQ_DELTA
inline constexpr uint8_t kOrigSeen = 1, kRespSeen = 2;  // Conn::TcpState::first_packet_seen
// TCP_Endpoint::HistoryMasks; the responder's are shifted by 8 (ConnHistory::seen is 16 bits).
inline constexpr uint16_t kHistSyn = 0x1, kHistFin = 0x2, kHistRst = 0x4, kHistFinRst = 0x8, kHistData = 0x10,
                          kHistAck = 0x20, kHistMultiFlag = 0x40;

inline int32_t seq_delta(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
inline uint64_t full_seq(uint32_t seq, uint32_t wraps) { return (uint64_t(wraps) << 32) + seq; }

// TCP_Endpoint::ToRelativeSeqSpace of `cur`, with `last` and `wraps` the endpoint's point and wrap count
// it is taken against (its last_seq or ack_seq). Sets *underflow (if given) for a number before the start.
inline uint64_t get_relative_seq(const Endpoint& e, uint32_t cur, uint32_t last, uint32_t wraps, bool* underflow) {
  int32_t delta = seq_delta(cur, last);
  if (delta < 0) {
    if (wraps && cur > last) --wraps;  // part of the previous 32-bit space
  } else if (delta > 0) {
    if (cur < last) ++wraps;  // the sequence space wrapped
  }
  if (wraps == 0) {
    delta = seq_delta(cur, e.start_seq);
    if (underflow && delta < 0) *underflow = true;
    return static_cast<uint64_t>(static_cast<int64_t>(delta));
  }
  return full_seq(cur, wraps) - e.start_seq;
}

inline void update_ack_seq(Endpoint& e, uint32_t ack) {
  const int32_t delta = seq_delta(ack, e.ack_seq);
  if (ack == 0 && delta > kTooLargeSeqDelta) return;  // more likely a broken ACK than a wrap onto 0
  if (delta > 0) {
    if (ack < e.ack_seq) ++e.ack_wraps;
    e.ack_seq = ack;
  }
}

inline void update_last_seq_value(Endpoint& e, uint32_t seq) {
  if (seq < e.last_seq) ++e.seq_wraps;
  e.last_seq = seq;
}

}  // namespace detail

// TCPSessionAdapter::Process up to (not including) the data delivery and ConnectionClosed: process_fast
// below, and this when it declines. Every case, the fast path's included (the tests hold process_fast to
// it).
Outcome process_general(Conn::TcpState& s, flow::ConnHistory& h, const Packet& p, Weirds& w,
                        CounterStore& counters);

// The common case: no SYN, FIN or RST, the sender past the handshake and not reset, its first packet
// seen, the peer not Inactive if the packet ACKs. Most packets of a connection are, and for them nearly
// every branch of the general path falls through. Does exactly what process_general would, or returns
// false having changed nothing. `out` must be a default Outcome; `weird(name)` reports the only weirds
// such a packet can raise, the underflows (one packet in 15 of a capture cut from a longer one), as
// process_general's Weirds would: the caller makes its sink only then. Inline: the flow table calls it
// for every TCP packet, and its call and the Outcome's copy cost as much as its work (callgrind).
template <class Weird>
[[gnu::always_inline]] inline bool process_fast(Conn::TcpState& s, flow::ConnHistory& h, const Packet& p,
                                               CounterStore& counters, Outcome& out, Weird&& weird) {
  using namespace detail;
  const uint8_t flags = p.flags;
  // Without SYN, FIN and RST, init_endpoint, the SYN and FIN checks and update_last_seq's first three
  // cases do nothing (URG matters with SYN only).
  if (flags & (tcp_flag::SYN | tcp_flag::FIN | tcp_flag::RST)) return false;
  const bool ack = flags & tcp_flag::ACK;
  Endpoint& e = p.is_orig ? s.orig() : s.resp();
  Endpoint& peer = s.peer(e);
  // init_endpoint needs a state other than Inactive, and update_established_state and update_closed_state
  // change nothing without SYN, FIN and RST (Reset's data_after_reset, the handshake's
  // data_before_established and Inactive's transitions stay with the general path).
  static_assert(uint8_t(EpState::Partial) + 1 == uint8_t(EpState::Established) &&
                uint8_t(EpState::Established) + 1 == uint8_t(EpState::Closed));
  if (static_cast<uint8_t>(static_cast<uint8_t>(e.state) - uint8_t(EpState::Partial)) > 2) return false;
  // set_partial_status and set_first_packet_seen change nothing once this side's first packet was seen.
  if (!(s.first_packet_seen() & (p.is_orig ? kOrigSeen : kRespSeen))) return false;
  // An ACK while the peer is Inactive numbers the peer's bytes (init_peer) and may be a weird.
  if (ack && peer.state == EpState::Inactive) return false;

  // From here on, what the general path does for such a packet, in its order. The sender is the
  // originator exactly when the packet is (e was chosen so): upper-case letters and unshifted masks.
  const int len = static_cast<int>(p.len);
  bool seq_underflow = false;
  const uint64_t rel_seq = get_relative_seq(e, p.seq, e.last_seq, e.seq_wraps, &seq_underflow);
  if (seq_underflow) {
    s.set_did_weird(true);
    weird("TCP_seq_underflow_or_misorder");
  }
  const int shift = p.is_orig ? 0 : 8;
  const char lower = p.is_orig ? 0 : 'a' - 'A';
  if (len) {  // update_history
    h.check(static_cast<uint16_t>(kHistData << shift), static_cast<char>('D' + lower));
  } else if (ack) {
    h.check(static_cast<uint16_t>(kHistAck << shift), static_cast<char>('A' + lower));
  }
  // update_window: e is not Reset and there is no RST.
  if (p.window == 0 && peer.state != EpState::Closed && counters.count(s, e, CounterStore::kZeroWindow)) {
    h.add(static_cast<char>('W' + lower));
  }
  out.update_last_time = !e.did_close || !peer.did_close;
  uint64_t rel_ack = 0;
  if (ack) {
    bool ack_underflow = false;
    rel_ack = get_relative_seq(peer, p.ack, peer.ack_seq, peer.ack_wraps, &ack_underflow);
    if (ack_underflow) {
      rel_ack = 0;
      s.set_did_weird(true);
      weird("TCP_ack_underflow_or_misorder");
    } else {
      update_ack_seq(peer, p.ack);
    }
  }
  // update_last_seq, its cases without SYN, FIN, RST or Reset.
  const uint32_t seq_one_past = p.seq + static_cast<uint32_t>(len);
  if (seq_delta(seq_one_past, e.last_seq) > 0) {
    update_last_seq_value(e, seq_one_past);
  } else if (len > 0 && counters.count(s, e, CounterStore::kRetransmit)) {  // TCP_Endpoint::DidRxmit
    h.add(static_cast<char>('T' + lower));
  }
  e.active = true;

  out.endpoint = &e;
  out.have_ack = ack;
  out.rel_ack = rel_ack;
  out.rel_data_seq = rel_seq;
  out.deliver = len > 0 && !seq_underflow;
  return true;
}

// TCPSessionAdapter::IsReuse: a SYN that starts a new connection on this connection's tuple. `ts` is the
// packet's time, `last_ts` the connection's last activity, `linger_ns` tcp_connection_linger.
bool is_reuse(const Conn::TcpState& s, const Packet& p, uint64_t ts, uint64_t last_ts, uint64_t linger_ns,
              Weirds& w);

// TCPSessionAdapter::ConnectionClosed without the pending-data deferral: true when the close is now
// complete, which cancels the connection's timers and removes it after tcp_close_delay.
bool connection_closed(Conn::TcpState& s, Endpoint& endpoint);

// TCP_Endpoint::Size(): payload bytes from the sequence space (orig_bytes / resp_bytes).
uint64_t size(const Conn::TcpState& s, const Endpoint& e);

// Both sides still in the handshake: Zeek keeps udp_inactivity_timeout until then (TCP_Endpoint::SetState).
// Inline: process_tcp asks at every packet.
inline bool in_handshake(const Conn::TcpState& s) {
  auto handshake = [](EpState st) {
    return st == EpState::Inactive || st == EpState::SynSent || st == EpState::SynAckSent;
  };
  return handshake(s.ep[0].state) && handshake(s.ep[1].state);
}

// TCP_Reassembler's condition for reporting a content gap (history g/G and content_gap, so missed_bytes).
bool established_or_cleanly_closing(const Conn::TcpState& s);

// History letters that do not come from a packet's flags.
void checksum_error(Conn::TcpState& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters);  // C / c
void content_gap(Conn::TcpState& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters);     // G / g

// The conn_state() function of base/protocols/conn/main.zeek for TCP.
const char* conn_state(const Conn::TcpState& s, const char* history);

// Whether `history` matches /^\^?S[^HAFGIQ]*R.*/ (RSTOS0).
bool history_is_rstos0(const char* history);

}  // namespace ots::tcp
