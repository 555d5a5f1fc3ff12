// The EtherNet/IP analyzer: frames encapsulation messages out of each direction's TCP byte stream (or
// UDP datagrams), writes enip.log, walks the Common Packet Format items down to the CIP they carry,
// writes cip.log and cip_identity.log, pairs replies with requests, emits operation events and keeps the
// worker's table of CIP connections. The CIP I/O analyzer (UDP 2222) is at the end. The wire grammar is
// enip_parser.cpp's and cip_parser.cpp's.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dissectors/enip/cip_names.hpp"
#include "dissectors/enip/enip.hpp"
#include "dissectors/enip/enip_logs.hpp"

namespace ots {
namespace {

using namespace enip;

// Bytes skipped while looking for a first plausible header before the flow is declared not to be
// EtherNet/IP: two maximum messages, so a capture that starts mid-message finds the next header.
constexpr uint64_t kProbeLimit = 2 * kMaxMessageSize;
// UDP datagrams that do not start with an encapsulation header before the flow is rejected.
constexpr uint32_t kProbeDatagrams = 3;
// Wrappers inside wrappers (an Unconnected Send carrying a Multiple Service Packet, ...) are followed this
// deep; deeper nesting is a weird, not a stack overflow.
constexpr int kMaxDepth = 4;
// Embedded services of a Multiple Service Packet remembered for naming the replies.
constexpr size_t kMaxChildren = 32;

// What a request asked, kept so its reply can be named by the request's target.
struct Asked {
  bool valid = false;
  uint8_t service = 0;  // without the reply bit
  cip::Target target = cip::Target::Unknown;
  int64_t class_id = -1;
  int64_t instance_id = -1;
  int64_t attribute_id = -1;
};

// The Forward Open request fields the connection table needs once the reply confirms the connection.
struct OpenAsked {
  bool valid = false;
  bool large = false;
  uint32_t to_connection_id = 0;
  cip::ConnectionTriad triad;
  uint32_t ot_rpi_us = 0;
  uint32_t to_rpi_us = 0;
  uint8_t transport_trigger = 0;
};

// A request awaiting its reply. Unconnected requests (SendRRData) are paired by sender context, which
// the target echoes (Vol 2 §2-3.1); connected ones (SendUnitData) by the transport class 3 sequence
// count, which the reply repeats (Vol 1 §3-4.4.2).
struct PendingHead {
  bool used = false;
  bool is_orig = true;  // direction of the request
  bool connected = false;
  uint16_t sequence = 0;
  std::array<uint8_t, kSenderContextSize> context{};
  uint64_t ts_ns = 0;
  Asked outer;   // the request as sent
  Asked inner;   // what the reply answers: an Unconnected Send's embedded request, else the request itself
  uint8_t children = 0;
  OpenAsked open;
};
struct Pending : PendingHead {
  std::array<Asked, kMaxChildren> child;  // the inner Multiple Service Packet's services, [0, children)
  // A fresh request in the slot. Only the head is reset: the children past `children` are never read,
  // and zeroing their 1.3 KB with the rest was most of a request's bookkeeping.
  void restart() { static_cast<PendingHead&>(*this) = PendingHead{}; }
};

// One message's context while its CIP is walked.
struct MsgCtx {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  std::string_view correlation;
  int32_t sequence = -1;
  const MessageColumns* columns = nullptr;  // the logs' shared columns for the message
};

class EnipAnalyzer final : public Analyzer {
 public:
  EnipAnalyzer(const AnalyzerContext& ctx, Transport transport, const EnipOptions& opts)
      : ctx_(ctx), udp_(transport == Transport::Udp), opts_(opts), logs_(ctx.logs, ctx.log_ids) {
    // A TCP flow may be picked up mid-stream: until a header is found its first bytes are scanned for
    // one quietly.
  }

  void data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) override;
  void gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) override;
  void end(Conn& c, uint64_t ts_ns) override;

 private:
  enum class Step : uint8_t { Message, Skip, NeedMore };
  struct Examined {
    Step step;
    size_t n;  // Message: its size; Skip: bytes to drop; NeedMore: bytes needed in all
  };
  struct Direction {
    std::vector<uint8_t> buf;  // a message split over segments, or bytes being scanned (resync)
    uint64_t skip = 0;         // the rest of a message whose middle was lost in a gap
    bool resync = false;       // looking for the next plausible header
    bool quiet = false;        // the resync follows a gap or a mid-stream start: no weird for it
  };

  void feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts);
  Examined examine(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts);
  bool acceptable(const Header& h) const;
  void datagram(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts);
  void message(Conn& c, bool is_orig, const Header& h, std::span<const uint8_t> body, uint64_t ts);
  void list_identity(Conn& c, const MsgCtx& m, std::span<const uint8_t> body);
  void report_identity(const EnipIdentity& e);
  void list_services(Conn& c, const MsgCtx& m, std::span<const uint8_t> body);
  void send_data(Conn& c, const MsgCtx& m, const Header& h, std::span<const uint8_t> body);
  void cip_top(Conn& c, const MsgCtx& m, const Header& h, std::span<const uint8_t> msg, bool connected);
  Asked cip_request(Conn& c, const MsgCtx& m, std::span<const uint8_t> bytes, int depth, Pending* p);
  void cip_response(Conn& c, const MsgCtx& m, std::span<const uint8_t> bytes, int depth, const Asked* asked,
                    const Pending* p);
  void connection_opened(Conn& c, const MsgCtx& m, const cip::ForwardOpenReply& r, const Pending* p);
  void enip_operation(Conn& c, bool is_orig, const Header& h, std::span<const uint8_t> bytes, uint64_t ts);
  void cip_operation(Conn& c, const MsgCtx& m, const cip::Message& msg, std::span<const uint8_t> bytes,
                     const Asked& a);
  void cip_row(const MsgCtx& m, const cip::Message& msg, const Asked& a);

  // `same` is find()'s answer for the key, which the caller has already asked.
  Pending& insert(Pending* same, bool connected, uint16_t sequence, std::span<const uint8_t> context, uint64_t ts);
  Pending* find(bool connected, uint16_t sequence, std::span<const uint8_t> context);
  void weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl = {});

  AnalyzerContext ctx_;
  bool udp_;
  const EnipOptions& opts_;
  LogWriter logs_;
  Direction dir_[2];  // [0] responder, [1] originator
  std::vector<Pending> pending_;
  uint64_t messages_ = 0;        // correlation id counter
  uint64_t probe_skipped_ = 0;
  uint32_t probe_datagrams_ = 0;
};

