#include "dissectors/dnp3/dnp3_analyzer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "dissectors/dnp3/dnp3_logs.hpp"
#include "dissectors/dnp3/dnp3_names.hpp"
#include "dissectors/dnp3/dnp3_parser.hpp"

namespace ots::dnp3 {

namespace {

// Bytes skipped while looking for a first valid link header before the connection is declared not to be
// DNP3. Two maximum frames: a capture that starts mid-frame finds a header well within that.
constexpr uint64_t kProbeLimit = 2 * kMaxFrameSize;

class Dnp3Analyzer final : public Analyzer {
 public:
  Dnp3Analyzer(const AnalyzerContext& ctx, Transport transport, const Options& opts)
      : ctx_(ctx), udp_(transport == Transport::Udp), opts_(opts) {}

  void data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) override;
  void gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) override;
  void end(Conn& c, uint64_t ts_ns) override;

 private:
  // Link frames of one direction not yet complete in the byte stream (TCP: a frame split across
  // segments). Bounded by the largest frame.
  struct Stream {
    std::array<uint8_t, kMaxFrameSize> buf{};
    size_t len = 0;
    bool in_garbage = false;     // inside a run of bytes that are not frames (one weird per run)
    bool after_gap = false;      // the run follows a content gap: expected, no weird
    bool direction_weird = false;
  };

  // One application fragment being reassembled from transport segments (IEEE 1815-2012 §8.2), keyed by
  // the link addresses: segments of different address pairs do not mix.
  struct Reassembly {
    bool active = false;
    uint16_t source = 0;
    uint16_t destination = 0;
    uint8_t next_seq = 0;
    uint64_t last_use = 0;
    std::vector<uint8_t> data;
  };

  // The request dnp3.log has not written yet (Zeek keeps one per connection, c$dnp3).
  struct PendingRequest {
    bool active = false;
    uint64_t ts_ns = 0;
    uint8_t function = 0;
  };

  enum class Step : uint8_t { Frame, Skip, NeedMore };
  struct Examined {
    Step step;
    size_t n;  // Frame: frame size; Skip: bytes to drop; NeedMore: bytes the frame needs in total
  };

  void feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts);
  Examined examine(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts);
  void skipped(Conn& c, bool is_orig, size_t n, uint64_t ts);
  void frame(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts);
  void segment(Conn& c, bool is_orig, const LinkHeader& h, std::span<const uint8_t> user, uint64_t ts);
  Reassembly& slot_for(Conn& c, bool is_orig, const LinkHeader& h, uint64_t ts);
  void fragment(Conn& c, bool is_orig, const LinkHeader& h, std::span<const uint8_t> frag, uint64_t ts);
  void write_row(Conn& c, const Dnp3Row& row);
  void weird(Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl = {});

  AnalyzerContext ctx_;
  ConnWeirdMemo weird_memo_;
  bool udp_;
  Options opts_;
  Stream stream_[2];
  std::vector<Reassembly> slots_[2];
  uint64_t use_clock_ = 0;
  uint64_t probe_skipped_ = 0;
  PendingRequest pending_;
  ConnColumns cols_;
};

void Dnp3Analyzer::weird(Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl) {
  conn_weird(ctx_, weird_memo_, c, is_orig, ts, name, std::move(addl), "dnp3");
}

void Dnp3Analyzer::write_row(Conn& c, const Dnp3Row& row) {
  if (ctx_.logs && ctx_.log_ids) write_dnp3_row(*ctx_.logs, ctx_.log_ids[kDnp3Log], c, cols_, row);
}

void Dnp3Analyzer::data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) {
  if (verdict_ == Verdict::Rejected) return;
  Stream& s = stream_[is_orig];
  if (udp_) {
    // Each datagram holds whole frames (IEEE 1815-2012 Annex on IP networking): nothing carries over.
    s.len = 0;
    s.in_garbage = false;
  }
  feed(c, is_orig, bytes, ts_ns);
  if (udp_ && s.len > 0) {
    if (verdict_ == Verdict::Confirmed) weird(c, is_orig, ts_ns, "dnp3_truncated_frame", "datagram ends mid-frame");
    s.len = 0;
  }
}

