// The Modbus/TCP analyzer: frames ADUs out of each direction's byte stream, pairs responses with requests
// by transaction id, writes the logs and emits operation events. The wire grammar is modbus_parser.cpp's.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dissectors/modbus/modbus.hpp"
#include "dissectors/modbus/modbus_logs.hpp"

namespace ots {
namespace {

using namespace modbus;

// One direction's framing state. The buffer holds at most one partial ADU in normal operation; while
// resynchronising it holds the bytes being scanned, so it is a little larger than an ADU to always leave
// room for the next header's protocol id that plausible_adu_start looks at.
struct Direction {
  std::array<uint8_t, kMaxAdu + 8> buf;
  size_t len = 0;
  uint64_t skip = 0;    // bytes of a PDU whose start was lost in a gap, to drop before the next header
  bool resync = false;  // looking for the next plausible header
};

// A request awaiting its response. The PDU is kept so the response can be logged with it (modbus_detailed
// pairs them) and the response's operation event can carry the request's target.
struct Pending {
  bool used = false;
  bool paired = false;  // ICSNPP logs this function as a request/response pair
  bool has_link = false;
  uint16_t tid = 0;
  uint8_t unit = 0;
  uint8_t len = 0;
  uint64_t ts_ns = 0;
  std::array<char, 16> link{};
  std::array<uint8_t, kMaxPdu> pdu;
  std::span<const uint8_t> bytes() const { return {pdu.data(), len}; }
  std::string_view link_id() const { return {link.data(), link.size()}; }
  // A slot taken for a new request. Field by field: `Pending{}` zeroes the PDU and link buffers too
  // (rep stos, then the copy), for bytes that len and has_link keep from being read.
  void take() {
    used = true;
    paired = false;
    has_link = false;
    tid = 0;
    unit = 0;
    len = 0;
    ts_ns = 0;
  }
};

// Functions ICSNPP pairs in modbus_detailed.log; the others get one row per message.
bool paired_function(uint8_t fc) {
  switch (fc) {
    case kReadCoils: case kReadDiscreteInputs: case kReadHoldingRegisters: case kReadInputRegisters:
    case kWriteSingleCoil: case kWriteSingleRegister: case kDiagnostics: case kWriteMultipleCoils:
    case kWriteMultipleRegisters: case kReadFileRecord: case kWriteFileRecord: case kMaskWriteRegister:
    case kReadWriteMultipleRegisters: case kReadFifoQueue: case kEncapsulatedInterfaceTransport:
      return true;
    default:
      return false;
  }
}

// ICSNPP's diagnostic_subfunction_code (scripts/consts.zeek), "unknown-N" otherwise.
std::string_view diagnostic_name(int32_t sub, std::string& scratch) {
  switch (sub) {
    case 0x00: return "Return Query Data";
    case 0x01: return "Restart Communications Option";
    case 0x02: return "Return Diagnostic Register";
    case 0x03: return "Change ASCII Input Delimiter";
    case 0x04: return "Force Listen Only Mode";
    case 0x0A: return "Clear Counters and Diagnostic Register";
    case 0x0B: return "Return Bus Message Count";
    case 0x0C: return "Return Bus Communication Error Count";
    case 0x0D: return "Return Bus Exception Error Count";
    case 0x0E: return "Return Server Message Count";
    case 0x0F: return "Return Server No Response Count";
    case 0x10: return "Return Server NAK Count";
    case 0x11: return "Return Server Busy Count";
    case 0x12: return "Return Bus Character Overrun Count";
    case 0x14: return "Clear Overrun Counter and Flag";
    default:
      scratch = "unknown-" + std::to_string(sub);
      return scratch;
  }
}

// ICSNPP's mei_type text; its request and response wording differ for unknown MEI types ("ox" included).
std::string mei_text(int32_t mei, bool request) {
  if (mei == kMeiCanopen) return "CANopen";
  if (mei == kMeiReadDeviceId) return "Read Device Identification";
  static constexpr char kDigits[] = "0123456789abcdef";
  const char hex[3] = {kDigits[(mei >> 4) & 0xF], kDigits[mei & 0xF], 0};
  return std::string(request ? "invalid encapsulated interface transport mei-(0x"
                             : "unknown encapsulated interface transport mei-(ox") +
         hex + ")";
}

std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Zeek's fmt("%s") of its ModbusFileRecordResponse / ModbusFileReference records, joined with " | " as
// ICSNPP writes response_data.
std::string file_records_text(const Pdu& p) {
  std::string out;
  FileRecords recs(p.data, p.function == kWriteFileRecord);
  FileRecord r;
  while (recs.next(r)) {
    if (!out.empty()) out += " | ";
    if (p.function == kWriteFileRecord) {
      out += "[ref_type=" + std::to_string(r.ref_type) + ", file_num=" + std::to_string(r.file_number) +
             ", record_num=" + std::to_string(r.record_number) + ", record_len=" + std::to_string(r.record_length) +
             ", record_data=";
    } else {
      out += "[file_len=" + std::to_string(r.record_length) + ", ref_type=" + std::to_string(r.ref_type) +
             ", record_data=";
    }
    out.append(as_text(r.data));
    out += "]";
  }
  return out;
}

// 0x80 in each byte of w that is zero, 0 in the others (exact: no carry crosses a byte).
constexpr uint64_t zero_bytes(uint64_t w) {
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7full;
  return ~(((w & kLow7) + kLow7) | w | kLow7);
}

// The first offset at or after `i` that the resynchronisation scan must look at closely: one whose bytes
// 2-4 (protocol id and the length's high byte) are zero and whose byte 5 is 2..254, as every ADU's are
// (2 <= length <= 254). Eight bytes at a time while ten are left, five offsets a word: a scan after a gap
// runs over every byte of the segments until a header turns up, and register data is mostly zeros, so a
// test of the zeros alone would stop nearly everywhere. The last offsets are left to the scan's own
// checks. Exact: an offset skipped here is one the scan would refuse at its first checks.
size_t next_candidate(std::span<const uint8_t> b, size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  while (i + 10 <= b.size()) {
    uint64_t w;
    std::memcpy(&w, b.data() + i + 2, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);  // byte k of w: b[i + 2 + k]
    const uint64_t zero = zero_bytes(w);
    const uint64_t length_ok = ~(zero | zero_bytes(w ^ kOnes) | zero_bytes(~w)) & kHigh;  // bytes 2..254
    // Offset i + k: bytes k, k + 1 and k + 2 of w zero, byte k + 3 in range (k = 0..4).
    const uint64_t at = zero & (zero >> 8) & (zero >> 16) & (length_ok >> 24) & 0x0000008080808080ull;
    if (at != 0) return i + static_cast<size_t>(__builtin_ctzll(at)) / 8;
    i += 5;
  }
  return i;
}

struct ResyncStop {
  size_t offset;
  Plausible found;
};

// Where the resynchronisation scan of `b` (at least one byte) stops: at the first offset where
// plausible_adu_start says Yes or NeedMore. It refuses a nonzero protocol id (bytes 2-3), then a length
// field (bytes 4-5) out of range, before anything else, and most offsets fail there, so the scan tests
// both without the call: a word at a time while ten bytes are left (next_candidate), then offset by
// offset. Short of a header (under seven bytes) it says NeedMore unless a protocol id byte that is there
// is not zero; every scan of a segment that holds no header ends so, hence that too is decided here.
ResyncStop resync_scan(std::span<const uint8_t> b) {
  const size_t n = b.size();
  size_t i = 0;
  for (;; ++i) {
    i = next_candidate(b, i);
    if (n - i < kMbapSize) break;
    if ((b[i + 2] | b[i + 3]) != 0) continue;
    const unsigned length = static_cast<unsigned>(b[i + 4]) << 8 | b[i + 5];
    if (length < kMinLength || length > kMaxLength) continue;
    const Plausible p = plausible_adu_start(b.subspan(i));
    if (p != Plausible::No) return {i, p};
  }
  for (; i < n; ++i) {
    const size_t left = n - i;
    if ((left > 2 && b[i + 2] != 0) || (left > 3 && b[i + 3] != 0)) continue;
    return {i, Plausible::NeedMore};
  }
  return {n, Plausible::No};
}

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class ModbusAnalyzer final : public Analyzer {
 public:
  ModbusAnalyzer(const AnalyzerContext& ctx, const ModbusOptions& opts)
      : ctx_(ctx), opts_(opts), logs_(ctx.logs, ctx.log_ids) {}

  void data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) override;
  void gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) override;
  void end(Conn& c, uint64_t ts_ns) override;