std::string hex4(uint32_t v) { return std::string(hex_text(v, 4).view()); }

void EnipAnalyzer::weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl) {
  conn_weird(ctx_, c, is_orig, ts, name, std::move(addl), "enip");
}

void EnipAnalyzer::data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) {
  if (verdict_ == Verdict::Rejected || bytes.empty()) return;
  if (udp_) {
    datagram(c, is_orig, bytes, ts_ns);
    return;
  }
  feed(c, is_orig, bytes, ts_ns);
}

// In step, a header only needs a command in the defined range (known or legacy), a known status and zero
// options (Vol 2 §2-3.1: a receiver discards a message with non-zero options); its length is trusted.
bool EnipAnalyzer::acceptable(const Header& h) const {
  return is_defined_range(h.command) && is_known_status(h.status) && h.options == 0;
}

// Messages straight from the segment when they are whole; through the direction's buffer when split.
void EnipAnalyzer::feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts) {
  Direction& d = dir_[is_orig];
  while (verdict_ != Verdict::Rejected) {
    if (d.skip > 0) {
      if (in.empty()) return;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(d.skip, in.size()));
      d.skip -= n;
      in = in.subspan(n);
      continue;
    }
    if (d.buf.empty()) {
      if (in.empty()) return;
      const Examined e = examine(c, is_orig, in, ts);
      if (e.step == Step::NeedMore) {
        d.buf.assign(in.begin(), in.end());
        return;
      }
      if (e.step == Step::Message) {
        Header h;
        parse_header(in, h);
        message(c, is_orig, h, in.subspan(kHeaderSize, h.length), ts);
      }
      in = in.subspan(e.n);
      continue;
    }
    const Examined e = examine(c, is_orig, d.buf, ts);
    if (e.step == Step::NeedMore) {
      if (in.empty()) return;
      const size_t take = std::min(e.n - d.buf.size(), in.size());
      d.buf.insert(d.buf.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
      in = in.subspan(take);
      continue;
    }
    if (e.step == Step::Message) {
      Header h;
      parse_header(d.buf, h);
      message(c, is_orig, h, std::span<const uint8_t>(d.buf).subspan(kHeaderSize, h.length), ts);
    }
    d.buf.erase(d.buf.begin(), d.buf.begin() + static_cast<std::ptrdiff_t>(e.n));
  }
}

EnipAnalyzer::Examined EnipAnalyzer::examine(Conn& c, bool is_orig, std::span<const uint8_t> b, uint64_t ts) {
  Direction& d = dir_[is_orig];
  if (d.resync) {
    // The next offset where a plausible header starts (Vol 2 §2-3: nothing else marks a message start).
    size_t i = 0;
    for (; i < b.size(); ++i) {
      i = next_command_candidate(b, i);
      if (i == b.size()) break;
      size_t need = 0;
      const Plausible p = plausible_message_start(b.subspan(i), need);
      if (p == Plausible::No) continue;
      if (i > 0) break;
      if (p == Plausible::NeedMore) return {Step::NeedMore, need};
      d.resync = false;
      d.quiet = false;
      break;
    }
    if (d.resync) {
      if (verdict_ == Verdict::Probing) {
        probe_skipped_ += i;
        if (probe_skipped_ > kProbeLimit) verdict_ = Verdict::Rejected;
      }
      return {Step::Skip, std::max<size_t>(i, 1)};
    }
  }
  Header h;
  if (!parse_header(b, h)) return {Step::NeedMore, kHeaderSize};
  if (!acceptable(h)) {
    // Not a header where one should be. Before the flow is confirmed this is a capture that starts
    // mid-stream (or not EtherNet/IP at all: the probe limit decides); after, the stream lost its
    // framing.
    if (verdict_ == Verdict::Confirmed && !d.quiet) {
      weird(c, is_orig, ts, "enip_bad_header",
            "command " + hex4(h.command) + " status " + hex4(h.status) + " options " + hex4(h.options));
    }
    d.resync = true;
    d.quiet = verdict_ != Verdict::Confirmed;
    if (verdict_ == Verdict::Probing && ++probe_skipped_ > kProbeLimit) verdict_ = Verdict::Rejected;
    return {Step::Skip, 1};
  }
  if (b.size() < h.message_size()) return {Step::NeedMore, h.message_size()};
  return {Step::Message, h.message_size()};
}