// Frames straight from the input when they are whole; through the stream buffer when split. The buffer
// is used for the rare split frame only, and a bad header found in it is re-examined from its next byte.
void Dnp3Analyzer::feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts) {
  Stream& s = stream_[is_orig];
  while (verdict_ != Verdict::Rejected) {
    if (s.len == 0) {
      if (in.empty()) return;
      const Examined e = examine(c, is_orig, in, ts);
      if (e.step == Step::Frame) {
        frame(c, is_orig, in.first(e.n), ts);
        in = in.subspan(e.n);
      } else if (e.step == Step::Skip) {
        skipped(c, is_orig, e.n, ts);
        in = in.subspan(e.n);
      } else {
        // Fewer bytes than the frame needs, so fewer than kMaxFrameSize.
        std::memcpy(s.buf.data(), in.data(), in.size());
        s.len = in.size();
        return;
      }
      continue;
    }
    const std::span<const uint8_t> held(s.buf.data(), s.len);
    const Examined e = examine(c, is_orig, held, ts);
    if (e.step == Step::NeedMore) {
      if (in.empty()) return;
      const size_t take = std::min(e.n - s.len, in.size());
      std::memcpy(s.buf.data() + s.len, in.data(), take);
      s.len += take;
      in = in.subspan(take);
      continue;
    }
    size_t drop = e.n;
    if (e.step == Step::Frame) {
      frame(c, is_orig, held.first(e.n), ts);
    } else {
      skipped(c, is_orig, e.n, ts);
    }
    std::memmove(s.buf.data(), s.buf.data() + drop, s.len - drop);
    s.len -= drop;
  }
}

Dnp3Analyzer::Examined Dnp3Analyzer::examine(Conn& c, bool is_orig, std::span<const uint8_t> bytes,
                                             uint64_t ts) {
  Stream& s = stream_[is_orig];
  if (bytes[0] != kStart0) {
    // Skip to the next candidate start octet.
    const auto* p = static_cast<const uint8_t*>(std::memchr(bytes.data() + 1, kStart0, bytes.size() - 1));
    return {Step::Skip, p ? static_cast<size_t>(p - bytes.data()) : bytes.size()};
  }
  LinkHeader h;
  switch (parse_link_header(bytes, h)) {
    case LinkStatus::Ok:
      break;
    case LinkStatus::NeedMore:
      return {Step::NeedMore, kLinkHeaderSize};
    case LinkStatus::NoMagic:
      return {Step::Skip, 1};
    case LinkStatus::BadHeaderCrc:
      // Zeek: "dnp3_corrupt_header_checksum". Nothing in the header can be trusted, so resynchronise on
      // the next start octet; the bytes up to it belong to this bad frame and get no second weird.
      if (verdict_ == Verdict::Confirmed && !s.after_gap) weird(c, is_orig, ts, "dnp3_corrupt_header_checksum");
      s.in_garbage = true;
      return {Step::Skip, 1};
    case LinkStatus::BadLength:
    default:
      if (verdict_ == Verdict::Confirmed && !s.after_gap) {
        weird(c, is_orig, ts, "dnp3_invalid_link_length", "length " + std::to_string(bytes[2]));
      }
      s.in_garbage = true;
      return {Step::Skip, 1};
  }
  const size_t size = h.frame_size();
  if (bytes.size() < size) return {Step::NeedMore, size};
  return {Step::Frame, size};
}

void Dnp3Analyzer::skipped(Conn& c, bool is_orig, size_t n, uint64_t ts) {
  Stream& s = stream_[is_orig];
  if (verdict_ == Verdict::Probing) {
    probe_skipped_ += n;
    // No valid header where one had to be: not DNP3 (Zeek's analyzer gives up at the first bad header).
    if (probe_skipped_ > kProbeLimit) verdict_ = Verdict::Rejected;
    return;
  }
  if (!s.in_garbage && !s.after_gap) {
    // Zeek: "dnp3_header_lacks_magic". One per run of non-frame bytes.
    weird(c, is_orig, ts, "dnp3_header_lacks_magic");
  }
  s.in_garbage = true;
}