 private:
  void feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts);
  size_t consume_direct(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts);
  void resync_segment(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts);
  void drain(Conn& c, bool is_orig, uint64_t ts);
  bool header_error(Conn& c, bool is_orig, HeaderStatus st, const MbapHeader& h, uint64_t ts);
  void on_adu(Conn& c, bool is_orig, std::span<const uint8_t> adu, uint64_t ts);
  void on_request(Conn& c, const MbapHeader& h, std::span<const uint8_t> pdu, const Pdu& p, uint64_t ts);
  void on_response(Conn& c, const MbapHeader& h, std::span<const uint8_t> pdu, const Pdu& p, uint64_t ts);
  void emit_operation(Conn& c, bool is_orig, uint64_t ts, const MbapHeader& h, std::span<const uint8_t> pdu,
                      const Pdu& p, const Pdu* req);
  void write_pair(Conn& c, const Pending* e, const Pdu* req, const Pdu* resp, uint64_t resp_ts,
                  const MbapHeader* resp_h, std::optional<std::string_view> link);
  void write_message_row(Conn& c, uint64_t ts, const MbapHeader& h, uint8_t function);
  void side_logs(Conn& c, bool is_orig, uint64_t ts, const MbapHeader& h, const Pdu& p, std::string_view link);
  void report_device_identification(Conn& c, uint64_t ts, const MbapHeader& h, const Pdu& p);
  void weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl = {});

  Pending* find(uint16_t tid);
  Pending& insert(Conn& c, uint64_t ts);
  void give_up(Conn& c, Pending& e);
  void expire(Conn& c, uint64_t now);
  void make_link(const Conn& c, std::array<char, 16>& out);

  AnalyzerContext ctx_;
  ConnWeirdMemo weird_memo_;
  const ModbusOptions& opts_;
  LogWriter logs_;
  Direction dir_[2];  // [0] responder, [1] originator
  std::vector<Pending> pending_;  // grows to opts_.max_outstanding at most
  size_t pending_count_ = 0;
  uint64_t link_counter_ = 0;
};

