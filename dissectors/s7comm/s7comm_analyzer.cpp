// The S7comm analyzer: frames TPKTs out of each direction's byte stream (RFC 1006), reassembles COTP DT
// TPDUs into TSDUs at EOT (ISO 8073 §6.3, class 0 segmenting), and hands each TSDU to S7comm or the
// S7comm-plus envelope. Writes ICSNPP's logs, emits operation events, and reports module identification
// from SZL responses. The wire grammar is cotp_parser.cpp's, s7comm_parser.cpp's and
// s7comm_plus_parser.cpp's.
#include <algorithm>
#include <cstring>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "dissectors/s7comm/cotp_parser.hpp"
#include "dissectors/s7comm/s7comm.hpp"
#include "dissectors/s7comm/s7comm_logs.hpp"
#include "dissectors/s7comm/s7comm_parser.hpp"
#include "dissectors/s7comm/s7comm_plus_parser.hpp"

namespace ots {
namespace {

using namespace s7;

// Bytes kept while looking for the next TPKT header after a gap: enough for a header, the next
// header it is checked against, and a maximum class 0 TPDU (ISO 8073: 8192 octets) between them.
constexpr size_t kMaxResyncBytes = 8192 + 16;
// Bytes a direction may skip before its first TPKT header while the flow is still unproven: a capture that
// starts mid-stream begins inside a TPKT (S7 TPDUs are at most 1024 bytes). Beyond it the flow is not
// ISO-on-TCP.
constexpr uint64_t kProbeLimit = 4096;


std::string_view as_text(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Whether DT user data plausibly starts an S7 TSDU (an S7comm header with a known ROSCTR, or an
// S7comm-plus header with a known version): after a gap, what tells a new TSDU from a lost one's tail.
bool plausible_tsdu_start(std::span<const uint8_t> d) {
  if (d.size() >= 10 && d[0] == kS7commId) return d[1] == kJob || d[1] == kAck || d[1] == kAckData || d[1] == kUserdata;
  if (d.size() >= 4 && d[0] == kS7commPlusId) {
    return d[1] == kPlusV1 || d[1] == kPlusV2 || d[1] == kPlusV3 || d[1] == kPlusExtKeepAlive ||
           d[1] == kPlusKeepAlive;
  }
  return false;
}

// A fixed-size text field of the identification (SZL fields are at most 32 bytes).
struct Field {
  std::array<char, 32> text{};
  uint8_t len = 0;
  void set(std::span<const uint8_t> raw) {
    const auto t = trim_szl_text(raw);
    len = static_cast<uint8_t>(std::min(t.size(), text.size()));
    std::copy_n(t.data(), len, text.data());
  }
  std::string_view view() const { return {text.data(), len}; }
};

// What the connection's SZL responses said about the PLC.
struct Identity {
  Field order_number, firmware, system_name, module_name, plant_id, copyright, serial, type_name, card_serial;
  bool firmware_from_index7 = false;
  uint16_t module_type = 0;
};

// One SZL response's records as they stream in, possibly over several userdata fragments (data unit
// reference, last data unit): only identification lists are decoded; a record split between fragments
// is carried over.
struct SzlStream {
  bool active = false;      // a fragmented response continues in the next fragment
  uint8_t ref = 0;          // its data unit reference
  uint16_t id = 0;
  uint16_t record_length = 0;
  uint16_t records_left = 0;
  bool decode = false;      // an identification list with records of the expected size
  std::array<uint8_t, 64> carry{};
  size_t carry_len = 0;
};

// One direction of the connection.
struct Direction {
  std::vector<uint8_t> buf;   // a TPKT split across segments, or the bytes scanned while resynchronising
  uint64_t skip = 0;          // bytes of a TPKT whose start was lost in a gap, to drop before the next header
  bool resync = false;        // looking for the next plausible TPKT header
  bool framed = false;        // a TPKT has been framed in this direction
  uint64_t probe_skipped = 0; // bytes skipped looking for the first TPKT
  bool after_gap = false;     // the first TSDU after a gap may be the tail of a lost one
  std::vector<uint8_t> tsdu;  // COTP DT user data awaiting EOT
  bool tsdu_drop = false;     // dropping DT TPDUs until the next EOT (the TSDU is too long)
  bool tsdu_lost = false;     // a gap took part of a TSDU: drop its tail, up to a plausible new start
  bool plus_fragment = false; // the last S7comm-plus PDU had no trailer: the next one continues it
  bool tls = false;           // TLS records run inside COTP in this direction (S7comm-plus over TLS)
  SzlStream szl;
};

// A Job awaiting its Ack_Data. The PLC's download Jobs (download block / ended) are matched too.
struct PendingJob {
  bool used = false;
  bool from_orig = true;
  uint16_t pdu_ref = 0;
  uint8_t function = 0;
  int32_t area = -1;
  int32_t db = -1;
  int64_t address = -1;
  int64_t quantity = -1;
  uint64_t ts_ns = 0;
};

// The vendor in an SZL xy1C copyright record: "Original Siemens Equipment" (S7-300/400/1200/1500), and
// the same pattern where other makers' S7-compatible CPUs fill it in; empty for anything else.
std::string_view szl_copyright_vendor(std::string_view copyright) {
  constexpr std::string_view kPrefix = "Original ", kSuffix = " Equipment";
  if (copyright.size() <= kPrefix.size() + kSuffix.size() || copyright.substr(0, kPrefix.size()) != kPrefix ||
      copyright.substr(copyright.size() - kSuffix.size()) != kSuffix)
    return {};
  return copyright.substr(kPrefix.size(), copyright.size() - kPrefix.size() - kSuffix.size());
}

class S7commAnalyzer final : public Analyzer {
 public:
  S7commAnalyzer(const AnalyzerContext& ctx, const S7commOptions& opts)
      : ctx_(ctx), opts_(opts), logs_(ctx.logs, ctx.log_ids) {}

  void data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) override;
  void gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) override;
  void end(Conn& c, uint64_t ts_ns) override;

 private:
  void feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts);
  size_t consume_direct(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts);
  void drain_resync(Conn& c, bool is_orig, uint64_t ts);
  bool header_error(Conn& c, bool is_orig, TpktStatus st, const TpktHeader& h, uint64_t ts);
  void on_tpkt(Conn& c, bool is_orig, std::span<const uint8_t> tpkt, uint64_t ts);
  void on_dt(Conn& c, bool is_orig, const CotpTpdu& t, uint64_t ts);
  void on_tsdu(Conn& c, bool is_orig, std::span<const uint8_t> tsdu, uint64_t ts);
  void on_s7comm(Conn& c, bool is_orig, std::span<const uint8_t> tsdu, uint64_t ts);
  void on_job(Conn& c, bool is_orig, const S7Header& h, std::span<const uint8_t> pdu, uint64_t ts);
  void on_ack(Conn& c, bool is_orig, const S7Header& h, std::span<const uint8_t> pdu, uint64_t ts);
  void on_userdata(Conn& c, bool is_orig, const S7Header& h, std::span<const uint8_t> pdu, uint64_t ts);
  void on_read_szl(Conn& c, bool is_orig, const S7Header& h, const UserdataParam& u, uint64_t ts);
  void on_plus(Conn& c, bool is_orig, std::span<const uint8_t> tsdu, uint64_t ts);
  void upload_download_row(Conn& c, bool is_orig, const S7Header& h, uint64_t ts);
  void szl_records(SzlStream& s, std::span<const uint8_t> bytes);
  void szl_record(SzlStream& s, std::span<const uint8_t> rec);
  void szl_finished(Conn& c, bool is_orig, SzlStream& s, uint64_t ts);
  void operation(OperationEvent& ev, Conn& c, bool is_orig, std::span<const uint8_t> pdu, uint64_t ts);
  PendingJob* find_job(uint16_t ref, bool ack_from_orig);
  PendingJob& add_job();
  void confirm() {
    if (verdict_ == Verdict::Probing) verdict_ = Verdict::Confirmed;
  }
  bool reject_if_probing() {
    if (verdict_ != Verdict::Probing) return false;
    verdict_ = Verdict::Rejected;
    return true;
  }
  void weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl = {});