void Dnp3Analyzer::frame(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts) {
  Stream& s = stream_[is_orig];
  LinkHeader h;
  if (parse_link_header(bytes, h) != LinkStatus::Ok) return;  // examined already
  // A header with a good CRC: DNP3 (as Zeek's ProtocolConfirmation).
  verdict_ = Verdict::Confirmed;
  s.in_garbage = false;
  s.after_gap = false;
  // DIR is set on frames from the master (§9.2.4.1.3.1); Zeek flags a frame whose DIR disagrees with
  // the connection's direction. Once per direction: a master that accepted the connection would repeat it
  // on every frame.
  if (h.dir() != is_orig && !s.direction_weird) {
    s.direction_weird = true;
    weird(c, is_orig, ts, "dnp3_unexpected_flow_direction");
  }
  // Link-only frames (reset link, link status, ACK...) carry no transport or application data.
  if (h.user_data_size() == 0) return;
  std::array<uint8_t, kMaxUserData> user;
  size_t bad_block = 0;
  if (extract_user_data(bytes, h, user, &bad_block) != LinkStatus::Ok) {
    // Zeek: "dnp3_corrupt_app_chunk_checksum". The frame is not trusted: its segment is dropped, and the
    // transport sequence check then discards the fragment it belonged to.
    weird(c, is_orig, ts, "dnp3_corrupt_app_chunk_checksum", "block " + std::to_string(bad_block));
    return;
  }
  segment(c, is_orig, h, std::span<const uint8_t>(user.data(), h.user_data_size()), ts);
}

Dnp3Analyzer::Reassembly& Dnp3Analyzer::slot_for(Conn& c, bool is_orig, const LinkHeader& h, uint64_t ts) {
  std::vector<Reassembly>& slots = slots_[is_orig];
  for (Reassembly& r : slots) {
    if (r.source == h.source && r.destination == h.destination) return r;
  }
  Reassembly* slot = nullptr;
  if (slots.size() < std::max<size_t>(opts_.reassembly_slots, 1)) {
    slot = &slots.emplace_back();
  } else {
    // An idle slot if there is one, else the least recently used fragment.
    for (Reassembly& r : slots) {
      if (!slot || (slot->active && (!r.active || r.last_use < slot->last_use))) slot = &r;
    }
    if (slot->active) weird(c, is_orig, ts, "dnp3_incomplete_fragment", "dropped for another link address pair");
  }
  slot->active = false;
  slot->source = h.source;
  slot->destination = h.destination;
  slot->data.clear();
  return *slot;
}

void Dnp3Analyzer::segment(Conn& c, bool is_orig, const LinkHeader& h, std::span<const uint8_t> user,
                           uint64_t ts) {
  const TransportHeader t = parse_transport(user[0]);
  const std::span<const uint8_t> payload = user.subspan(1);
  Reassembly& r = slot_for(c, is_orig, h, ts);
  r.last_use = ++use_clock_;
  if (t.fir) {
    // A new FIR abandons the fragment in progress (§8.2.1.2 reception rules).
    if (r.active) weird(c, is_orig, ts, "dnp3_incomplete_fragment", "new FIR before FIN");
    r.active = false;
    if (t.fin) {
      fragment(c, is_orig, h, payload, ts);  // the common single-segment fragment: no copy
      return;
    }
    r.active = true;
    r.data.assign(payload.begin(), payload.end());
    r.next_seq = static_cast<uint8_t>((t.seq + 1) & 0x3f);
    return;
  }
  if (!r.active) {
    // Zeek's name: a continuation without its first segment (lost, or capture started mid-fragment).
    weird(c, is_orig, ts, "dnp3_first_application_layer_chunk_missing");
    return;
  }
  if (t.seq != r.next_seq) {
    weird(c, is_orig, ts, "dnp3_transport_out_of_sequence",
          "expected " + std::to_string(r.next_seq) + ", got " + std::to_string(t.seq));
    r.active = false;
    return;
  }
  if (r.data.size() + payload.size() > opts_.max_fragment) {
    weird(c, is_orig, ts, "dnp3_fragment_too_large", "over " + std::to_string(opts_.max_fragment) + " bytes");
    r.active = false;
    return;
  }
  r.data.insert(r.data.end(), payload.begin(), payload.end());
  r.next_seq = static_cast<uint8_t>((t.seq + 1) & 0x3f);
  if (t.fin) {
    r.active = false;
    fragment(c, is_orig, h, r.data, ts);
  }
}