void ModbusAnalyzer::data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) {
  if (verdict_ == Verdict::Rejected || bytes.empty()) return;
  if (pending_count_ > 0) expire(c, ts_ns);
  Direction& d = dir_[is_orig];
  if (d.resync && d.skip == 0 && bytes.size() <= d.buf.size() - d.len && opts_.resync_short_path) {
    return resync_segment(c, is_orig, bytes, ts_ns);
  }
  feed(c, is_orig, bytes, ts_ns);
}

// feed() for a segment that fits the buffer of a direction looking for its next header: appended, then
// drained. A stream that lost its framing can stay so for thousands of segments of a few bytes, and the
// scan finds nothing in nearly all of them (mb100k: 59,000 segments, 6 bytes each mostly): only the bytes
// from where the scan stopped are kept then, as drain() keeps them, without its loop; a header found
// goes to drain(), which scans again from the start and goes on as for any buffered bytes.
void ModbusAnalyzer::resync_segment(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts) {
  Direction& d = dir_[is_orig];
  std::memcpy(d.buf.data() + d.len, bytes.data(), bytes.size());
  d.len += bytes.size();
  const auto [off, found] = resync_scan({d.buf.data(), d.len});
  if (found == Plausible::Yes) return drain(c, is_orig, ts);
  std::memmove(d.buf.data(), d.buf.data() + off, d.len - off);
  d.len -= off;
}

void ModbusAnalyzer::feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts) {
  Direction& d = dir_[is_orig];
  while (!in.empty() && verdict_ != Verdict::Rejected) {
    if (d.skip > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(d.skip, in.size()));
      d.skip -= n;
      in = in.subspan(n);
      continue;
    }
    if (d.len == 0 && !d.resync) {
      // The common case: whole ADUs straight from the segment, no copy.
      const size_t used = consume_direct(c, is_orig, in, ts);
      in = in.subspan(used);
      if (in.empty() || verdict_ == Verdict::Rejected) return;
      if (d.resync) continue;
      // An ADU continues in the next segment: keep its start (less than one ADU).
      std::memcpy(d.buf.data(), in.data(), in.size());
      d.len = in.size();
      return;
    }
    const size_t n = std::min(d.buf.size() - d.len, in.size());
    std::memcpy(d.buf.data() + d.len, in.data(), n);
    d.len += n;
    in = in.subspan(n);
    drain(c, is_orig, ts);
  }
}

// Handles the complete ADUs at the start of `in`; returns the bytes used. Stops at an incomplete ADU, or
// after a bad header (resync then starts one byte further on).
size_t ModbusAnalyzer::consume_direct(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts) {
  size_t off = 0;
  while (off < in.size()) {
    const auto rest = in.subspan(off);
    MbapHeader h;
    const HeaderStatus st = parse_mbap(rest, h);
    if (st == HeaderStatus::NeedMore) return off;
    if (st != HeaderStatus::Ok) {
      if (!header_error(c, is_orig, st, h, ts)) return in.size();
      return off + 1;
    }
    if (rest.size() < h.adu_size()) return off;
    on_adu(c, is_orig, rest.first(h.adu_size()), ts);
    if (verdict_ == Verdict::Rejected) return in.size();
    off += h.adu_size();
  }
  return off;
}

