#include "capture/tcp_state.hpp"

#include "capture/decode.hpp"

namespace ots {

void Conn::TcpState::reset(flow::StreamStore& store) {
  for (tcp::Endpoint& e : ep) {
    e.stream.reset(store);
    e.state = e.prev_state = tcp::EpState::Inactive;
    e.did_close = e.fin_seen = e.active = false;
    e.start_seq = e.last_seq = e.ack_seq = e.seq_wraps = e.ack_wraps = 0;
    e.hist_last_syn = e.hist_last_fin = e.hist_last_rst = 0;
    e.rxmt_cnt = 0;
    e.set_fin_seq(0);
    e.conn_bits = 0;
  }
}

}  // namespace ots

namespace ots::tcp {
namespace {

using State = Conn::TcpState;
using namespace detail;

struct Flags {
  uint8_t bits;
  bool syn() const { return bits & tcp_flag::SYN; }
  bool fin() const { return bits & tcp_flag::FIN; }
  bool rst() const { return bits & tcp_flag::RST; }
  bool ack() const { return bits & tcp_flag::ACK; }
  bool urg() const { return bits & tcp_flag::URG; }
};

bool seq_between(uint32_t seq, uint32_t low, uint32_t high) {
  if (low <= high) return seq >= low && seq <= high;
  return seq >= low || seq <= high;
}

void weird(State& s, Weirds& w, std::string_view name) {
  s.set_did_weird(true);
  w.weird(name);
}

void set_state(Endpoint& e, EpState st) {
  if (st != e.state) {
    e.prev_state = e.state;
    e.state = st;
  }
}

// TCP_Endpoint::CheckHistory / AddHistory: upper case for the originator, responder bits shifted.
bool check_history(const State& s, const Endpoint& e, flow::ConnHistory& h, uint16_t mask, char code) {
  if (!s.is_orig(e)) {
    mask = static_cast<uint16_t>(mask << 8);
    code = static_cast<char>(code - 'A' + 'a');
  }
  return h.check(mask, code);
}

void add_history(const State& s, const Endpoint& e, flow::ConnHistory& h, char code) {
  h.add(s.is_orig(e) ? code : static_cast<char>(code - 'A' + 'a'));
}

void scaled(State& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters, CounterStore::Kind kind,
            char code) {
  if (counters.count(s, e, kind)) add_history(s, e, h, code);
}

int get_segment_len(int len, Flags f) {
  int seg_len = len;
  if (f.syn()) ++seg_len;
  if (f.fin()) ++seg_len;
  if (f.rst()) seg_len -= len;  // RST payload is not part of the stream
  return seg_len;
}

void init_endpoint(State& s, Endpoint& e, Flags f, uint32_t first_seq, uint32_t last_seq, Weirds& w) {
  switch (e.state) {
    case EpState::Inactive:
      if (f.syn()) {
        e.ack_seq = e.start_seq = first_seq;
      } else {
        // Partial connection: number the bytes as though a SYN had been seen, and do not take the
        // first packet for a retransmission.
        e.ack_seq = e.start_seq = first_seq - 1;
        last_seq = first_seq;
      }
      e.last_seq = last_seq;
      break;
    case EpState::SynSent:
    case EpState::SynAckSent:
      if (f.syn() && first_seq != e.start_seq) {
        weird(s, w, "SYN_seq_jump");
        e.start_seq = e.ack_seq = first_seq;
        e.last_seq = last_seq;
      }
      break;
    case EpState::Established:
    case EpState::Partial:
      if (f.syn()) {
        if (size(s, e) > 0) weird(s, w, "SYN_inside_connection");
        if (first_seq != e.start_seq) weird(s, w, "SYN_seq_jump");
        e.start_seq = e.ack_seq = first_seq;
        e.last_seq = last_seq;
      }
      break;
    case EpState::Reset:
      // Sequence numbers set up by a RST from this side: a SYN now may mean the RST was injected.
      if (f.syn() && e.prev_state == EpState::Inactive) {
        e.start_seq = e.ack_seq = first_seq;
        e.last_seq = last_seq;
      }
      break;
    default:
      break;
  }
}

void update_history(const State& s, Endpoint& e, flow::ConnHistory& h, Flags f, uint64_t rel_seq, int len) {
  const int bits_set = (f.syn() ? 1 : 0) + (f.fin() ? 1 : 0) + (f.rst() ? 1 : 0);
  const auto rel32 = static_cast<uint32_t>(rel_seq);
  if (bits_set > 1) {
    if (f.fin() && f.rst()) {
      check_history(s, e, h, kHistFinRst, 'I');
    } else {
      check_history(s, e, h, kHistMultiFlag, 'Q');
    }
  } else if (bits_set == 1) {
    if (f.syn()) {
      const char code = f.ack() ? 'H' : 'S';
      if (check_history(s, e, h, kHistSyn, code) && rel32 != e.hist_last_syn) add_history(s, e, h, code);
      e.hist_last_syn = rel32;
    }
    if (f.fin()) {
      // A FIN's sequence number is the one after its data.
      const auto fin32 = static_cast<uint32_t>(rel_seq + static_cast<uint64_t>(len));
      if (check_history(s, e, h, kHistFin, 'F') && fin32 != e.hist_last_fin) add_history(s, e, h, 'F');
      e.hist_last_fin = fin32;
    }
    if (f.rst()) {
      if (check_history(s, e, h, kHistRst, 'R') && rel32 != e.hist_last_rst) add_history(s, e, h, 'R');
      e.hist_last_rst = rel32;
    }
  } else {
    if (len) {
      check_history(s, e, h, kHistData, 'D');
    } else if (f.ack()) {
      check_history(s, e, h, kHistAck, 'A');
    }
  }
}

// update_window, reduced to what the history needs: zero windows are interesting unless they come with
// or after a RST, or after the peer's FIN. (The window-recision weird is not implemented.)
void update_window(State& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters, uint16_t window,
                   Flags f) {
  if (window == 0 && !f.rst() && s.peer(e).state != EpState::Closed && e.state != EpState::Reset) {
    scaled(s, e, h, counters, CounterStore::kZeroWindow, 'W');
  }
}

void init_peer(State& s, Endpoint& peer, const Endpoint& e, Flags f, uint32_t ack, Weirds& w) {
  if (!f.syn() && !f.fin() && !f.rst()) {
    if (e.state == EpState::SynSent || e.state == EpState::SynAckSent || e.state == EpState::Established) {
      // We sent a SYN that did not rouse the other side, yet we acknowledge its data.
      if (!s.did_weird()) weird(s, w, "possible_split_routing");
    }
  }
  // Number the peer's bytes as though its SYN had been seen.
  peer.start_seq = ack - 1;
  peer.ack_seq = ack - 1;
  peer.last_seq = ack - 1;
}

int32_t update_last_seq(State& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters, uint32_t last_seq,
                        Flags f, int len) {
  const int32_t delta = seq_delta(last_seq, e.last_seq);
  if ((f.syn() || f.rst()) && (delta > kTooLargeSeqDelta || delta < -kTooLargeSeqDelta)) {
    // Do not trust outlandish sequence numbers on SYNs and RSTs.
  } else if (f.fin() && e.last_seq == e.start_seq + 1) {
    // Only the SYN and the FIN seen: take the FIN even if it looks older (connections over 2 GB).
    update_last_seq_value(e, last_seq);
  } else if (e.state == EpState::Reset) {
    // Nothing after a RST is trusted.
  } else if (delta > 0) {
    update_last_seq_value(e, last_seq);
  } else if (delta <= 0 && len > 0) {
    scaled(s, e, h, counters, CounterStore::kRetransmit, 'T');  // TCP_Endpoint::DidRxmit
  }
  return delta;
}

void set_partial_status(State& s, Flags f, bool is_orig) {
  if (is_orig) {
    if (!(s.first_packet_seen() & kOrigSeen)) s.set_partial(!f.syn() || f.ack());
  } else {
    if (!(s.first_packet_seen() & kRespSeen) && !s.is_partial()) s.set_partial(!f.syn());
  }
}

void set_first_packet_seen(State& s, bool is_orig) {
  s.set_first_packet_seen(static_cast<uint8_t>(s.first_packet_seen() | (is_orig ? kOrigSeen : kRespSeen)));
}

// Connection::FlipRoles, the TCP part (TCPSessionAdapter::FlipRoles); the flow table swaps the rest.
void flip_roles(State& s, flow::ConnHistory& h) {
  s.set_orig_idx(static_cast<uint8_t>(1 - s.orig_idx()));
  s.set_first_packet_seen(static_cast<uint8_t>(((s.first_packet_seen() & kOrigSeen) ? kRespSeen : 0) |
                                               ((s.first_packet_seen() & kRespSeen) ? kOrigSeen : 0)));
  s.set_partial(false);
  h.add('^');
}

void update_inactive_state(State& s, Endpoint& e, Endpoint& peer, flow::ConnHistory& h, const Packet& p, Flags f,
                           Outcome& out, Weirds& w) {
  const bool is_orig = p.is_orig;
  if (f.syn()) {
    if (is_orig) {
      if (f.ack()) {
        weird(s, w, "connection_originator_SYN_ack");
        set_state(e, EpState::SynAckSent);
      } else {
        set_state(e, EpState::SynSent);
      }
      out.arm_attempt = true;
    } else {
      if (f.ack()) {
        if (peer.state != EpState::Inactive && peer.state != EpState::Partial &&
            !seq_between(p.ack, peer.start_seq, peer.last_seq)) {
          weird(s, w, "bad_SYN_ack");
        }
      } else if (peer.state == EpState::SynAckSent && p.seq == e.start_seq) {
        // The SYN-ACK was seen before its SYN (e.g. two interfaces): flip and establish.
        s.set_partial(false);
        flip_roles(s, h);
        out.flipped = true;
        set_state(peer, EpState::Established);
        set_first_packet_seen(s, true);
      } else {
        weird(s, w, "simultaneous_open");
      }
      if (peer.state == EpState::SynSent) {
        set_state(peer, EpState::Established);
      } else if (peer.state == EpState::Inactive) {
        weird(s, w, "unsolicited_SYN_response");
      }
      set_state(e, EpState::Established);
    }
  }

  if (f.fin()) {
    set_state(e, EpState::Closed);
    out.do_close = true;
    if (peer.state != EpState::Partial && !f.syn()) weird(s, w, "spontaneous_FIN");
  }

  if (f.rst()) {
    set_state(e, EpState::Reset);
    bool is_reject = false;
    if (is_orig) {
      // A SYN-ACK but no SYN seen, then our RST: a reverse scan, treated as a reject.
      is_reject = peer.state == EpState::Established;
    } else {
      is_reject = peer.state == EpState::SynSent || peer.state == EpState::SynAckSent;
    }
    out.do_close = true;
    if (!is_reject && peer.state == EpState::Inactive) weird(s, w, "spontaneous_RST");
  }

  if (e.state == EpState::Inactive) {  // no control flag changed the state
    if (!is_orig && p.len == 0 && s.orig().state == EpState::SynSent) {
      // Some stacks ACK an initial SYN before answering it; not a partial connection.
    } else if (f.ack() && peer.state == EpState::Established) {
      // The SYN was missed but the SYN-ACK seen, and now a pure ACK: establish.
      set_state(e, EpState::Established);
      s.set_partial(false);
      set_first_packet_seen(s, is_orig);
    } else {
      set_state(e, EpState::Partial);
    }
  }
}

void update_syn_sent_state(State& s, Endpoint& e, Endpoint& peer, const Packet& p, Flags f, Outcome& out,
                           Weirds& w) {
  if (f.syn()) {
    if (p.is_orig) {
      if (f.ack() && !f.fin() && !f.rst() && e.state != EpState::SynAckSent) weird(s, w, "repeated_SYN_with_ack");
    } else {
      if (!f.ack() && e.state != EpState::SynSent) weird(s, w, "repeated_SYN_reply_wo_ack");
    }
  }
  if (f.fin()) {
    if (peer.state == EpState::Inactive || peer.state == EpState::SynSent) weird(s, w, "inappropriate_FIN");
    set_state(e, EpState::Closed);
    out.do_close = true;
  }
  if (f.rst()) {
    set_state(e, EpState::Reset);
    out.do_close = true;
  } else if (p.len > 0) {
    weird(s, w, "data_before_established");
  }
}

void update_established_state(State& s, Endpoint& e, Endpoint& peer, Flags f, Outcome& out, Weirds& w) {
  if (f.syn()) {
    if (e.state == EpState::Partial && peer.state == EpState::Inactive && !f.ack()) {
      weird(s, w, "SYN_after_partial");
      set_state(e, EpState::SynSent);
    }
  }
  if (f.fin() && !f.rst()) {
    set_state(e, EpState::Closed);
    // The peer's FIN then RST: back to CLOSED, that was a normal close.
    if (peer.state == EpState::Reset && peer.prev_state == EpState::Closed) set_state(peer, EpState::Closed);
    out.do_close = true;
  }
  if (f.rst()) {
    set_state(e, EpState::Reset);
    out.do_close = true;
  }
}

void update_closed_state(State& s, Endpoint& e, Endpoint& peer, int32_t delta_last, Flags f, Outcome& out,
                         Weirds& w) {
  if (f.syn()) weird(s, w, "SYN_after_close");
  if (f.fin() && delta_last > 0) weird(s, w, "FIN_advanced_last_seq");
  // After a FIN exchange from both sides a RST does not change the state.
  if (f.rst() && peer.state != EpState::Closed) {
    set_state(e, EpState::Reset);
    if (!e.did_close) out.do_close = true;  // RST after FIN
    out.arm_reset = true;
  }
}

void update_reset_state(State& s, const Packet& p, Flags f, Weirds& w) {
  if (f.syn()) weird(s, w, "SYN_after_reset");
  if (f.fin()) weird(s, w, "FIN_after_reset");
  if (p.len > 0 && !f.rst()) weird(s, w, "data_after_reset");
}

bool no_data_acked(const Endpoint& e) {
  const uint64_t ack = full_seq(e.ack_seq, e.ack_wraps);
  return ack == e.start_seq || ack == uint64_t(e.start_seq) + 1;
}

bool is_clean(const Endpoint& e) {
  return e.state == EpState::Established || (e.state == EpState::Closed && e.prev_state == EpState::Established);
}

}  // namespace

uint64_t size(const Conn::TcpState& s, const Endpoint& e) {
  // A half-open connection that was discovered and aborted: its sequence numbers mean nothing.
  if (e.prev_state == EpState::SynSent && e.state == EpState::Reset && s.peer(e).state == EpState::Inactive &&
      !no_data_acked(e)) {
    return 0;
  }
  const uint64_t last = full_seq(e.last_seq, e.seq_wraps);
  const uint64_t ack = full_seq(e.ack_seq, e.ack_wraps);
  uint64_t n = (last > ack ? last : ack) - e.start_seq;
  if (n != 0) --n;                    // the SYN octet (faked for partial connections)
  if (e.fin_seen && n != 0) --n;      // the FIN octet
  return n;
}

bool established_or_cleanly_closing(const Conn::TcpState& s) { return is_clean(s.ep[0]) && is_clean(s.ep[1]); }

void checksum_error(Conn::TcpState& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters) {
  scaled(s, e, h, counters, CounterStore::kChecksum, 'C');
}

void content_gap(Conn::TcpState& s, Endpoint& e, flow::ConnHistory& h, CounterStore& counters) {
  scaled(s, e, h, counters, CounterStore::kGap, 'G');
}

bool CounterStore::count_beside(Conn::TcpState& s, Endpoint& e, Kind kind) {
  const auto it = map_.try_emplace(key(e, kind), kind == kRetransmit ? 0xffffu : 0u).first;
  s.set_spilled(true);
  return flow::scaled_history_due(it->second);
}

void CounterStore::forget(Conn::TcpState& s) {
  if (!s.spilled()) return;
  for (const Endpoint& e : s.ep) {
    for (Kind k : {kChecksum, kRetransmit, kZeroWindow, kGap}) map_.erase(key(e, k));
  }
  s.set_spilled(false);
}

Outcome process_general(Conn::TcpState& s, flow::ConnHistory& h, const Packet& p, Weirds& w,
                        CounterStore& counters) {
  Outcome out;
  Endpoint& e = p.is_orig ? s.orig() : s.resp();
  Endpoint& peer = s.peer(e);
  out.endpoint = &e;
  const Flags f{p.flags};
  const int len = static_cast<int>(p.len);

  set_partial_status(s, f, p.is_orig);

  const int seg_len = get_segment_len(len, f);
  const uint32_t seq_one_past = p.seq + static_cast<uint32_t>(seg_len);
  init_endpoint(s, e, f, p.seq, seq_one_past, w);

  bool seq_underflow = false;
  const uint64_t rel_seq = get_relative_seq(e, p.seq, e.last_seq, e.seq_wraps, &seq_underflow);
  if (seq_underflow && !f.rst()) weird(s, w, "TCP_seq_underflow_or_misorder");

  update_history(s, e, h, f, rel_seq, len);
  update_window(s, e, h, counters, p.window, f);

  out.update_last_time = !s.orig().did_close || !s.resp().did_close;

  if (f.syn()) {
    if (f.rst()) weird(s, w, "TCP_christmas");
    if (f.urg()) weird(s, w, "baroque_SYN");
    if (len > 0) weird(s, w, "SYN_with_data");
  }
  if (f.fin()) {
    e.fin_seen = true;
    e.set_fin_seq(rel_seq + static_cast<uint64_t>(static_cast<int64_t>(seg_len)));
  }

  uint64_t rel_ack = 0;
  if (f.ack()) {
    if (peer.state == EpState::Inactive) {
      rel_ack = 1;
      init_peer(s, peer, e, f, p.ack, w);
    } else {
      bool ack_underflow = false;
      rel_ack = get_relative_seq(peer, p.ack, peer.ack_seq, peer.ack_wraps, &ack_underflow);
      if (ack_underflow) {
        rel_ack = 0;
        weird(s, w, "TCP_ack_underflow_or_misorder");
      } else if (!f.rst()) {
        update_ack_seq(peer, p.ack);  // ACKs in RSTs are not trusted
      }
    }
  }

  const int32_t delta_last = update_last_seq(s, e, h, counters, seq_one_past, f, len);
  e.active = true;

  switch (e.state) {
    case EpState::Inactive: update_inactive_state(s, e, peer, h, p, f, out, w); break;
    case EpState::SynSent:
    case EpState::SynAckSent: update_syn_sent_state(s, e, peer, p, f, out, w); break;
    case EpState::Established:
    case EpState::Partial: update_established_state(s, e, peer, f, out, w); break;
    case EpState::Closed: update_closed_state(s, e, peer, delta_last, f, out, w); break;
    case EpState::Reset: update_reset_state(s, p, f, w); break;
  }

  out.have_ack = f.ack();
  out.rel_ack = rel_ack;

  // CheckPIA_FirstPacket, with the packet's direction as it arrived.
  set_first_packet_seen(s, p.is_orig);

  out.rel_data_seq = f.syn() ? rel_seq + 1 : rel_seq;
  out.deliver = len > 0 && !f.rst() && !seq_underflow;
  return out;
}

bool is_reuse(const Conn::TcpState& s, const Packet& p, uint64_t ts, uint64_t last_ts, uint64_t linger_ns,
              Weirds& w) {
  const Flags f{p.flags};
  // Reuse starts with an initial SYN, or a SYN-ACK for half connections.
  if (!f.syn()) return false;
  const Endpoint* conn_orig = &s.orig();
  if (f.ack()) {
    if (s.orig().state != EpState::Inactive) return false;  // not a half connection
    conn_orig = &s.resp();
  }
  const bool closed = s.orig().did_close || s.resp().did_close;
  const bool any_reset = s.orig().state == EpState::Reset || s.resp().state == EpState::Reset;
  if (!closed) {
    if (p.seq == conn_orig->start_seq) return false;
    // An initial SYN after its SYN-ACK (two interfaces): process() flips the connection.
    if (!f.ack() && conn_orig->state == EpState::SynAckSent && s.resp().state == EpState::Inactive &&
        p.seq == s.resp().start_seq) {
      return false;
    }
    w.weird(conn_orig->state == EpState::SynSent ? "SYN_seq_jump" : "active_connection_reuse");
  } else if (((s.orig().state != EpState::Inactive && !s.orig().did_close) ||
              (s.resp().state != EpState::Inactive && !s.resp().did_close)) &&
             !any_reset) {
    w.weird("active_connection_reuse");
  } else if (ts - last_ts < linger_ns && !any_reset) {
    w.weird("premature_connection_reuse");
  }
  return true;
}

bool connection_closed(Conn::TcpState& s, Endpoint& e) {
  if (e.did_close) return false;  // nothing new
  e.did_close = true;
  const Endpoint& peer = s.peer(e);
  return e.state == EpState::Reset || peer.did_close || peer.state == EpState::Inactive;
}

bool history_is_rstos0(const char* h) {
  if (*h == '^') ++h;
  if (*h != 'S') return false;
  for (++h; *h; ++h) {
    switch (*h) {
      case 'R': return true;
      case 'H': case 'A': case 'F': case 'G': case 'I': case 'Q': return false;
      default: break;
    }
  }
  return false;
}

const char* conn_state(const Conn::TcpState& s, const char* history) {
  const EpState os = s.orig().state, rs = s.resp().state;
  const bool o_inactive = os == EpState::Inactive || os == EpState::Partial;
  const bool r_inactive = rs == EpState::Inactive || rs == EpState::Partial;
  if (rs == EpState::Reset) {
    if (os == EpState::SynSent || os == EpState::SynAckSent ||
        (os == EpState::Reset && size(s, s.orig()) == 0 && size(s, s.resp()) == 0)) {
      return "REJ";
    }
    return o_inactive ? "RSTRH" : "RSTR";
  }
  if (os == EpState::Reset) {
    if (r_inactive) return history_is_rstos0(history) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (rs == EpState::Closed && os == EpState::Closed) return "SF";
  if (os == EpState::Closed) return r_inactive ? "SH" : "S2";
  if (rs == EpState::Closed) return o_inactive ? "SHR" : "S3";
  if (os == EpState::SynSent && rs == EpState::Inactive) return "S0";
  if (os == EpState::Established && rs == EpState::Established) return "S1";
  return "OTH";
}

}  // namespace ots::tcp
