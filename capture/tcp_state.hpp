// Zeek's TCP endpoint state machine: endpoint states, relative sequence numbers, sizes, the history
// letters and the conn_state they add up to. Follows src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc
// (Process, UpdateStateMachine, ConnectionClosed, IsReuse), src/analyzer/protocol/tcp/TCP_Endpoint.{h,cc}
// and scripts/base/protocols/conn/main.zeek (conn_state).
#pragma once

#include <cstdint>
#include <string_view>

#include "capture/conn_history.hpp"
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

// 80 bytes (two per TCP connection, the largest part of its memory after the table slot): the flags
// share one byte and the wrap counters are 16 bits, so fin_seq and the stream need no padding before them.
struct Endpoint {
  EpState state = EpState::Inactive;
  EpState prev_state = EpState::Inactive;
  bool did_close : 1 = false;   // the close was reported (ConnectionClosed)
  bool fin_seen : 1 = false;    // FIN_cnt > 0
  bool active : 1 = false;      // HasDoneSomething(): a packet came from this side
  // Sequence-space wraps: 16 bits cover 2^48 bytes (256 TiB) in one direction of one connection.
  uint16_t seq_wraps = 0;
  uint16_t ack_wraps = 0;
  uint32_t start_seq = 0;   // Zeek keeps an int64, but only ever stores 32-bit values in it
  uint32_t last_seq = 0;    // one past the highest sequence number sent
  uint32_t ack_seq = 0;     // highest sequence number the peer acknowledged of our data
  // Relative sequence numbers of the last SYN, FIN and RST (low 32 bits; only compared for equality).
  uint32_t hist_last_syn = 0, hist_last_fin = 0, hist_last_rst = 0;
  // Counters behind the logarithmic letters C, T, W and G.
  uint32_t chk_cnt = 0, rxmt_cnt = 0, win0_cnt = 0, gap_cnt = 0;
  uint64_t fin_seq = 0;     // relative sequence number one past the FIN
  flow::TcpStream stream;   // the bytes this endpoint sends

  // TCP_Endpoint::ToRelativeSeqSpace of the acknowledged point.
  uint64_t rel_ack() const { return (uint64_t(ack_wraps) << 32) + ack_seq - start_seq; }
};
static_assert(sizeof(Endpoint) <= 80, "a TCP endpoint grew: every tracked TCP connection pays twice");

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

struct Conn::TcpState {
  tcp::Endpoint ep[2];
  uint8_t orig_idx = 0;           // which of ep[] is the originator (a flip swaps them, as Zeek's pointers)
  bool is_partial = false;        // TCPSessionAdapter::is_partial
  uint8_t first_packet_seen = 0;  // 1 = originator, 2 = responder
  bool did_weird = false;         // Connection::DidWeird (for TCP's own weirds)
  // The flow table's pool link, in the padding after the flags (a separate vector of free pointers cost 8
  // bytes per connection): while in use, this state's own index + 1; while free, the next free one's
  // (0 ends the free list).
  uint32_t pool_link = 0;

  tcp::Endpoint& orig() { return ep[orig_idx]; }
  tcp::Endpoint& resp() { return ep[1 - orig_idx]; }
  const tcp::Endpoint& orig() const { return ep[orig_idx]; }
  const tcp::Endpoint& resp() const { return ep[1 - orig_idx]; }
  bool is_orig(const tcp::Endpoint& e) const { return &e == &ep[orig_idx]; }
  tcp::Endpoint& peer(const tcp::Endpoint& e) { return &e == &ep[0] ? ep[1] : ep[0]; }
  const tcp::Endpoint& peer(const tcp::Endpoint& e) const { return &e == &ep[0] ? ep[1] : ep[0]; }
  void reset();
};
static_assert(sizeof(Conn::TcpState) <= 168, "TCP state grew: every tracked TCP connection pays for it");

}  // namespace ots

namespace ots::tcp {

// TCPSessionAdapter::Process up to (not including) the data delivery and ConnectionClosed.
Outcome process(Conn::TcpState& s, flow::ConnHistory& h, const Packet& p, Weirds& w);

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
bool in_handshake(const Conn::TcpState& s);

// TCP_Reassembler's condition for reporting a content gap (history g/G and content_gap, so missed_bytes).
bool established_or_cleanly_closing(const Conn::TcpState& s);

// History letters that do not come from a packet's flags.
void checksum_error(const Conn::TcpState& s, Endpoint& e, flow::ConnHistory& h);  // C / c
void content_gap(const Conn::TcpState& s, Endpoint& e, flow::ConnHistory& h);     // G / g

// The conn_state() function of base/protocols/conn/main.zeek for TCP.
const char* conn_state(const Conn::TcpState& s, const char* history);

// Whether `history` matches /^\^?S[^HAFGIQ]*R.*/ (RSTOS0).
bool history_is_rstos0(const char* history);

}  // namespace ots::tcp