// Works through the buffered bytes: resynchronisation scan, then complete ADUs; keeps the remainder.
void ModbusAnalyzer::drain(Conn& c, bool is_orig, uint64_t ts) {
  Direction& d = dir_[is_orig];
  size_t off = 0;
  while (off < d.len && verdict_ != Verdict::Rejected) {
    const std::span<const uint8_t> rest(d.buf.data() + off, d.len - off);
    if (d.resync) {
      // After a gap or a bad header: the next offset where a plausible ADU starts.
      const auto [i, found] = resync_scan(rest);
      off += i;
      if (found != Plausible::Yes) break;  // nothing yet, or a candidate needing more bytes
      d.resync = false;
      continue;
    }
    MbapHeader h;
    const HeaderStatus st = parse_mbap(rest, h);
    if (st == HeaderStatus::NeedMore) break;
    if (st != HeaderStatus::Ok) {
      if (!header_error(c, is_orig, st, h, ts)) return;
      off += 1;
      continue;
    }
    if (rest.size() < h.adu_size()) break;
    on_adu(c, is_orig, rest.first(h.adu_size()), ts);
    off += h.adu_size();
  }
  if (verdict_ == Verdict::Rejected) {
    d.len = 0;
    return;
  }
  off = std::min(off, d.len);
  std::memmove(d.buf.data(), d.buf.data() + off, d.len - off);
  d.len -= off;
}

// A header that is not Modbus. Before the flow is confirmed this means the flow is not Modbus at all
// (zeek/zeek#3962: non-Modbus traffic on 502 must not become modbus.log rows); after, the stream lost its
// framing and we resynchronise. Returns false when the flow is rejected.
bool ModbusAnalyzer::header_error(Conn& c, bool is_orig, HeaderStatus st, const MbapHeader& h, uint64_t ts) {
  if (st == HeaderStatus::BadProtocolId) {
    weird(c, is_orig, ts, "modbus_bad_protocol_id", "protocol id " + std::to_string(h.protocol_id));
  } else {
    weird(c, is_orig, ts, "modbus_bad_length", "length " + std::to_string(h.length));
  }
  if (verdict_ == Verdict::Probing) {
    verdict_ = Verdict::Rejected;
    return false;
  }
  dir_[is_orig].resync = true;
  return true;
}

void ModbusAnalyzer::gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) {
  (void)c;
  (void)ts_ns;
  if (verdict_ == Verdict::Rejected) return;
  Direction& d = dir_[is_orig];
  if (d.skip > 0 && len <= d.skip) {
    // The gap falls inside a PDU we were already dropping: still in step.
    d.skip -= len;
    return;
  }
  MbapHeader h;
  if (!d.resync && d.skip == 0 && d.len > 0 && parse_mbap({d.buf.data(), d.len}, h) == HeaderStatus::Ok &&
      d.len + len <= h.adu_size()) {
    // The hole is inside the buffered PDU: that PDU is lost, but the next header starts right after it.
    d.skip = h.adu_size() - d.len - len;
    d.len = 0;
    return;
  }
  // Whole PDUs may have gone with the hole: where the next one starts is unknown.
  d.skip = 0;
  d.len = 0;
  d.resync = true;
}

void ModbusAnalyzer::end(Conn& c, uint64_t ts_ns) {
  if (verdict_ == Verdict::Rejected) return;
  for (int o = 1; o >= 0; --o) {
    const Direction& d = dir_[o];
    if (d.len > 0 && !d.resync) {
      weird(c, o == 1, ts_ns, "modbus_partial_pdu_at_end", std::to_string(d.len) + " bytes");
    }
  }
  // Unanswered requests, oldest first, so a replay always writes them in the same order.
  std::vector<Pending*> left;
  for (Pending& e : pending_) {
    if (e.used) left.push_back(&e);
  }
  std::sort(left.begin(), left.end(), [](const Pending* a, const Pending* b) {
    return a->ts_ns != b->ts_ns ? a->ts_ns < b->ts_ns : a->tid < b->tid;
  });
  for (Pending* e : left) give_up(c, *e);
}

void ModbusAnalyzer::on_adu(Conn& c, bool is_orig, std::span<const uint8_t> adu, uint64_t ts) {
  MbapHeader h;
  parse_mbap(adu, h);
  const auto pdu = adu.subspan(kMbapSize);
  // A well-framed ADU is what makes a flow Modbus (as Zeek confirms on its first parsed PDU).
  if (verdict_ == Verdict::Probing) verdict_ = Verdict::Confirmed;
  Pdu p;
  parse_pdu(pdu, is_orig, p);
  if (p.error != PduError::None) weird(c, is_orig, ts, pdu_error_weird(p.error), std::string(modbus_function_name(p.function)));
  logs_.modbus(c, ts, h.tid, h.unit, p.function, is_orig, p.exception ? p.exception_code : -1);
  if (is_orig) on_request(c, h, pdu, p, ts);
  else on_response(c, h, pdu, p, ts);
}