void Dnp3Analyzer::fragment(Conn& c, bool is_orig, const LinkHeader& h, std::span<const uint8_t> frag,
                            uint64_t ts) {
  AppHeader a;
  if (!parse_app_header(frag, a)) {
    weird(c, is_orig, ts, "dnp3_truncated_application_header", std::to_string(frag.size()) + " bytes");
    return;
  }
  const uint8_t fc = a.function;
  const bool response = a.has_iin;

  // dnp3.log, as base/protocols/dnp3/main.zeek: a response completes the pending request's row, stamped
  // with the response's time. Two deliberate differences: a request arriving while another is pending
  // writes the older one as unanswered (Zeek overwrites it, losing e.g. every DIRECT_OPERATE_NR and
  // most CONFIRMs), and an unsolicited response gets its own row instead of taking the pending request.
  if (response) {
    Dnp3Row row{ts, std::nullopt, fc, a.iin()};
    if (fc != kUnsolicitedResponse && pending_.active) {
      row.fc_request = pending_.function;
      pending_.active = false;
    }
    write_row(c, row);
  } else {
    if (pending_.active) write_row(c, Dnp3Row{pending_.ts_ns, pending_.function, std::nullopt, std::nullopt});
    pending_ = PendingRequest{true, ts, fc};
  }

  OperationEvent ev;
  ev.ts_ns = ts;
  ev.conn = &c;
  ev.is_orig = is_orig;
  ev.is_request = !response;
  ev.protocol = Protocol::Dnp3;
  ev.code = fc;
  ev.unit = h.destination;  // name, class and read-only set at the end, when the event is wanted
  // IIN2 bits 0-2: function not supported, object unknown, parameter error (§4.2.2.6.2).
  if (response && (a.iin2 & 0x07)) ev.exception = a.iin2 & 0x07;
  ev.pdu = frag;

  // Object headers. Zeek parses objects of the functions IEEE 1815 defines only.
  if (is_known_function(fc)) {
    LogSink* logs = ctx_.log_ids ? ctx_.logs : nullptr;
    ObjectWalker walker(frag.subspan(a.size()), fc);
    ObjectHeader oh;
    bool first = true;
    while (walker.next(oh)) {
      if (first) {
        first = false;
        ev.dnp3_object_group = oh.group;
        // Ranges and counts give the number of points; "all" (qualifier 0x06) leaves it unknown.
        if (oh.has_range || oh.has_count) ev.quantity = static_cast<int64_t>(oh.count);
        ObjectItem item;
        ObjectItems items(oh);
        if (oh.has_range) {
          ev.address = oh.start;
        } else if (oh.index_prefixed() && items.next(item)) {
          ev.address = item.index;
        }
      }
      // dnp3_objects.log (icsnpp-dnp3 dnp3_object_header): types ICSNPP names, in READ requests from
      // the originator (no counts) and RESPONSEs from the responder. Its counts follow Zeek's object
      // header event: ranges give start and stop; count qualifiers give the count as range_low and 0 as
      // range_high (Zeek's rf_value_low/rf_value_high), read in the right byte order.
      const std::string_view type = icsnpp_object_type(oh.object_type());
      if (logs && !type.empty() && ((is_orig && fc == kRead) || (!is_orig && fc == kResponse))) {
        ObjectsRow row{ts, is_orig, fc, type, std::nullopt, std::nullopt, std::nullopt};
        if (!is_orig) {
          row.count = oh.count;
          if (oh.has_range) {
            row.range_low = oh.start;
            row.range_high = oh.stop;
          } else if (oh.has_count) {
            row.range_low = oh.count;
            row.range_high = 0;
          }
        }
        write_objects_row(*logs, ctx_.log_ids[kObjectsLog], c, cols_, row);
      }
      // dnp3_control.log (icsnpp-dnp3 dnp3_crob/dnp3_pcb): every CROB and PCB object, requests and
      // responses. The index comes from the object's prefix as in ICSNPP, or from the range (ICSNPP
      // leaves it unset there).
      if (logs && oh.group == 12 && (oh.variation == 1 || oh.variation == 2) && oh.size.kind == SizeKind::Fixed) {
        ObjectItems items(oh);
        ObjectItem item;
        while (items.next(item)) {
          ControlBlock b;
          if (!parse_control_block(item.data, b)) break;
          ControlRow row;
          row.ts_ns = ts;
          row.is_orig = is_orig;
          row.block_type = oh.variation == 1 ? "Control Relay Output Block" : "Pattern Control Block";
          row.function = fc;
          if (item.has_index) row.index = item.index;
          row.control_code = b.control_code;
          row.count = b.count;
          row.on_time = b.on_time;
          row.off_time = b.off_time;
          if (response) row.status = b.status;
          write_control_row(*logs, ctx_.log_ids[kControlLog], c, cols_, row);
        }
      }
    }
    switch (walker.status()) {
      case WalkStatus::Ok:
      case WalkStatus::End:
        break;
      case WalkStatus::UnknownSize:
        weird(c, is_orig, ts, "dnp3_unknown_object_size",
              "g" + std::to_string(oh.group) + "v" + std::to_string(oh.variation) + " qualifier " +
                  std::to_string(oh.qualifier));
        break;
      case WalkStatus::Truncated:
        weird(c, is_orig, ts, "dnp3_truncated_objects", "at offset " + std::to_string(walker.offset()));
        break;
      case WalkStatus::BadQualifier:
        weird(c, is_orig, ts, "dnp3_bad_object_qualifier", "at offset " + std::to_string(walker.offset()));
        break;
      case WalkStatus::BadRange:
        weird(c, is_orig, ts, "dnp3_bad_object_range", "at offset " + std::to_string(walker.offset()));
        break;
    }
  }

  if (!ctx_.ops) return;
  if (!ctx_.ops->wants_events()) return ctx_.ops->count_operation();
  ev.name = dnp3_function_snake_name(fc);
  ev.op_class = dnp3_op_class(fc);
  ev.read_only = dnp3_read_only(fc);
  ctx_.ops->on_operation(ev);
}