void EnipAnalyzer::datagram(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts) {
  // Over UDP each datagram carries whole messages (Vol 2 §2-2.2); nothing carries over between them.
  while (!bytes.empty() && verdict_ != Verdict::Rejected) {
    Header h;
    if (!parse_header(bytes, h) || !acceptable(h)) {
      if (verdict_ == Verdict::Confirmed) {
        weird(c, is_orig, ts, "enip_bad_header", std::to_string(bytes.size()) + " bytes");
      } else if (++probe_datagrams_ >= kProbeDatagrams) {
        verdict_ = Verdict::Rejected;
      }
      return;
    }
    std::span<const uint8_t> body = bytes.subspan(kHeaderSize);
    if (body.size() < h.length) {
      weird(c, is_orig, ts, "enip_truncated_message",
            std::to_string(body.size()) + " of " + std::to_string(h.length) + " bytes");
    } else {
      body = body.first(h.length);
    }
    message(c, is_orig, h, body, ts);
    bytes = bytes.subspan(kHeaderSize + body.size());
  }
}

void EnipAnalyzer::gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) {
  if (verdict_ == Verdict::Rejected || udp_) return;
  Direction& d = dir_[is_orig];
  if (d.skip > 0 && len <= d.skip) {
    d.skip -= len;  // inside a message already being dropped: still in step
    return;
  }
  Header h;
  if (!d.resync && d.skip == 0 && !d.buf.empty() && parse_header(d.buf, h) && acceptable(h) &&
      d.buf.size() < h.message_size()) {
    // The gap falls inside a message whose header we have: it is lost, but its length says where the
    // next one starts.
    const uint64_t missing = h.message_size() - d.buf.size();
    weird(c, is_orig, ts_ns, "enip_message_lost_in_gap",
          std::string(enip_command_name(h.command)) + ", " + std::to_string(len) + " bytes missing");
    d.buf.clear();
    if (len < missing) {
      d.skip = missing - len;
      return;
    }
    if (len == missing) return;
  }
  // Somewhere unknown: look for the next plausible header.
  d.buf.clear();
  d.skip = 0;
  d.resync = true;
  d.quiet = true;
}

void EnipAnalyzer::end(Conn& c, uint64_t ts_ns) {
  if (verdict_ != Verdict::Confirmed) return;
  for (int o = 1; o >= 0; --o) {
    const Direction& d = dir_[o];
    if (!d.buf.empty() && !d.resync) weird(c, o == 1, ts_ns, "enip_partial_message_at_end", std::to_string(d.buf.size()) + " bytes");
  }
}

void EnipAnalyzer::message(Conn& c, bool is_orig, const Header& h, std::span<const uint8_t> body, uint64_t ts) {
  if (is_known_command(h.command) && verdict_ == Verdict::Probing) verdict_ = Verdict::Confirmed;
  // The columns know the connection's uid: the correlation id does not hash the key again.
  const MessageColumns& columns = logs_.columns(c, ts, is_orig);
  const CorrelationId corr = make_correlation_id(columns.uid, ++messages_);
  MsgCtx m;
  m.ts_ns = ts;
  m.is_orig = is_orig;
  m.correlation = corr.view();
  m.columns = &columns;

  EnipRow row;
  row.correlation = m.correlation;
  row.command = h.command;
  row.length = h.length;
  row.session = h.session;
  row.status = h.status;
  // parse_header read the context whole.
  std::copy_n(h.sender_context.begin(), std::min(h.sender_context.size(), row.sender_context.size()),
              row.sender_context.begin());
  row.options = h.options;
  logs_.enip(columns, row);

  if (!is_known_command(h.command)) {
    weird(c, is_orig, ts, "enip_unknown_command", hex4(h.command));
    return;
  }
  switch (h.command) {
    case kListIdentity:
      list_identity(c, m, body);
      break;
    case kListServices:
      list_services(c, m, body);
      break;
    case kRegisterSession: {
      RegisterSession rs;
      if (h.status == kSuccess && !parse_register_session(body, rs))
        weird(c, is_orig, ts, "enip_malformed_register_session", std::to_string(body.size()) + " bytes");
      else if (h.status == kSuccess && rs.protocol_version != 1)
        weird(c, is_orig, ts, "enip_unsupported_protocol_version", std::to_string(rs.protocol_version));
      break;
    }
    case kSendRRData:
    case kSendUnitData:
      send_data(c, m, h, body);
      break;
    default:
      break;  // NOP (data ignored, §2-4.1), ListInterfaces, UnRegisterSession, IndicateStatus, Cancel
  }
  enip_operation(c, is_orig, h, body, ts);
}