  AnalyzerContext ctx_;
  ConnWeirdMemo weird_memo_;
  const S7commOptions& opts_;
  LogWriter logs_;
  Direction dir_[2];  // [0] responder, [1] originator
  std::vector<PendingJob> jobs_;
  std::unique_ptr<Identity> identity_;
  std::array<uint8_t, 32> calling_tsap_{}, called_tsap_{};
  uint8_t calling_len_ = 0, called_len_ = 0;
  bool have_tsaps_ = false;
};

// ---------------------------------------------------------------------------------------------------
// TPKT framing

void S7commAnalyzer::data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) {
  if (verdict_ == Verdict::Rejected || bytes.empty()) return;
  feed(c, is_orig, bytes, ts_ns);
}

void S7commAnalyzer::feed(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts) {
  Direction& d = dir_[is_orig];
  while (!in.empty() && verdict_ != Verdict::Rejected) {
    if (d.skip > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(d.skip, in.size()));
      d.skip -= n;
      in = in.subspan(n);
      continue;
    }
    if (d.resync) {
      const size_t room = kMaxResyncBytes > d.buf.size() ? kMaxResyncBytes - d.buf.size() : 0;
      const size_t n = std::min(room, in.size());
      d.buf.insert(d.buf.end(), in.begin(), in.begin() + static_cast<ptrdiff_t>(n));
      in = in.subspan(n);
      drain_resync(c, is_orig, ts);
      if (d.resync && n == 0) {
        // Nothing plausible in a full window: drop it and keep looking.
        d.buf.clear();
      }
      continue;
    }
    if (d.buf.empty()) {
      // The common case: whole TPKTs straight from the segment, no copy.
      const size_t used = consume_direct(c, is_orig, in, ts);
      in = in.subspan(used);
      if (in.empty() || verdict_ == Verdict::Rejected || d.resync) continue;
      // A TPKT continues in the next segment: keep its start.
      d.buf.assign(in.begin(), in.end());
      return;
    }
    // Complete the buffered TPKT: its header first, then the length it gives.
    size_t need = kTpktHeaderSize;
    TpktHeader h;
    if (d.buf.size() >= kTpktHeaderSize) {
      parse_tpkt(d.buf, h);
      need = h.length;
    }
    const size_t n = std::min(need - d.buf.size(), in.size());
    d.buf.insert(d.buf.end(), in.begin(), in.begin() + static_cast<ptrdiff_t>(n));
    in = in.subspan(n);
    if (d.buf.size() < kTpktHeaderSize) return;
    const TpktStatus st = parse_tpkt(d.buf, h);
    if (st != TpktStatus::Ok) {
      if (!header_error(c, is_orig, st, h, ts)) return;
      d.buf.erase(d.buf.begin());  // resynchronise from the next byte
      continue;
    }
    if (d.buf.size() < h.length) continue;
    // Move the TPKT out so that nothing it triggers can touch the buffer under it.
    std::vector<uint8_t> tpkt;
    tpkt.swap(d.buf);
    on_tpkt(c, is_orig, tpkt, ts);
    if (d.buf.empty()) {
      tpkt.clear();
      d.buf.swap(tpkt);  // keep the capacity
    }
  }
}