void ModbusAnalyzer::on_request(Conn& c, const MbapHeader& h, std::span<const uint8_t> pdu, const Pdu& p,
                                uint64_t ts) {
  emit_operation(c, true, ts, h, pdu, p, nullptr);
  const bool exception_bit = (p.function & kExceptionBit) != 0;
  const bool paired = !exception_bit && paired_function(p.function);
  if (!paired && !exception_bit) write_message_row(c, ts, h, p.function);
  if (Pending* old = find(h.tid)) {
    // The transaction id is reused before its response came: that request will not be answered now.
    give_up(c, *old);
  }
  Pending& e = insert(c, ts);
  e.tid = h.tid;
  e.unit = h.unit;
  e.ts_ns = ts;
  e.paired = paired;
  e.len = static_cast<uint8_t>(pdu.size());
  std::memcpy(e.pdu.data(), pdu.data(), pdu.size());
  if (p.function == kMaskWriteRegister || p.function == kReadWriteMultipleRegisters ||
      p.function == kEncapsulatedInterfaceTransport) {
    make_link(c, e.link);
    e.has_link = true;
  }
  side_logs(c, true, ts, h, p, e.has_link ? e.link_id() : std::string_view(""));
}

void ModbusAnalyzer::on_response(Conn& c, const MbapHeader& h, std::span<const uint8_t> pdu, const Pdu& p,
                                 uint64_t ts) {
  Pending* e = find(h.tid);
  Pdu req;
  if (!e) {
    weird(c, false, ts, "modbus_response_without_request", "tid " + std::to_string(h.tid));
  } else {
    parse_pdu(e->bytes(), true, req);
    if ((req.function & 0x7F) != (p.function & 0x7F)) {
      weird(c, false, ts, "modbus_response_function_mismatch",
            std::string(modbus_function_name(req.function)) + " answered by " +
                std::string(modbus_function_name(p.function)));
    }
  }
  const Pdu* rq = e ? &req : nullptr;
  emit_operation(c, false, ts, h, pdu, p, rq);

  const uint8_t f = p.function & 0x7F;
  // The id linking this exchange's rows: the request's; for a lone response ICSNPP leaves mask-write and
  // read/write rows' id empty and gives an encapsulated-transport response a fresh one.
  std::optional<std::string_view> link;
  std::array<char, 16> fresh{};
  if (e && e->has_link) {
    link = e->link_id();
  } else if (!p.exception && f == kEncapsulatedInterfaceTransport) {
    make_link(c, fresh);
    link = std::string_view(fresh.data(), fresh.size());
  } else if (!p.exception && (f == kMaskWriteRegister || f == kReadWriteMultipleRegisters)) {
    link = std::string_view("");
  }
  if (p.exception) {
    if (e && e->paired) {
      write_pair(c, e, rq, &p, ts, &h, link);
    } else {
      // ICSNPP: an exception with no pending request is logged alone, under Zeek's _EXCEPTION name.
      LogWriter::Detailed d;
      d.ts_ns = ts;
      d.tid = h.tid;
      d.unit = h.unit;
      d.func = modbus_function_name(p.function);
      if (p.exception_code >= 0) d.exception_code = modbus_exception_name(static_cast<uint8_t>(p.exception_code));
      logs_.detailed(c, d);
    }
  } else if (paired_function(f)) {
    write_pair(c, e && e->paired ? e : nullptr, e && e->paired ? rq : nullptr, &p, ts, &h, link);
  } else {
    write_message_row(c, ts, h, p.function);
  }
  side_logs(c, false, ts, h, p, link.value_or(std::string_view("")));
  if (f == kEncapsulatedInterfaceTransport && !p.exception && p.subfunction == kMeiReadDeviceId)
    report_device_identification(c, ts, h, p);
  if (e) {
    e->used = false;
    --pending_count_;
  }
}

void ModbusAnalyzer::emit_operation(Conn& c, bool is_orig, uint64_t ts, const MbapHeader& h,
                                    std::span<const uint8_t> pdu, const Pdu& p, const Pdu* req) {
  if (!ctx_.ops) return;
  if (!ctx_.ops->wants_events()) return ctx_.ops->count_operation();
  OperationEvent ev;
  ev.ts_ns = ts;
  ev.conn = &c;
  ev.is_orig = is_orig;
  ev.is_request = is_orig;
  ev.protocol = Protocol::Modbus;
  ev.unit = h.unit;
  ev.pdu = pdu;
  const bool bogus_request = is_orig && (p.function & kExceptionBit);
  // The request decides what the exchange does; a lone response speaks for itself.
  const Pdu& what = req ? *req : p;
  ev.code = is_orig ? p.function : static_cast<uint32_t>(p.function & 0x7F);
  ev.subfunction = p.subfunction >= 0 ? p.subfunction : (req ? req->subfunction : -1);
  if (bogus_request) {
    ev.name = "unknown";
    ev.op_class = OpClass::Other;
    ev.read_only = false;
  } else {
    ev.name = modbus_function_snake_name(p.function);
    ev.op_class = modbus_op_class(what.function, what.subfunction);
    ev.read_only = modbus_read_only(what.function, what.subfunction);
  }
  ev.address = req && req->address >= 0 ? req->address : p.address;
  ev.quantity = req && req->quantity >= 0 ? req->quantity : p.quantity;
  if (p.exception) ev.exception = p.exception_code >= 0 ? p.exception_code : 0;
  ctx_.ops->on_operation(ev);
}