// ListIdentity: a request has no data; a reply carries the CPF items, CIP Identity first (§2-4.2). The
// reply is read whichever side sent it: a broadcast request's replies come back on flows the device
// opened as far as the flow table can tell.
void EnipAnalyzer::list_identity(Conn& c, const MsgCtx& m, std::span<const uint8_t> body) {
  if (body.empty()) return;
  CpfItems items(body);
  CpfItem it;
  while (items.next(it)) {
    if (it.type != kItemListIdentity) continue;
    Identity id;
    if (!parse_identity(it.data, id)) {
      weird(c, m.is_orig, m.ts_ns, "enip_malformed_identity", std::to_string(it.data.size()) + " bytes");
      continue;
    }
    IdentityRow row;
    row.correlation = m.correlation;
    row.encapsulation_version = id.encapsulation_version;
    row.socket_addr = id.socket.addr;
    row.socket_port = id.socket.port;
    row.vendor_id = id.vendor_id;
    row.device_type = id.device_type;
    row.product_code = id.product_code;
    row.revision_major = id.revision_major;
    row.revision_minor = id.revision_minor;
    row.status = id.status;
    row.serial_number = id.serial_number;
    row.product_name = id.product_name;
    row.state = id.state;
    logs_.cip_identity(*m.columns, row);
    if (opts_.on_identity || ctx_.identities) {
      EnipIdentity e;
      e.ts_ns = m.ts_ns;
      e.conn = &c;
      e.is_orig = m.is_orig;
      e.sender = m.is_orig ? c.id().orig_h : c.id().resp_h;
      e.encapsulation_version = id.encapsulation_version;
      e.socket_addr = id.socket.addr;
      e.socket_port = id.socket.port;
      e.vendor_id = id.vendor_id;
      e.vendor_name = cip_vendor_name(id.vendor_id);
      e.device_type = id.device_type;
      e.device_type_name = cip_device_type_name(id.device_type);
      e.product_code = id.product_code;
      e.revision_major = id.revision_major;
      e.revision_minor = id.revision_minor;
      e.status = id.status;
      e.serial_number = id.serial_number;
      e.product_name = std::string_view(reinterpret_cast<const char*>(id.product_name.data()), id.product_name.size());
      e.state = id.state;
      e.has_state = id.has_state;
      if (opts_.on_identity) opts_.on_identity(e);
      if (ctx_.identities) report_identity(e);
    }
  }
  if (items.error()) weird(c, m.is_orig, m.ts_ns, "enip_malformed_cpf", "ListIdentity");
}

// The identity belongs to the device that sent the reply (the item's socket address is the device's own
// idea of its address: 0.0.0.0 before it is configured, a private one behind NAT). Numbers are written as
// cip_identity.log writes them.
void EnipAnalyzer::report_identity(const EnipIdentity& e) {
  char product_code[8], firmware[8], vendor[24], device_type[24];
  std::snprintf(product_code, sizeof product_code, "%u", unsigned{e.product_code});
  std::snprintf(firmware, sizeof firmware, "%u.%u", unsigned{e.revision_major}, unsigned{e.revision_minor});
  const HexText serial = hex_text(e.serial_number, 8);
  std::snprintf(vendor, sizeof vendor, "CIP vendor %u", unsigned{e.vendor_id});
  std::snprintf(device_type, sizeof device_type, "CIP device type %u", unsigned{e.device_type});
  ctx_.identities->on_identity(
      {.ts_ns = e.ts_ns, .protocol = Protocol::Enip, .conn = e.conn, .device = e.sender, .vendor_id = e.vendor_id,
       .vendor = e.vendor_name.empty() ? std::string_view(vendor) : e.vendor_name, .model = e.product_name,
       .product_code = product_code, .firmware = firmware, .serial = serial.view(),
       .device_type = e.device_type_name.empty() ? std::string_view(device_type) : e.device_type_name});
}

void EnipAnalyzer::list_services(Conn& c, const MsgCtx& m, std::span<const uint8_t> body) {
  if (body.empty()) return;
  CpfItems items(body);
  CpfItem it;
  while (items.next(it)) {
    ServiceItem s;
    if (it.type == kItemListServices && !parse_service_item(it.data, s))
      weird(c, m.is_orig, m.ts_ns, "enip_malformed_service_item", std::to_string(it.data.size()) + " bytes");
  }
  if (items.error()) weird(c, m.is_orig, m.ts_ns, "enip_malformed_cpf", "ListServices");
}

// SendRRData / SendUnitData (§2-4.7, §2-4.8): an address item, then the data item with the CIP message.
void EnipAnalyzer::send_data(Conn& c, const MsgCtx& msg, const Header& h, std::span<const uint8_t> body) {
  SendData sd;
  if (!parse_send_data(body, sd)) {
    // An error reply may come without data (§2-3.3).
    if (h.status == kSuccess || !body.empty())
      weird(c, msg.is_orig, msg.ts_ns, "enip_malformed_send_data", std::to_string(body.size()) + " bytes");
    return;
  }
  CpfItems items(sd.cpf);
  CpfItem it;
  bool unknown = false;
  while (items.next(it)) {
    switch (it.type) {
      case kItemNullAddress:
      case kItemSockaddrOT:
      case kItemSockaddrTO:
        break;
      case kItemConnectedAddress: {
        uint32_t id = 0;
        if (!parse_connected_address(it.data, id))
          weird(c, msg.is_orig, msg.ts_ns, "enip_malformed_cpf", "connected address item");
        break;
      }
      case kItemSequencedAddress: {
        SequencedAddress a;
        if (!parse_sequenced_address(it.data, a))
          weird(c, msg.is_orig, msg.ts_ns, "enip_malformed_cpf", "sequenced address item");
        break;
      }
      case kItemUnconnectedData:
        cip_top(c, msg, h, it.data, false);
        break;
      case kItemConnectedData: {
        ConnectedData cd;
        if (!parse_connected_data(it.data, cd)) {
          weird(c, msg.is_orig, msg.ts_ns, "enip_malformed_cpf", "connected data item");
          break;
        }
        MsgCtx m = msg;
        m.sequence = cd.sequence_count;
        cip_top(c, m, h, cd.message, true);
        break;
      }
      default:
        if (!unknown) weird(c, msg.is_orig, msg.ts_ns, "enip_unknown_cpf_item", hex4(it.type));
        unknown = true;
        break;
    }
  }
  if (items.error()) weird(c, msg.is_orig, msg.ts_ns, "enip_malformed_cpf", std::string(enip_command_name(h.command)));
}