// Handles the complete TPKTs at the start of `in`; returns the bytes used. Stops at an incomplete TPKT or
// after a bad header (resynchronisation then starts one byte further on).
size_t S7commAnalyzer::consume_direct(Conn& c, bool is_orig, std::span<const uint8_t> in, uint64_t ts) {
  size_t off = 0;
  while (off < in.size() && verdict_ != Verdict::Rejected) {
    const auto rest = in.subspan(off);
    TpktHeader h;
    const TpktStatus st = parse_tpkt(rest, h);
    if (st == TpktStatus::NeedMore) return off;
    if (st != TpktStatus::Ok) {
      if (!header_error(c, is_orig, st, h, ts)) return in.size();
      return off + 1;
    }
    if (rest.size() < h.length) return off;
    on_tpkt(c, is_orig, rest.first(h.length), ts);
    off += h.length;
  }
  return verdict_ == Verdict::Rejected ? in.size() : off;
}

// The resynchronisation scan over the buffered bytes: drops what cannot start a TPKT; once a plausible
// header is found, framing resumes from it.
void S7commAnalyzer::drain_resync(Conn& c, bool is_orig, uint64_t ts) {
  Direction& d = dir_[is_orig];
  size_t off = 0;
  while (off < d.buf.size()) {
    // plausible_tpkt_start refuses every offset whose first byte is not the TPKT version: go straight
    // to the next one that is (or to the end, where the scan would have arrived one byte at a time).
    const void* v = std::memchr(d.buf.data() + off, kTpktVersion, d.buf.size() - off);
    if (v == nullptr) {
      off = d.buf.size();
      break;
    }
    off = static_cast<size_t>(static_cast<const uint8_t*>(v) - d.buf.data());
    const Plausible p = plausible_tpkt_start({d.buf.data() + off, d.buf.size() - off});
    if (p == Plausible::Maybe) break;
    if (p == Plausible::No) {
      ++off;
      continue;
    }
    d.resync = false;
    break;
  }
  d.buf.erase(d.buf.begin(), d.buf.begin() + static_cast<ptrdiff_t>(off));
  if (verdict_ == Verdict::Probing) {
    d.probe_skipped += off;
    if (d.probe_skipped > kProbeLimit) {
      verdict_ = Verdict::Rejected;
      d.buf.clear();
      return;
    }
  }
  if (d.resync) return;
  // Frame what is buffered; the remainder (a partial TPKT) stays for feed().
  std::vector<uint8_t> held;
  held.swap(d.buf);
  const size_t used = consume_direct(c, is_orig, held, ts);
  if (verdict_ == Verdict::Rejected) return;
  d.buf.insert(d.buf.begin(), held.begin() + static_cast<ptrdiff_t>(std::min(used, held.size())), held.end());
}

// A header that is not RFC 1006's. Before the flow is confirmed the flow is not ISO-on-TCP at all (or not
// from its start); after, the stream lost its framing and we resynchronise. Returns false when rejected.
bool S7commAnalyzer::header_error(Conn& c, bool is_orig, TpktStatus st, const TpktHeader& h, uint64_t ts) {
  Direction& d = dir_[is_orig];
  if (verdict_ == Verdict::Probing) {
    // Before the first TPKT of a direction the capture may have started mid-TPKT: look for a header
    // (drain_resync bounds how far). After one, broken framing means this is not ISO-on-TCP.
    if (d.framed) return !reject_if_probing();
    d.resync = true;
    return true;
  }
  if (st == TpktStatus::BadVersion) {
    weird(c, is_orig, ts, "tpkt_bad_version", "version " + std::to_string(h.version) + " reserved " +
                                                  std::to_string(h.reserved));
  } else {
    weird(c, is_orig, ts, "tpkt_bad_length", "length " + std::to_string(h.length));
  }
  d.resync = true;
  d.after_gap = true;
  d.tsdu_lost = d.tsdu_lost || !d.tsdu.empty();
  d.tsdu.clear();
  d.tsdu_drop = false;
  return true;
}

void S7commAnalyzer::gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) {
  (void)c;
  (void)ts_ns;
  if (verdict_ == Verdict::Rejected) return;
  Direction& d = dir_[is_orig];
  d.after_gap = true;
  d.szl = SzlStream{};
  if (d.skip > 0 && len <= d.skip) {
    // The hole falls inside a TPKT we were already dropping: still in step.
    d.skip -= len;
    return;
  }
  TpktHeader h;
  if (!d.resync && d.skip == 0 && d.buf.size() >= kTpktHeaderSize && parse_tpkt(d.buf, h) == TpktStatus::Ok &&
      d.buf.size() + len <= h.length) {
    // The hole is inside the buffered TPKT: it is lost, but the next header starts right after it. If its
    // DT header is there, its EOT says whether the TSDU being reassembled ends with it.
    d.skip = h.length - d.buf.size() - len;
    CotpTpdu t;
    const bool dt_known = d.buf.size() >= kTpktHeaderSize + 3 &&
                          parse_cotp({d.buf.data() + kTpktHeaderSize, d.buf.size() - kTpktHeaderSize}, t) !=
                              CotpError::TooShort &&
                          t.code == kCotpDT && t.li == 2;
    // With EOT the lost TPKT ended its TSDU and the next DT starts a new one; otherwise the rest of that
    // TSDU may follow, and is useless.
    d.tsdu_lost = !(dt_known && t.eot);
    d.tsdu.clear();
    d.tsdu_drop = false;
    d.buf.clear();
    return;
  }
  // Whole TPKTs may have gone with the hole: where the next one starts is unknown, and so is whether it
  // continues a TSDU.
  d.skip = 0;
  d.buf.clear();
  d.resync = true;
  d.tsdu_lost = true;
  d.tsdu_drop = false;
  d.tsdu.clear();
}