void Dnp3Analyzer::gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) {
  (void)c;
  (void)len;
  (void)ts_ns;
  // The bytes up to the next start octet are the rest of a frame whose beginning was lost: skip them
  // without a weird (the gap is already counted in conn.log's missed_bytes).
  Stream& s = stream_[is_orig];
  s.len = 0;
  s.in_garbage = false;
  s.after_gap = true;
  // Segments lost in the gap leave fragments that can never complete; the next FIR starts afresh.
  for (Reassembly& r : slots_[is_orig]) r.active = false;
}

void Dnp3Analyzer::end(Conn& c, uint64_t ts_ns) {
  if (verdict_ == Verdict::Confirmed) {
    for (int dir = 0; dir < 2; ++dir) {
      const bool is_orig = dir == 1;
      if (stream_[dir].len > 0) {
        weird(c, is_orig, ts_ns, "dnp3_truncated_frame", std::to_string(stream_[dir].len) + " bytes at end");
      }
      for (const Reassembly& r : slots_[dir]) {
        if (r.active) weird(c, is_orig, ts_ns, "dnp3_incomplete_fragment", "connection ended before FIN");
      }
    }
  }
  if (pending_.active) {
    // Zeek's finalize_dnp3 hook: the unanswered request is logged when the connection goes away.
    write_row(c, Dnp3Row{pending_.ts_ns, pending_.function, std::nullopt, std::nullopt});
    pending_.active = false;
  }
}

constexpr uint16_t kPorts[] = {20000};
const LogSchema* const kLogs[] = {&dnp3_log_schema(), &control_log_schema(), &objects_log_schema()};

std::unique_ptr<Analyzer> create(const AnalyzerContext& ctx, Transport transport) {
  return make_analyzer(ctx, transport, Options{});
}

}  // namespace

std::unique_ptr<Analyzer> make_analyzer(const AnalyzerContext& ctx, Transport transport, const Options& opts) {
  return std::make_unique<Dnp3Analyzer>(ctx, transport, opts);
}

}  // namespace ots::dnp3

namespace ots {

const DissectorModule kDnp3Module{Protocol::Dnp3, "dnp3", dnp3::kPorts, dnp3::kPorts, dnp3::kLogs, &dnp3::create};

}  // namespace ots