void EnipAnalyzer::cip_top(Conn& c, const MsgCtx& m, const Header& h, std::span<const uint8_t> msg, bool connected) {
  if (msg.empty()) {
    weird(c, m.is_orig, m.ts_ns, "cip_empty_message");
    return;
  }
  const uint16_t seq = m.sequence >= 0 ? static_cast<uint16_t>(m.sequence) : 0;
  if (msg[0] & cip::kReplyBit) {
    Pending* p = find(connected, seq, h.sender_context);
    const Asked* asked = nullptr;
    const uint8_t code = msg[0] & 0x7F;
    if (p && p->inner.valid && p->inner.service == code) asked = &p->inner;
    else if (p && p->outer.valid && p->outer.service == code) asked = &p->outer;
    // An Unconnected Send carrying a Read Tag Fragmented (both 0x52): general status 0x01 (connection
    // failure) is the Connection Manager's routing error reply (§3-5.5), not the tag read's.
    if (p && asked == &p->inner && p->outer.service == cip::kUnconnectedSend &&
        p->outer.target == cip::Target::ConnectionManager && code == cip::kUnconnectedSend && msg.size() > 2 &&
        msg[2] == 0x01)
      asked = &p->outer;
    cip_response(c, m, msg, 0, asked, asked == (p ? &p->inner : nullptr) ? p : nullptr);
    if (p) p->used = false;
    return;
  }
  Pending* open = find(connected, seq, h.sender_context);
  if (open && open->is_orig != m.is_orig) {
    // The other side's request is pending under this key, and this message answers it without the
    // reply bit (Vol 1 §2-4.2 requires it): logged as the bytes say, flagged.
    weird(c, m.is_orig, m.ts_ns, "cip_reply_without_reply_bit", hex4(msg[0]));
    open->used = false;
    cip_request(c, m, msg, 0, nullptr);
    return;
  }
  Pending& p = insert(open, connected, seq, h.sender_context, m.ts_ns);
  p.is_orig = m.is_orig;
  p.outer = cip_request(c, m, msg, 0, &p);
}

Asked EnipAnalyzer::cip_request(Conn& c, const MsgCtx& m, std::span<const uint8_t> bytes, int depth, Pending* p) {
  Asked a;
  if (depth > kMaxDepth) {
    weird(c, m.is_orig, m.ts_ns, "cip_nesting_too_deep");
    return a;
  }
  cip::Message msg;
  const cip::MessageStatus st = cip::parse_message(bytes, msg);
  if (st == cip::MessageStatus::Empty) {
    weird(c, m.is_orig, m.ts_ns, "cip_empty_message");
    return a;
  }
  if (msg.is_response) {
    // A reply inside a request (a Multiple Service Packet mixing them): logged as what it is.
    cip_response(c, m, bytes, depth, nullptr, nullptr);
    return a;
  }
  const cip::Request& rq = msg.request;
  a.valid = true;
  a.service = rq.service;
  a.target = cip::target_of(rq.path);
  a.class_id = rq.path.class_id;
  a.instance_id = rq.path.instance_id;
  a.attribute_id = rq.path.attribute_id;
  if (st == cip::MessageStatus::Truncated) weird(c, m.is_orig, m.ts_ns, "cip_truncated_request", hex4(rq.service));
  else if (st == cip::MessageStatus::BadPath) weird(c, m.is_orig, m.ts_ns, "cip_malformed_path", hex4(rq.service));
  cip_row(m, msg, a);
  cip_operation(c, m, msg, bytes, a);
  if (st == cip::MessageStatus::Truncated) return a;
  if (p) {
    p->inner = a;
    p->children = 0;
  }

  if (rq.service == cip::kMultipleServicePacket) {
    cip::MultipleServices services(rq.data);
    std::span<const uint8_t> one;
    while (services.next(one)) {
      const Asked child = cip_request(c, m, one, depth + 1, nullptr);
      if (p && p->children < kMaxChildren) p->child[p->children++] = child;
    }
    if (services.error()) weird(c, m.is_orig, m.ts_ns, "cip_malformed_multiple_service_packet");
  } else if (a.target == cip::Target::ConnectionManager) {
    switch (rq.service) {
      case cip::kUnconnectedSend: {
        cip::UnconnectedSend u;
        if (!cip::parse_unconnected_send(rq.data, u)) {
          weird(c, m.is_orig, m.ts_ns, "cip_malformed_unconnected_send");
          break;
        }
        // The target answers with the embedded request's reply (§3-5.5, Unconnected_Send): pair with it.
        cip_request(c, m, u.request, depth + 1, p);
        break;
      }
      case cip::kForwardOpen:
      case cip::kLargeForwardOpen: {
        cip::ForwardOpenRequest fo;
        if (!cip::parse_forward_open_request(rq.data, rq.service == cip::kLargeForwardOpen, fo)) {
          weird(c, m.is_orig, m.ts_ns, "cip_malformed_forward_open");
          break;
        }
        if (p) {
          p->open.valid = true;
          p->open.large = fo.large;
          p->open.to_connection_id = fo.to_connection_id;
          p->open.triad = fo.triad;
          p->open.ot_rpi_us = fo.ot_rpi_us;
          p->open.to_rpi_us = fo.to_rpi_us;
          p->open.transport_trigger = fo.transport_trigger;
        }
        break;
      }
      case cip::kForwardClose: {
        cip::ForwardCloseRequest fc;
        if (!cip::parse_forward_close_request(rq.data, fc)) weird(c, m.is_orig, m.ts_ns, "cip_malformed_forward_close");
        break;
      }
      default:
        break;
    }
  }
  return a;
}