void S7commAnalyzer::end(Conn& c, uint64_t ts_ns) {
  if (verdict_ != Verdict::Confirmed) return;  // nothing to say about a flow never shown to be S7
  for (int o = 1; o >= 0; --o) {
    const Direction& d = dir_[o];
    if (!d.buf.empty() && !d.resync) {
      weird(c, o == 1, ts_ns, "s7comm_partial_tpkt_at_end", std::to_string(d.buf.size()) + " bytes");
    }
    if (!d.tsdu.empty()) {
      weird(c, o == 1, ts_ns, "cotp_partial_tsdu_at_end", std::to_string(d.tsdu.size()) + " bytes");
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// COTP

void S7commAnalyzer::on_tpkt(Conn& c, bool is_orig, std::span<const uint8_t> tpkt, uint64_t ts) {
  dir_[is_orig].framed = true;
  CotpTpdu t;
  const CotpError err = parse_cotp(tpkt.subspan(kTpktHeaderSize), t);
  if (err == CotpError::TooShort || err == CotpError::BadLength) {
    if (reject_if_probing()) return;
    weird(c, is_orig, ts, "cotp_bad_length", "LI " + std::to_string(t.li) + " in a TPKT of " +
                                                 std::to_string(tpkt.size()) + " bytes");
    return;
  }
  logs_.cotp(c, ts, is_orig, t.code);
  if (err == CotpError::BadParameter) weird(c, is_orig, ts, "cotp_bad_parameter");
  switch (t.code) {
    case kCotpCR:
    case kCotpCC:
      // The CR's TSAPs name the endpoints; the CC normally echoes them (keep the CR's when both are seen).
      if (t.code == kCotpCR || !have_tsaps_) {
        calling_len_ = static_cast<uint8_t>(std::min(t.calling_tsap.size(), calling_tsap_.size()));
        // copy_n, not memcpy: an absent TSAP is an empty span whose data() may be null.
        std::copy_n(t.calling_tsap.data(), calling_len_, calling_tsap_.data());
        called_len_ = static_cast<uint8_t>(std::min(t.called_tsap.size(), called_tsap_.size()));
        std::copy_n(t.called_tsap.data(), called_len_, called_tsap_.data());
        have_tsaps_ = calling_len_ > 0 || called_len_ > 0;
      }
      return;
    case kCotpDT:
      on_dt(c, is_orig, t, ts);
      return;
    case kCotpER:
      weird(c, is_orig, ts, "cotp_tpdu_error", "reject cause " + std::to_string(t.reason));
      return;
    default:
      return;
  }
}

void S7commAnalyzer::on_dt(Conn& c, bool is_orig, const CotpTpdu& t, uint64_t ts) {
  Direction& d = dir_[is_orig];
  if (d.tsdu_lost) {
    // After a gap: DT TPDUs continuing a TSDU whose start was lost are dropped, up to and including its
    // EOT, unless one plausibly starts a new TSDU (the gap took a whole TSDU's last TPDU).
    if (!plausible_tsdu_start(t.user_data)) {
      if (t.eot) d.tsdu_lost = false;
      return;
    }
    d.tsdu_lost = false;
  }
  if (!t.eot) {
    // ISO 8073 §6.3: a TSDU is sent as DT TPDUs, the last with EOT set.
    if (d.tsdu_drop) return;
    if (d.tsdu.size() + t.user_data.size() > opts_.max_tsdu) {
      weird(c, is_orig, ts, "cotp_tsdu_too_long", std::to_string(d.tsdu.size() + t.user_data.size()) + " bytes");
      d.tsdu.clear();
      d.tsdu_drop = true;
      return;
    }
    d.tsdu.insert(d.tsdu.end(), t.user_data.begin(), t.user_data.end());
    return;
  }
  if (d.tsdu_drop) {
    // The end of a TSDU we could not keep.
    d.tsdu_drop = false;
    d.tsdu.clear();
    d.after_gap = false;
    return;
  }
  if (d.tsdu.empty()) {
    on_tsdu(c, is_orig, t.user_data, ts);
    return;
  }
  if (d.tsdu.size() + t.user_data.size() > opts_.max_tsdu) {
    weird(c, is_orig, ts, "cotp_tsdu_too_long", std::to_string(d.tsdu.size() + t.user_data.size()) + " bytes");
    d.tsdu.clear();
    return;
  }
  std::vector<uint8_t> whole;
  whole.swap(d.tsdu);
  whole.insert(whole.end(), t.user_data.begin(), t.user_data.end());
  on_tsdu(c, is_orig, whole, ts);
  if (d.tsdu.empty()) {
    whole.clear();
    d.tsdu.swap(whole);  // keep the capacity
  }
}

void S7commAnalyzer::on_tsdu(Conn& c, bool is_orig, std::span<const uint8_t> tsdu, uint64_t ts) {
  Direction& d = dir_[is_orig];
  const bool after_gap = d.after_gap;
  d.after_gap = false;
  if (tsdu.empty() || d.tls) return;
  if (tsdu[0] == kS7commId) {
    on_s7comm(c, is_orig, tsdu, ts);
    return;
  }
  if (tsdu[0] == kS7commPlusId) {
    on_plus(c, is_orig, tsdu, ts);
    return;
  }
  if (looks_like_tls_record(tsdu)) {
    // S7comm-plus inside TLS (TIA V17+ firmware): the records are opaque; the flow is S7 all the same.
    d.tls = true;
    confirm();
    return;
  }
  // Before confirmation this is another protocol over ISO-on-TCP (IEC 61850 MMS shares port 102).
  if (reject_if_probing()) return;
  if (after_gap) return;  // most likely the tail of a TSDU whose start was lost
  weird(c, is_orig, ts, "s7comm_unknown_protocol_id", std::string(hex_byte_text(tsdu[0])));
}

// ---------------------------------------------------------------------------------------------------
// S7comm

void S7commAnalyzer::on_s7comm(Conn& c, bool is_orig, std::span<const uint8_t> pdu, uint64_t ts) {
  S7Header h;
  const HeaderError err = parse_header(pdu, h);
  if (err == HeaderError::TooShort) {
    if (reject_if_probing()) return;
    weird(c, is_orig, ts, "s7comm_truncated_header", std::to_string(pdu.size()) + " bytes");
    return;
  }
  if (err == HeaderError::BadRosctr) {
    if (reject_if_probing()) return;
    weird(c, is_orig, ts, "s7comm_unknown_rosctr", std::to_string(h.rosctr));
  }
  confirm();
  if (err == HeaderError::Truncated) {
    weird(c, is_orig, ts, "s7comm_truncated_pdu",
          "parameter " + std::to_string(h.param_length) + " + data " + std::to_string(h.data_length) +
              " bytes, " + std::to_string(pdu.size() - h.header_size) + " there");
  } else if (h.trailing > 0) {
    weird(c, is_orig, ts, "s7comm_trailing_bytes", std::to_string(h.trailing) + " bytes");
  }
  switch (h.rosctr) {
    case kJob:
      on_job(c, is_orig, h, pdu, ts);
      return;
    case kAck:
    case kAckData:
      on_ack(c, is_orig, h, pdu, ts);
      return;
    case kUserdata:
      on_userdata(c, is_orig, h, pdu, ts);
      return;
    default: {
      S7commRow row;
      row.ts_ns = ts;
      row.is_orig = is_orig;
      row.rosctr = h.rosctr;
      row.pdu_ref = h.pdu_ref;
      logs_.s7comm(c, row);
      return;
    }
  }
}

void S7commAnalyzer::on_job(Conn& c, bool is_orig, const S7Header& h, std::span<const uint8_t> pdu, uint64_t ts) {
  S7commRow row;
  row.ts_ns = ts;
  row.is_orig = is_orig;
  row.rosctr = kJob;
  row.pdu_ref = h.pdu_ref;
  const bool has_function = !h.param.empty();
  const uint8_t f = has_function ? h.param[0] : 0;
  PiService pi;
  if (has_function) {
    row.function_code = hex_byte_text(f);
    row.function_name = icsnpp_function_name(f);
    // ICSNPP puts the PI service of a PLC control Job in the sub-function columns.
    if (f == kPlcControl && parse_plc_control(h.param, pi)) {
      row.subfunction_code = as_text(pi.service);
      row.subfunction_name = icsnpp_plc_control_service_name(as_text(pi.service));
    }
  }
  logs_.s7comm(c, row);
  if (!has_function) return;
  if (f >= kRequestDownload && f <= kEndUpload) upload_download_row(c, is_orig, h, ts);

  OperationEvent ev;
  ev.protocol = Protocol::S7comm;
  ev.code = f;
  // The PLC sends download block / download ended Jobs to the client during a download (the client's
  // request download started it): they are not the client's requests, and policy checks the download
  // by its request_download only (issue 5).
  ev.is_request = !(f == kDownloadBlock || f == kDownloadEnded);
  if (f == kReadVar || f == kWriteVar) {
    VarItems items(h.param);
    VarItem it;
    if (items.next(it) && it.s7any) {
      ev.s7_area = it.area;
      ev.s7_db = it.area == kAreaDataBlock || it.area == kAreaInstanceDb ? static_cast<int32_t>(it.db) : -1;
      ev.address = it.byte_address;
      ev.quantity = it.count;
    }
    if (items.truncated()) weird(c, is_orig, ts, "s7comm_truncated_item");
  }
  PendingJob& j = add_job();
  j.from_orig = is_orig;
  j.pdu_ref = h.pdu_ref;
  j.function = f;
  j.area = ev.s7_area;
  j.db = ev.s7_db;
  j.address = ev.address;
  j.quantity = ev.quantity;
  j.ts_ns = ts;
  operation(ev, c, is_orig, pdu, ts);
}

void S7commAnalyzer::on_ack(Conn& c, bool is_orig, const S7Header& h, std::span<const uint8_t> pdu, uint64_t ts) {
  S7commRow row;
  row.ts_ns = ts;
  row.is_orig = is_orig;
  row.rosctr = h.rosctr;
  row.pdu_ref = h.pdu_ref;
  const bool has_function = !h.param.empty();
  const uint8_t f = has_function ? h.param[0] : 0;
  if (has_function) {
    row.function_code = hex_byte_text(f);
    row.function_name = icsnpp_function_name(f);
  }
  // ICSNPP logs error class and code unless the code byte is 0xFF (its "absent" marker).
  std::string scratch;
  if (h.error_code != 0xFF) {
    row.error_class = icsnpp_error_class_name(h.error_class, scratch);
    row.error_code = hex_byte_text(h.error_code);
  }
  logs_.s7comm(c, row);
  PendingJob* j = find_job(h.pdu_ref, is_orig);
  if (h.rosctr != kAckData) {
    if (j) j->used = false;
    return;
  }
  if (has_function && f >= kRequestDownload && f <= kEndUpload) upload_download_row(c, is_orig, h, ts);
  OperationEvent ev;
  ev.protocol = Protocol::S7comm;
  ev.is_request = false;
  ev.code = has_function ? f : (j ? j->function : 0);
  if (j) {
    ev.s7_area = j->area;
    ev.s7_db = j->db;
    ev.address = j->address;
    ev.quantity = j->quantity;
    j->used = false;
  }
  if (h.error_class != 0 || h.error_code != 0) ev.exception = (int32_t{h.error_class} << 8) | h.error_code;
  if (has_function || j) operation(ev, c, is_orig, pdu, ts);
}

// s7comm_upload_download.log: the rows ICSNPP writes for the block transfer functions (0x1A-0x1F).
void S7commAnalyzer::upload_download_row(Conn& c, bool is_orig, const S7Header& h, uint64_t ts) {
  BlockTransfer b;
  const bool job = h.rosctr == kJob;
  if (!parse_block_transfer(h.param, h.data, job, b)) return;
  UploadDownloadRow row;
  row.ts_ns = ts;
  row.is_orig = is_orig;
  row.rosctr = h.rosctr;
  row.pdu_ref = h.pdu_ref;
  row.function = b.function;
  if (job) {
    if (b.has_status) row.function_status = b.status;
    if (b.has_session) row.session_id = b.session_id;
    if (!b.filename.empty()) row.filename = as_text(b.filename);
  } else {
    // ICSNPP's Ack_Data rows: start upload gives status, session and block length; upload status and
    // block length; download block the block length only; the others nothing.
    switch (b.function) {
      case kStartUpload:
        if (b.has_status) row.function_status = b.status;
        if (b.has_session) row.session_id = b.session_id;
        if (b.has_blocklength) row.blocklength = b.blocklength;
        break;
      case kUpload:
        if (b.has_status) row.function_status = b.status;
        if (b.has_blocklength) row.blocklength = b.blocklength;
        break;
      case kDownloadBlock:
        if (b.has_blocklength) row.blocklength = b.blocklength;
        break;
      default:
        break;
    }
  }
  logs_.upload_download(c, row);
}

void S7commAnalyzer::on_userdata(Conn& c, bool is_orig, const S7Header& h, std::span<const uint8_t> pdu,
                                 uint64_t ts) {
  S7commRow row;
  row.ts_ns = ts;
  row.is_orig = is_orig;
  row.rosctr = kUserdata;
  row.pdu_ref = h.pdu_ref;
  UserdataParam u;
  if (!parse_userdata_param(h.param, u)) {
    weird(c, is_orig, ts, "s7comm_bad_userdata_parameter", std::to_string(h.param.size()) + " bytes");
    logs_.s7comm(c, row);
    return;
  }
  row.function_code = hex_byte_text(u.type_group);
  row.function_name = icsnpp_userdata_function_name(u.type_group);
  row.subfunction_code = hex_byte_text(u.subfunction);
  row.subfunction_name = icsnpp_userdata_subfunction_name(u.group, u.subfunction);
  // ICSNPP reads a response's error code (method 0x12): 0 "No error", otherwise "Parameter Error".
  HexText ec;
  if (u.method == 0x12 && u.has_extension && u.error_code != 0xFFFF) {
    if (u.error_code == 0) {
      row.error_class = "No error";
      row.error_code = hex_byte_text(0);
    } else {
      row.error_class = "Parameter Error";
      ec = hex_text(u.error_code, 2);
      row.error_code = ec.view();
    }
  }
  logs_.s7comm(c, row);
  if (u.group == kUdCpu && u.subfunction == kUdCpuReadSzl) on_read_szl(c, is_orig, h, u, ts);

  OperationEvent ev;
  ev.protocol = Protocol::S7comm;
  // Type 4 (request) and 7 (NC request) come from the client; responses (8, 0xF) and pushes (0, 3) do not.
  ev.is_request = u.type == kUdRequest || u.type == 0x7;
  ev.code = kS7UserdataOpCode;
  ev.subfunction = (int32_t{u.group} << 8) | u.subfunction;
  if (u.has_extension && u.error_code != 0) ev.exception = u.error_code;
  operation(ev, c, is_orig, pdu, ts);
}

// s7comm_read_szl.log and the identification records of a read SZL request or response.
void S7commAnalyzer::on_read_szl(Conn& c, bool is_orig, const S7Header& h, const UserdataParam& u, uint64_t ts) {
  UserdataData dd;
  if (!parse_userdata_data(h.data, dd)) return;
  SzlStream& s = dir_[is_orig].szl;
  const bool response = u.type == kUdResponse;
  if (response && s.active && u.has_extension && u.data_unit_ref == s.ref) {
    // A follow-on fragment: records only, no SZL header and no log row (as ICSNPP).
    szl_records(s, dd.payload);
    if (u.last_data_unit == 0x00) szl_finished(c, is_orig, s, ts);
    return;
  }
  SzlHeader z;
  if (dd.return_code != 0xFF || !parse_szl(dd.payload, response, z)) return;
  ReadSzlRow row;
  row.ts_ns = ts;
  row.is_orig = is_orig;
  row.pdu_ref = h.pdu_ref;
  row.method = u.method;
  row.szl_id = z.id;
  row.szl_index = z.index;
  row.return_code = dd.return_code;
  logs_.read_szl(c, row);
  if (!response || !z.has_list) return;
  s = SzlStream{};
  s.id = z.id;
  s.record_length = z.record_length;
  s.records_left = z.record_count;
  s.decode = (is_module_identification(z.id) && z.record_length == kSzlXy11RecordSize) ||
             (is_component_identification(z.id) && z.record_length == kSzlXy1cRecordSize);
  szl_records(s, z.records);
  if (u.has_extension && u.last_data_unit == 0x01) {
    s.active = true;
    s.ref = u.data_unit_ref;
  } else {
    szl_finished(c, is_orig, s, ts);
  }
}

void S7commAnalyzer::szl_records(SzlStream& s, std::span<const uint8_t> bytes) {
  if (!s.decode) return;
  const size_t rl = s.record_length;
  if (s.carry_len > 0) {
    const size_t n = std::min(rl - s.carry_len, bytes.size());
    std::copy_n(bytes.data(), n, s.carry.data() + s.carry_len);
    s.carry_len += n;
    bytes = bytes.subspan(n);
    if (s.carry_len < rl) return;
    szl_record(s, {s.carry.data(), rl});
    s.carry_len = 0;
  }
  while (bytes.size() >= rl && s.records_left > 0) {
    szl_record(s, bytes.first(rl));
    bytes = bytes.subspan(rl);
  }
  if (!bytes.empty() && s.records_left > 0) {
    std::copy_n(bytes.data(), bytes.size(), s.carry.data());
    s.carry_len = bytes.size();
  }
}

void S7commAnalyzer::szl_record(SzlStream& s, std::span<const uint8_t> rec) {
  if (s.records_left == 0) return;
  --s.records_left;
  if (!identity_) identity_ = std::make_unique<Identity>();
  Identity& id = *identity_;
  if (is_module_identification(s.id)) {
    SzlModuleRecord r;
    if (!parse_szl_xy11_record(rec, r)) return;
    // Firmware records carry 'V' and the major version in Ausbg, minor and patch in Ausbe.
    const auto version = [&](bool from_index7) {
      if ((r.ausbg >> 8) != 'V') return;
      if (!from_index7 && id.firmware_from_index7) return;
      char buf[32];
      const int n = std::snprintf(buf, sizeof buf, "V%u.%u.%u", r.ausbg & 0xFFu, unsigned(r.ausbe >> 8),
                                  r.ausbe & 0xFFu);
      id.firmware.set({reinterpret_cast<const uint8_t*>(buf), n > 0 ? static_cast<size_t>(n) : 0});
      id.firmware_from_index7 = from_index7;
    };
    if (r.index == 0x0001) {
      id.order_number.set(r.order_number);
      id.module_type = r.module_type;
      version(false);
    } else if (r.index == 0x0007) {
      version(true);
    }
    return;
  }
  SzlComponentRecord r;
  if (!parse_szl_xy1c_record(rec, r)) return;
  switch (r.index) {
    case 0x0001: id.system_name.set(r.text.first(std::min<size_t>(24, r.text.size()))); break;
    case 0x0002: id.module_name.set(r.text.first(std::min<size_t>(24, r.text.size()))); break;
    case 0x0003: id.plant_id.set(r.text); break;
    case 0x0004: id.copyright.set(r.text.first(std::min<size_t>(26, r.text.size()))); break;
    case 0x0005: id.serial.set(r.text.first(std::min<size_t>(24, r.text.size()))); break;
    case 0x0007: id.type_name.set(r.text); break;
    case 0x0008: id.card_serial.set(r.text); break;
    default: break;
  }
}

void S7commAnalyzer::szl_finished(Conn& c, bool is_orig, SzlStream& s, uint64_t ts) {
  const bool report = s.decode && identity_ && (opts_.on_module_identification || ctx_.identities);
  const uint16_t id = s.id;
  s = SzlStream{};
  if (!report) return;
  const Identity& i = *identity_;
  S7ModuleIdentification ev;
  ev.ts_ns = ts;
  ev.conn = &c;
  ev.plc_is_responder = !is_orig;
  ev.szl_id = id;
  ev.order_number = i.order_number.view();
  ev.firmware_version = i.firmware.view();
  ev.module_type_id = i.module_type;
  ev.system_name = i.system_name.view();
  ev.module_name = i.module_name.view();
  ev.plant_id = i.plant_id.view();
  ev.copyright = i.copyright.view();
  ev.serial_number = i.serial.view();
  ev.module_type_name = i.type_name.view();
  ev.memory_card_serial = i.card_serial.view();
  ev.calling_tsap = {calling_tsap_.data(), calling_len_};
  ev.called_tsap = {called_tsap_.data(), called_len_};
  if (opts_.on_module_identification) opts_.on_module_identification(ev);
  if (ctx_.identities) {  // the PLC is the response's sender
    ctx_.identities->on_identity({.ts_ns = ts, .protocol = Protocol::S7comm, .conn = &c,
                                  .device = is_orig ? c.id().orig_h : c.id().resp_h,
                                  .vendor = szl_copyright_vendor(ev.copyright), .model = ev.module_type_name,
                                  .product_code = ev.order_number, .firmware = ev.firmware_version,
                                  .serial = ev.serial_number, .device_type = {}});
  }
}

// ---------------------------------------------------------------------------------------------------
// S7comm-plus

void S7commAnalyzer::on_plus(Conn& c, bool is_orig, std::span<const uint8_t> tsdu, uint64_t ts) {
  Direction& d = dir_[is_orig];
  PlusPdu p;
  const PlusError err = parse_s7comm_plus(tsdu, d.plus_fragment, p);
  if (err == PlusError::TooShort) {
    if (reject_if_probing()) return;
    weird(c, is_orig, ts, "s7comm_plus_truncated_header", std::to_string(tsdu.size()) + " bytes");
    return;
  }
  confirm();
  if (err == PlusError::Truncated) {
    weird(c, is_orig, ts, "s7comm_plus_truncated_pdu",
          "data length " + std::to_string(p.data_length) + ", " + std::to_string(tsdu.size()) + " bytes");
  } else if (err == PlusError::BadDigest) {
    weird(c, is_orig, ts, "s7comm_plus_bad_digest_length", std::to_string(p.digest_length));
  }
  // A PDU without trailer continues in the next one; a truncated one tells nothing.
  if (p.version == kPlusV1 || p.version == kPlusV2 || p.version == kPlusV3)
    d.plus_fragment = err != PlusError::Truncated && !p.has_trailer;
  PlusRow row;
  row.ts_ns = ts;
  row.is_orig = is_orig;
  row.version = p.version;
  if (p.has_opcode) row.opcode = p.opcode;
  if (p.has_function) row.function = p.function;
  logs_.plus(c, row);
  if (!p.has_function) return;
  OperationEvent ev;
  ev.protocol = Protocol::S7commPlus;
  ev.is_request = p.opcode == kPlusRequest;
  ev.code = p.function;
  ev.name = s7commplus_function_name(p.function);
  ev.op_class = s7commplus_op_class(p.function);
  ev.read_only = false;  // issue 5 defines no read-only set for S7comm-plus
  operation(ev, c, is_orig, tsdu, ts);
}

// ---------------------------------------------------------------------------------------------------

void S7commAnalyzer::operation(OperationEvent& ev, Conn& c, bool is_orig, std::span<const uint8_t> pdu,
                               uint64_t ts) {
  if (!ctx_.ops) return;
  if (!ctx_.ops->wants_events()) return ctx_.ops->count_operation();
  ev.ts_ns = ts;
  ev.conn = &c;
  ev.is_orig = is_orig;
  ev.pdu = pdu;
  if (ev.protocol == Protocol::S7comm) {
    ev.name = ev.code == kS7UserdataOpCode ? std::string_view("userdata") : s7_function_name(ev.code);
    ev.op_class = s7_op_class(ev.code, ev.subfunction);
    ev.read_only = s7_read_only(ev.code, ev.subfunction);
    // An S7 called TSAP is the connection type then rack * 32 + slot: the PLC CPU addressed.
    if (called_len_ == 2) ev.unit = called_tsap_[1];
  }
  ctx_.ops->on_operation(ev);
}

PendingJob* S7commAnalyzer::find_job(uint16_t ref, bool ack_from_orig) {
  for (PendingJob& j : jobs_) {
    if (j.used && j.pdu_ref == ref && j.from_orig != ack_from_orig) return &j;
  }
  return nullptr;
}

PendingJob& S7commAnalyzer::add_job() {
  PendingJob* oldest = nullptr;
  for (PendingJob& j : jobs_) {
    if (!j.used) {
      j = PendingJob{};
      j.used = true;
      return j;
    }
    if (!oldest || j.ts_ns < oldest->ts_ns) oldest = &j;
  }
  if (jobs_.size() < std::max<uint32_t>(opts_.max_outstanding, 1)) {
    jobs_.emplace_back();
    jobs_.back().used = true;
    return jobs_.back();
  }
  // Full: the oldest Job is forgotten (its Ack_Data will go unmatched).
  *oldest = PendingJob{};
  oldest->used = true;
  return *oldest;
}

void S7commAnalyzer::weird(const Conn& c, bool is_orig, uint64_t ts, std::string_view name, std::string addl) {
  conn_weird(ctx_, weird_memo_, c, is_orig, ts, name, std::move(addl), "s7comm");
}

constexpr uint16_t kTcpPorts[] = {102};

std::unique_ptr<Analyzer> create_s7comm(const AnalyzerContext& ctx, Transport transport) {
  // ISO-on-TCP only (RFC 1006); S7 over ISO transport on Ethernet (no IP) is not seen by this pipeline.
  if (transport != Transport::Tcp) return nullptr;
  return make_s7comm_analyzer(ctx, s7comm_module_options());
}

}  // namespace

S7commOptions& s7comm_module_options() {
  static S7commOptions opts;
  return opts;
}

std::unique_ptr<Analyzer> make_s7comm_analyzer(const AnalyzerContext& ctx, const S7commOptions& opts) {
  return std::make_unique<S7commAnalyzer>(ctx, opts);
}

const DissectorModule kS7commModule{
    Protocol::S7comm, "s7comm", kTcpPorts, {}, std::span<const LogSchema* const>(s7::kLogSchemas), &create_s7comm,
};

}  // namespace ots