// One modbus_detailed row from a request and/or its response, the way ICSNPP's per-function handlers
// fill it.
void ModbusAnalyzer::write_pair(Conn& c, const Pending* e, const Pdu* req, const Pdu* resp, uint64_t resp_ts,
                                const MbapHeader* resp_h, std::optional<std::string_view> link) {
  const Pdu* first = req ? req : resp;
  if (!first) return;
  LogWriter::Detailed d;
  d.ts_ns = e ? e->ts_ns : resp_ts;
  d.tid = e ? e->tid : resp_h->tid;
  d.unit = e ? e->unit : resp_h->unit;
  d.func = modbus_zeek_function_codes(first->function);
  d.matched = req && resp;

  // Values live on the stack for the write: at most 2040 coils (255 bytes) or 127 registers per PDU.
  std::array<uint64_t, 2048> reqv, respv;
  std::string sub_req, sub_resp, resp_data, mei;
  const uint8_t f = first->function & 0x7F;

  if (req) {
    const Pdu& q = *req;
    switch (f) {
      case kReadCoils: case kReadDiscreteInputs: case kReadHoldingRegisters: case kReadInputRegisters:
        d.address = q.address;
        d.quantity = q.quantity;
        break;
      case kWriteSingleCoil:
      case kWriteSingleRegister:
        d.address = q.address;
        d.quantity = 1;
        reqv[0] = f == kWriteSingleCoil ? (q.value == 0xFF00 ? 1 : 0) : q.value;
        d.request_values = std::span<const uint64_t>(reqv.data(), 1);
        break;
      case kWriteMultipleCoils: {
        d.address = q.address;
        const size_t n = std::min<size_t>(q.value_count, reqv.size());
        for (size_t i = 0; i < n; ++i) reqv[i] = q.coil_at(i);
        d.quantity = static_cast<int64_t>(n);
        d.request_values = std::span<const uint64_t>(reqv.data(), n);
        break;
      }
      case kWriteMultipleRegisters: {
        d.address = q.address;
        const size_t n = std::min(q.register_count(), reqv.size());
        for (size_t i = 0; i < n; ++i) reqv[i] = q.register_at(i);
        d.quantity = static_cast<int64_t>(n);
        d.request_values = std::span<const uint64_t>(reqv.data(), n);
        break;
      }
      case kReadFileRecord:
      case kWriteFileRecord:
        d.quantity = q.quantity;
        break;
      case kMaskWriteRegister:
      case kReadFifoQueue:
        d.address = q.address;
        break;
      case kDiagnostics:
        if (q.subfunction >= 0) {
          d.request_subfunction = diagnostic_name(q.subfunction, sub_req);
          d.request_data = as_text(q.data);
        }
        break;
      case kEncapsulatedInterfaceTransport:
        if (q.subfunction >= 0) {
          mei = mei_text(q.subfunction, true);
          d.mei_type = mei;
        }
        break;
      default:
        break;
    }
  }

  if (resp && resp->exception) {
    if (resp->exception_code >= 0) d.exception_code = modbus_exception_name(static_cast<uint8_t>(resp->exception_code));
  } else if (resp) {
    const Pdu& r = *resp;
    switch (f) {
      case kReadCoils:
      case kReadDiscreteInputs: {
        // The response carries whole bytes; bits past the requested quantity are padding (§6.1) and go
        // to response_data.
        size_t n = r.value_count;
        if (req && req->quantity >= 0) n = std::min<size_t>(n, static_cast<size_t>(req->quantity));
        n = std::min(n, respv.size());
        for (size_t i = 0; i < n; ++i) respv[i] = r.coil_at(i);
        d.response_values = std::span<const uint64_t>(respv.data(), n);
        if (!req) {
          d.quantity = r.value_count;
        } else if (r.value_count > n) {
          for (size_t i = n; i < r.value_count; ++i) {
            if (i > n) resp_data += ',';
            resp_data += r.coil_at(i) ? '1' : '0';
          }
          d.response_data = resp_data;
        }
        break;
      }
      case kReadHoldingRegisters:
      case kReadInputRegisters: {
        const size_t n = std::min(r.register_count(), respv.size());
        for (size_t i = 0; i < n; ++i) respv[i] = r.register_at(i);
        d.response_values = std::span<const uint64_t>(respv.data(), n);
        if (!req) d.quantity = static_cast<int64_t>(n);
        break;
      }
      case kWriteSingleCoil:
      case kWriteSingleRegister:
        respv[0] = f == kWriteSingleCoil ? (r.value == 0xFF00 ? 1 : 0) : r.value;
        d.response_values = std::span<const uint64_t>(respv.data(), 1);
        if (f == kWriteSingleCoil || !req) {
          d.address = r.address;
          d.quantity = 1;
        }
        break;
      case kWriteMultipleCoils:
        if (!req) {
          d.address = r.address;
          d.quantity = r.quantity;
        }
        break;
      case kWriteMultipleRegisters:
        d.address = r.address;
        d.quantity = r.quantity;
        break;
      case kReadFileRecord:
      case kWriteFileRecord:
        resp_data = file_records_text(r);
        if (!resp_data.empty()) d.response_data = resp_data;
        break;
      case kMaskWriteRegister:
        if (!req) d.address = r.address;
        break;
      case kReadFifoQueue: {
        const size_t n = std::min(r.register_count(), respv.size());
        for (size_t i = 0; i < n; ++i) respv[i] = r.register_at(i);
        d.quantity = r.quantity >= 0 ? r.quantity : static_cast<int64_t>(n);
        if (n > 0) d.response_values = std::span<const uint64_t>(respv.data(), n);
        break;
      }
      case kDiagnostics:
        if (r.subfunction >= 0) {
          d.response_subfunction = diagnostic_name(r.subfunction, sub_resp);
          d.response_data = as_text(r.data);
        }
        break;
      case kEncapsulatedInterfaceTransport:
        if (r.subfunction >= 0) {
          const std::string resp_mei = mei_text(r.subfunction, false);
          if (mei.empty()) mei = resp_mei;
          else if (mei != resp_mei) mei += " and " + resp_mei;
          d.mei_type = mei;
        }
        break;
      default:
        break;
    }
  }

  d.link_id = link;
  logs_.detailed(c, d);
}