void EnipAnalyzer::cip_response(Conn& c, const MsgCtx& m, std::span<const uint8_t> bytes, int depth,
                                const Asked* asked, const Pending* p) {
  if (depth > kMaxDepth) {
    weird(c, m.is_orig, m.ts_ns, "cip_nesting_too_deep");
    return;
  }
  cip::Message msg;
  const cip::MessageStatus st = cip::parse_message(bytes, msg);
  if (st == cip::MessageStatus::Empty) {
    weird(c, m.is_orig, m.ts_ns, "cip_empty_message");
    return;
  }
  if (!msg.is_response) {
    cip_request(c, m, bytes, depth, nullptr);
    return;
  }
  const cip::Response& rs = msg.response;
  const uint8_t code = rs.service & 0x7F;
  Asked a;
  if (asked && asked->valid && asked->service == code) {
    a = *asked;
  } else {
    a.valid = true;
    a.service = code;
    // An unpaired reply: Unconnected Send only comes back as itself when routing failed (§3-5.5).
    a.target = code == cip::kUnconnectedSend ? cip::Target::ConnectionManager : cip::Target::Unknown;
  }
  if (st == cip::MessageStatus::Truncated) weird(c, m.is_orig, m.ts_ns, "cip_truncated_response", hex4(rs.service));
  cip_row(m, msg, a);
  cip_operation(c, m, msg, bytes, a);
  if (st == cip::MessageStatus::Truncated) return;

  if (code == cip::kMultipleServicePacket) {
    // A failed Multiple Service Packet may carry no service list at all.
    if (rs.data.empty()) return;
    cip::MultipleServices services(rs.data);
    std::span<const uint8_t> one;
    while (services.next(one)) {
      const uint16_t i = static_cast<uint16_t>(services.index() - 1);
      const Asked* child = p && i < p->children ? &p->child[i] : nullptr;
      cip_response(c, m, one, depth + 1, child, nullptr);
    }
    if (services.error()) weird(c, m.is_orig, m.ts_ns, "cip_malformed_multiple_service_packet");
    return;
  }
  const bool cm = a.target == cip::Target::ConnectionManager || a.target == cip::Target::Unknown;
  if (!cm || rs.general_status != 0) return;
  if (code == cip::kForwardOpen || code == cip::kLargeForwardOpen) {
    cip::ForwardOpenReply r;
    if (!cip::parse_forward_open_reply(rs.data, r)) {
      weird(c, m.is_orig, m.ts_ns, "cip_malformed_forward_open_reply");
      return;
    }
    connection_opened(c, m, r, p);
  } else if (code == cip::kForwardClose) {
    cip::ForwardCloseReply r;
    if (!cip::parse_forward_close_reply(rs.data, r)) {
      weird(c, m.is_orig, m.ts_ns, "cip_malformed_forward_close_reply");
      return;
    }
    worker_connections().close(r.triad, c.id().orig_h, c.id().resp_h);
  }
}

void EnipAnalyzer::connection_opened(Conn& c, const MsgCtx& m, const cip::ForwardOpenReply& r, const Pending* p) {
  CipConnection k;
  k.ot_connection_id = r.ot_connection_id;
  k.to_connection_id = r.to_connection_id;
  k.triad = r.triad;
  k.ot_api_us = r.ot_api_us;
  k.to_api_us = r.to_api_us;
  if (p && p->open.valid && p->open.triad == r.triad) {
    k.ot_rpi_us = p->open.ot_rpi_us;
    k.to_rpi_us = p->open.to_rpi_us;
    k.transport_trigger = p->open.transport_trigger;
    k.large = p->open.large;
  }
  // The reply travels target → originator.
  k.originator = m.is_orig ? c.id().resp_h : c.id().orig_h;
  k.target = m.is_orig ? c.id().orig_h : c.id().resp_h;
  k.opened_on = c.uid();
  k.opened_ns = m.ts_ns;
  k.last_seen_ns = m.ts_ns;
  worker_connections().open(k);
}

void EnipAnalyzer::cip_row(const MsgCtx& m, const cip::Message& msg, const Asked& a) {
  if (!logs_.wants(kLogCip)) return;
  CipRow row;
  row.correlation = m.correlation;
  row.sequence_count = m.sequence;
  row.response = msg.is_response;
  row.service = msg.service() & 0x7F;
  row.service_name = cip_service_name(row.service, a.target);
  if (msg.is_response) {
    row.status = msg.response.general_status;
    row.extended_status = msg.response.extended_status();
  } else {
    row.class_id = msg.request.path.class_id;
    row.instance_id = msg.request.path.instance_id;
    row.attribute_id = msg.request.path.attribute_id;
  }
  logs_.cip(*m.columns, row);
}

void EnipAnalyzer::cip_operation(Conn& c, const MsgCtx& m, const cip::Message& msg, std::span<const uint8_t> bytes,
                                 const Asked& a) {
  if (!ctx_.ops) return;
  if (!ctx_.ops->wants_events()) return ctx_.ops->count_operation();
  OperationEvent ev;
  ev.ts_ns = m.ts_ns;
  ev.conn = &c;
  ev.is_orig = m.is_orig;
  ev.is_request = !msg.is_response;
  ev.protocol = Protocol::Cip;
  ev.code = msg.service() & 0x7F;
  const uint8_t code = static_cast<uint8_t>(ev.code);
  const CipService& service = cip_service(code, a.target);
  ev.name = service.snake;
  ev.op_class = service.op;
  ev.read_only = service.read_only;
  ev.wrapper = service.wrapper;
  ev.cip_class = a.class_id >= 0 ? static_cast<int32_t>(std::min<int64_t>(a.class_id, INT32_MAX)) : -1;
  ev.cip_instance = a.instance_id >= 0 ? static_cast<int32_t>(std::min<int64_t>(a.instance_id, INT32_MAX)) : -1;
  ev.cip_attribute = a.attribute_id >= 0 ? static_cast<int32_t>(std::min<int64_t>(a.attribute_id, INT32_MAX)) : -1;
  if (msg.is_response && msg.response.general_status != 0) ev.exception = msg.response.general_status;
  ev.pdu = bytes;
  ctx_.ops->on_operation(ev);
}

void EnipAnalyzer::enip_operation(Conn& c, bool is_orig, const Header& h, std::span<const uint8_t> body,
                                  uint64_t ts) {
  if (!ctx_.ops) return;
  bool request = true;
  OpClass op = OpClass::Other;
  switch (h.command) {
    case kListIdentity:
    case kListServices:
    case kListInterfaces:
      request = body.empty();  // replies carry their items (§2-4.2, §2-4.3, §2-4.6)
      op = OpClass::Read;
      break;
    case kRegisterSession:
      request = h.session == 0;  // the reply carries the handle the target assigned (§2-4.4)
      break;
    case kNop:
    case kUnRegisterSession:
      break;  // never answered (§2-4.1, §2-4.5)
    default:
      return;  // SendRRData/SendUnitData: the CIP inside is the operation; others carry nothing known
  }
  if (!ctx_.ops->wants_events()) return ctx_.ops->count_operation();
  OperationEvent ev;
  ev.ts_ns = ts;
  ev.conn = &c;
  ev.is_orig = is_orig;
  ev.is_request = request;
  ev.protocol = Protocol::Enip;
  ev.code = h.command;
  ev.name = enip_command_snake_name(h.command);
  ev.op_class = op;
  ev.read_only = true;
  if (h.status != kSuccess) ev.exception = static_cast<int32_t>(std::min<uint32_t>(h.status, INT32_MAX));
  ev.pdu = body;
  ctx_.ops->on_operation(ev);
}

Pending& EnipAnalyzer::insert(Pending* same, bool connected, uint16_t sequence, std::span<const uint8_t> context,
                              uint64_t ts) {
  // A request with the same key replaces one that was never answered.
  Pending* slot = same;
  if (!slot) {
    for (Pending& e : pending_) {
      if (!e.used) {
        slot = &e;
        break;
      }
    }
  }
  if (!slot) {
    if (pending_.size() < std::max<uint32_t>(opts_.max_pending, 1)) {
      pending_.emplace_back();
      slot = &pending_.back();
    } else {
      slot = &*std::min_element(pending_.begin(), pending_.end(),
                                [](const Pending& x, const Pending& y) { return x.ts_ns < y.ts_ns; });
    }
  }
  slot->restart();
  slot->used = true;
  slot->connected = connected;
  slot->sequence = sequence;
  if (context.size() == slot->context.size()) std::memcpy(slot->context.data(), context.data(), context.size());
  slot->ts_ns = ts;
  return *slot;
}