// ICSNPP's row for functions it does not pair (read exception status, report server id, unknown codes).
void ModbusAnalyzer::write_message_row(Conn& c, uint64_t ts, const MbapHeader& h, uint8_t function) {
  LogWriter::Detailed d;
  d.ts_ns = ts;
  d.tid = h.tid;
  d.unit = h.unit;
  d.func = modbus_zeek_function_codes(function);
  logs_.detailed(c, d);
}

// modbus_mask_write_register, modbus_read_write_multiple_registers and modbus_read_device_identification
// rows, for PDUs whose fixed fields are all there.
void ModbusAnalyzer::side_logs(Conn& c, bool is_orig, uint64_t ts, const MbapHeader& h, const Pdu& p,
                               std::string_view link) {
  if (p.exception || (p.function & kExceptionBit)) return;
  LogWriter::Common k;
  k.ts_ns = ts;
  k.is_orig = is_orig;
  k.tid = h.tid;
  k.unit = h.unit;
  k.func = modbus_zeek_function_codes(p.function);
  k.link_id = link;
  switch (p.function) {
    case kMaskWriteRegister:
      if (p.error == PduError::TooShort) return;
      logs_.mask_write_register(c, k, static_cast<uint16_t>(p.address), p.and_mask, p.or_mask);
      return;
    case kReadWriteMultipleRegisters: {
      std::array<uint64_t, 128> regs;
      const size_t n = std::min(p.register_count(), regs.size());
      for (size_t i = 0; i < n; ++i) regs[i] = p.register_at(i);
      const std::span<const uint64_t> values(regs.data(), n);
      if (is_orig) {
        if (p.write_quantity < 0) return;
        logs_.read_write_multiple_registers(c, k, static_cast<uint16_t>(p.write_address), values,
                                            static_cast<uint16_t>(p.address), static_cast<uint16_t>(p.quantity),
                                            std::nullopt);
      } else {
        if (p.error == PduError::TooShort) return;
        logs_.read_write_multiple_registers(c, k, std::nullopt, std::nullopt, std::nullopt, std::nullopt, values);
      }
      return;
    }
    case kEncapsulatedInterfaceTransport: {
      if (p.subfunction != kMeiReadDeviceId) return;
      LogWriter::DeviceIdRow row;
      if (is_orig) {
        DeviceIdRequest q;
        if (p.data.size() < 2) return;
        parse_device_id_request(p.data, q);
        row.device_id_code = q.read_code;
        row.object_id = q.object_id;
        logs_.read_device_identification(c, k, row);
        return;
      }
      DeviceIdResponse r;
      parse_device_id_response(p.data, r);
      if (p.data.size() < 5) return;
      row.device_id_code = r.read_code;
      row.conformity_level = r.conformity_level;
      DeviceIdObjects objs(r);
      DeviceIdObject o;
      while (objs.next(o)) {
        row.object_id = o.id;
        row.object_value = as_text(o.value);
        logs_.read_device_identification(c, k, row);
      }
      return;
    }
    default:
      return;
  }
}