Pending* EnipAnalyzer::find(bool connected, uint16_t sequence, std::span<const uint8_t> context) {
  Pending* best = nullptr;
  for (Pending& e : pending_) {
    if (!e.used || e.connected != connected) continue;
    if (connected ? e.sequence != sequence
                  : (context.size() != e.context.size() ||
                     std::memcmp(context.data(), e.context.data(), context.size()) != 0))
      continue;
    if (!best || e.ts_ns < best->ts_ns) best = &e;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------
// CIP class 0/1 I/O on UDP 2222 (Vol 2 §3-2.2)
// ---------------------------------------------------------------------------------------------------

class CipIoAnalyzer final : public Analyzer {
 public:
  CipIoAnalyzer(const AnalyzerContext& ctx, const EnipOptions& opts)
      : ctx_(ctx), opts_(opts), logs_(ctx.logs, ctx.log_ids) {}

  void data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) override {
    if (verdict_ == Verdict::Rejected) return;
    IoPacket p;
    const IoStatus st = parse_io_packet(bytes, p);
    if (st != IoStatus::Ok) {
      if (verdict_ == Verdict::Confirmed) {
        weird(c, is_orig, ts_ns, st == IoStatus::Truncated ? "cip_io_truncated" : "cip_io_malformed");
      } else if (++bad_ >= kProbeDatagrams) {
        verdict_ = Verdict::Rejected;
      }
      return;
    }
    verdict_ = Verdict::Confirmed;
    const MessageColumns& columns = logs_.columns(c, ts_ns, is_orig);
    const CorrelationId corr = make_correlation_id(columns.uid, ++packets_);
    CipIoRow row;
    row.correlation = corr.view();
    row.connection_id = p.connection_id;
    row.sequence = p.sequence;
    row.data = p.data;
    logs_.cip_io(columns, row);
    bind(c, p.connection_id, ts_ns);
  }
  void gap(Conn&, bool, uint64_t, uint64_t) override {}
  void end(Conn&, uint64_t) override {}

 private:
  // Ties a connection id to the Forward Open that created it, once per id and flow (a flow carries one
  // id per direction, a few with multicast). An id the table does not know (the capture began after the
  // Forward Open) is looked up again at most once a second, not on every packet.
  void bind(Conn& c, uint32_t id, uint64_t ts) {
    Seen* seen = nullptr;
    for (Seen& s : seen_) {
      if (s.id == id) seen = &s;
    }
    if (seen && (seen->bound || ts < seen->last_try_ns + kRetryNs)) return;
    if (!seen) {
      if (seen_.size() >= kMaxIds) return;
      seen_.push_back(Seen{id, false, ts});
      seen = &seen_.back();
    }
    seen->last_try_ns = ts;
    CipConnection* k = worker_connections().find(id, c.id().orig_h, c.id().resp_h, ts);
    if (!k) return;
    seen->bound = true;
    if (!opts_.on_io_binding) return;
    CipIoBinding b;
    b.ts_ns = ts;
    b.io_conn = &c;
    b.connection_id = id;
    b.connection = k;
    opts_.on_io_binding(b);
  }

  struct Seen {
    uint32_t id = 0;
    bool bound = false;
    uint64_t last_try_ns = 0;
  };
  static constexpr size_t kMaxIds = 8;
  static constexpr uint64_t kRetryNs = 1'000'000'000ull;

  void weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name) {
    conn_weird(ctx_, c, is_orig, ts, name, {}, "cip");
  }

  AnalyzerContext ctx_;
  const EnipOptions& opts_;
  LogWriter logs_;
  std::vector<Seen> seen_;
  uint64_t packets_ = 0;
  uint32_t bad_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The per-worker connection table
// ---------------------------------------------------------------------------------------------------

namespace enip {

namespace {
bool same_pair(const CipConnection& k, const IpAddr& a, const IpAddr& b) {
  return (k.originator == a && k.target == b) || (k.originator == b && k.target == a);
}
}  // namespace

void ConnectionTable::open(const CipConnection& c) {
  if (!slots_) slots_ = std::make_unique<Slot[]>(kMaxConnections);
  Slot* free_slot = nullptr;
  Slot* oldest = nullptr;
  for (size_t i = 0; i < kMaxConnections; ++i) {
    Slot& s = slots_[i];
    if (s.used && s.c.triad == c.triad && same_pair(s.c, c.originator, c.target)) {
      s.c = c;  // a re-open of the same connection
      return;
    }
    if (!s.used && !free_slot) free_slot = &s;
    if (s.used && (!oldest || s.c.last_seen_ns < oldest->c.last_seen_ns)) oldest = &s;
  }
  Slot* s = free_slot ? free_slot : oldest;
  if (!s->used) ++used_;
  s->used = true;
  s->c = c;
}

size_t ConnectionTable::close(const cip::ConnectionTriad& triad, const IpAddr& a, const IpAddr& b) {
  if (!slots_) return 0;
  size_t n = 0;
  for (size_t i = 0; i < kMaxConnections; ++i) {
    Slot& s = slots_[i];
    if (s.used && s.c.triad == triad && same_pair(s.c, a, b)) {
      s.used = false;
      --used_;
      ++n;
    }
  }
  return n;
}

CipConnection* ConnectionTable::find(uint32_t connection_id, const IpAddr& a, const IpAddr& b, uint64_t now_ns) {
  if (!slots_ || used_ == 0) return nullptr;
  for (size_t i = 0; i < kMaxConnections; ++i) {
    Slot& s = slots_[i];
    if (!s.used || (s.c.ot_connection_id != connection_id && s.c.to_connection_id != connection_id)) continue;
    // Multicast T->O data goes to a group address: the producing target is enough then.
    if (!same_pair(s.c, a, b) && !(b.is_multicast_or_broadcast() && (s.c.target == a || s.c.originator == a)))
      continue;
    s.c.last_seen_ns = std::max(s.c.last_seen_ns, now_ns);
    return &s.c;
  }
  return nullptr;
}

void ConnectionTable::clear() {
  slots_.reset();
  used_ = 0;
}

ConnectionTable& worker_connections() {
  thread_local ConnectionTable table;
  return table;
}

}  // namespace enip

EnipOptions& enip_module_options() {
  static EnipOptions opts;
  return opts;
}

std::unique_ptr<Analyzer> make_enip_analyzer(const AnalyzerContext& ctx, Transport transport, const EnipOptions& opts) {
  return std::make_unique<EnipAnalyzer>(ctx, transport, opts);
}

std::unique_ptr<Analyzer> make_cip_io_analyzer(const AnalyzerContext& ctx, const EnipOptions& opts) {
  return std::make_unique<CipIoAnalyzer>(ctx, opts);
}

namespace {

constexpr uint16_t kEnipPorts[] = {44818};
constexpr uint16_t kIoPorts[] = {2222};

std::unique_ptr<Analyzer> create_enip(const AnalyzerContext& ctx, Transport transport) {
  if (transport != Transport::Tcp && transport != Transport::Udp) return nullptr;
  return make_enip_analyzer(ctx, transport, enip_module_options());
}

std::unique_ptr<Analyzer> create_cip_io(const AnalyzerContext& ctx, Transport transport) {
  if (transport != Transport::Udp) return nullptr;
  return make_cip_io_analyzer(ctx, enip_module_options());
}

}  // namespace

const DissectorModule kEnipModule{
    Protocol::Enip, "enip", kEnipPorts, kEnipPorts, std::span<const LogSchema* const>(enip::kLogSchemas),
    &create_enip,
};

const DissectorModule kCipIoModule{
    Protocol::Cip, "cip", {}, kIoPorts, std::span<const LogSchema* const>(enip::kIoLogSchemas), &create_cip_io,
};

}  // namespace ots