void ModbusAnalyzer::report_device_identification(Conn& c, uint64_t ts, const MbapHeader& h, const Pdu& p) {
  if (!opts_.on_device_identification && !ctx_.identities) return;
  DeviceIdResponse r;
  if (!parse_device_id_response(p.data, r)) return;
  // A PDU of 253 bytes holds at most 124 objects (2 bytes each at least).
  std::array<DeviceIdObject, 128> objects;
  size_t n = 0;
  DeviceIdObjects it(r);
  while (n < objects.size() && it.next(objects[n])) ++n;
  ModbusDeviceIdentification id;
  id.ts_ns = ts;
  id.conn = &c;
  id.tid = h.tid;
  id.unit = h.unit;
  id.read_code = r.read_code;
  id.conformity_level = r.conformity_level;
  id.more_follows = r.more_follows == 0xFF;
  id.next_object_id = r.next_object_id;
  id.objects = std::span<const DeviceIdObject>(objects.data(), n);
  if (opts_.on_device_identification) opts_.on_device_identification(id);
  // Responses come from the server. A basic read gives vendor, product code and revision, a regular one
  // the names: the inventory keeps each field's latest value, so the two add up.
  if (ctx_.identities) {
    ctx_.identities->on_identity({.ts_ns = ts, .protocol = Protocol::Modbus, .conn = &c, .device = c.id().resp_h,
                                  .vendor = id.vendor_name(),
                                  .model = id.model_name().empty() ? id.product_name() : id.model_name(),
                                  .product_code = id.product_code(), .firmware = id.major_minor_revision(),
                                  .serial = {}, .device_type = {}});  // §6.21 has neither
  }
}

void ModbusAnalyzer::weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl) {
  conn_weird(ctx_, weird_memo_, c, is_orig, ts, name, std::move(addl), "modbus");
}

Pending* ModbusAnalyzer::find(uint16_t tid) {
  if (pending_count_ == 0) return nullptr;
  for (Pending& e : pending_) {
    if (e.used && e.tid == tid) return &e;
  }
  return nullptr;
}

Pending& ModbusAnalyzer::insert(Conn& c, uint64_t ts) {
  for (Pending& e : pending_) {
    if (!e.used) {
      e.take();
      ++pending_count_;
      return e;
    }
  }
  const size_t cap = std::max<uint32_t>(opts_.max_outstanding, 1);
  if (pending_.size() < cap) {
    pending_.emplace_back();
    pending_.back().used = true;
    ++pending_count_;
    return pending_.back();
  }
  // Full: the oldest request is given up.
  Pending* oldest = &pending_.front();
  for (Pending& e : pending_) {
    if (e.ts_ns < oldest->ts_ns) oldest = &e;
  }
  weird(c, true, ts, "modbus_too_many_outstanding_requests", "tid " + std::to_string(oldest->tid));
  give_up(c, *oldest);
  oldest->take();
  ++pending_count_;
  return *oldest;
}

void ModbusAnalyzer::give_up(Conn& c, Pending& e) {
  if (!e.used) return;
  if (e.paired) {
    Pdu req;
    parse_pdu(e.bytes(), true, req);
    write_pair(c, &e, &req, nullptr, e.ts_ns, nullptr,
               e.has_link ? std::optional<std::string_view>(e.link_id()) : std::nullopt);
  }
  e.used = false;
  --pending_count_;
}

void ModbusAnalyzer::expire(Conn& c, uint64_t now) {
  for (Pending& e : pending_) {
    if (e.used && now > e.ts_ns && now - e.ts_ns > opts_.request_timeout_ns) give_up(c, e);
  }
}

// ICSNPP links rows with a random 16-character id; ours is derived from the connection and a counter so a
// replay writes the same logs.
void ModbusAnalyzer::make_link(const Conn& c, std::array<char, 16>& out) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const Uid uid = c.uid();
  uint64_t a = mix64(uid.hi ^ (uint64_t{uid.lo} << 32) ^ ++link_counter_);
  uint64_t b = mix64(a ^ link_counter_);
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t& x = i < 8 ? a : b;
    out[i] = kAlphabet[x % 62];
    x /= 62;
  }
}

}  // namespace

std::string_view ModbusDeviceIdentification::object(uint8_t id) const {
  for (const auto& o : objects) {
    if (o.id == id) return as_text(o.value);
  }
  return {};
}

ModbusOptions& modbus_module_options() {
  static ModbusOptions opts;
  return opts;
}

std::unique_ptr<Analyzer> make_modbus_analyzer(const AnalyzerContext& ctx, const ModbusOptions& opts) {
  return std::make_unique<ModbusAnalyzer>(ctx, opts);
}

namespace {

constexpr uint16_t kTcpPorts[] = {502};

std::unique_ptr<Analyzer> create_modbus(const AnalyzerContext& ctx, Transport transport) {
  // Modbus/TCP only: Modbus over UDP is not in the Messaging on TCP/IP guide and Zeek does not parse it.
  if (transport != Transport::Tcp) return nullptr;
  return make_modbus_analyzer(ctx, modbus_module_options());
}

}  // namespace

const DissectorModule kModbusModule{
    Protocol::Modbus, "modbus", kTcpPorts, {}, std::span<const LogSchema* const>(kLogSchemas), &create_modbus,
};

}  // namespace ots
