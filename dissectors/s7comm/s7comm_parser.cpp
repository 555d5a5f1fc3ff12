#include "dissectors/s7comm/s7comm_parser.hpp"

#include <algorithm>

#include "capture/byte_reader.hpp"

namespace ots::s7 {

HeaderError parse_header(std::span<const uint8_t> tsdu, S7Header& h) {
  h = S7Header{};
  ByteReader r(tsdu);
  uint8_t id = 0;
  if (!r.u8(id)) return HeaderError::TooShort;
  if (id != kS7commId) return HeaderError::BadProtocolId;
  if (!r.u8(h.rosctr) || !r.u16be(h.redundancy_id) || !r.u16be(h.pdu_ref) || !r.u16be(h.param_length) ||
      !r.u16be(h.data_length))
    return HeaderError::TooShort;
  HeaderError err = HeaderError::None;
  switch (h.rosctr) {
    case kJob:
    case kUserdata:
      break;
    case kAck:
    case kAckData:
      // Only the acknowledgements carry error class and code (the 12-byte header).
      h.has_error = true;
      if (!r.u8(h.error_class) || !r.u8(h.error_code)) return HeaderError::TooShort;
      break;
    default:
      err = HeaderError::BadRosctr;
      break;
  }
  h.header_size = r.pos();
  const auto rest = r.rest();
  const size_t plen = std::min<size_t>(h.param_length, rest.size());
  h.param = rest.first(plen);
  const auto after = rest.subspan(plen);
  const size_t dlen = std::min<size_t>(h.data_length, after.size());
  h.data = after.first(dlen);
  h.trailing = after.size() - dlen;
  if (err == HeaderError::None && (plen < h.param_length || dlen < h.data_length)) err = HeaderError::Truncated;
  return err;
}

bool parse_setup_communication(std::span<const uint8_t> param, SetupCommunication& s) {
  ByteReader r(param);
  uint8_t f = 0;
  return r.u8(f) && f == kSetupCommunication && r.skip(1) && r.u16be(s.max_amq_calling) &&
         r.u16be(s.max_amq_called) && r.u16be(s.pdu_length);
}

VarItems::VarItems(std::span<const uint8_t> param) : p_(param) {
  if (p_.size() >= 2) count_ = p_[1];
}

bool VarItems::next(VarItem& item) {
  if (seen_ >= count_) return false;
  ByteReader r(p_);
  if (!r.skip(off_)) return false;
  item = VarItem{};
  std::span<const uint8_t> spec;
  if (!r.u8(item.spec_type) || !r.u8(item.spec_length) || !r.bytes(item.spec_length, spec)) {
    truncated_ = true;
    return false;
  }
  off_ = r.pos();
  ++seen_;
  ByteReader s(spec);
  if (!s.u8(item.syntax_id)) return true;
  // S7ANY (syntax 0x10): transport size, count, DB, area, 3-byte bit address (spec length 10).
  if (item.syntax_id == kSyntaxS7Any && item.spec_length >= 10) {
    uint8_t a[3] = {};
    s.u8(item.transport_size);
    s.u16be(item.count);
    s.u16be(item.db);
    s.u8(item.area);
    s.u8(a[0]);
    s.u8(a[1]);
    s.u8(a[2]);
    const uint32_t bits = (uint32_t{a[0]} << 16) | (uint32_t{a[1]} << 8) | a[2];
    item.byte_address = bits >> 3;
    item.bit = static_cast<uint8_t>(bits & 7);
    item.s7any = true;
  }
  return true;
}

bool DataItems::next(DataItem& item) {
  ByteReader r(d_);
  if (!r.skip(off_) || r.empty()) return false;
  item = DataItem{};
  if (!r.u8(item.return_code) || !r.u8(item.transport_size) || !r.u16be(item.length)) {
    truncated_ = true;
    return false;
  }
  // Transport sizes 3 (BIT), 4 (BYTE/WORD/DWORD) and 5 (INTEGER) give the length in bits.
  size_t bytes = item.length;
  if (item.transport_size == 0x03 || item.transport_size == 0x04 || item.transport_size == 0x05)
    bytes = (size_t{item.length} + 7) / 8;
  if (!r.bytes(bytes, item.value)) {
    // A failed read (return code other than 0xFF) may carry no value at all.
    item.value = r.rest();
    r.skip(r.remaining());
    truncated_ = bytes > 0 && item.return_code == 0xFF;
    off_ = r.pos();
    return true;
  }
  // Values are padded to an even length, except the last.
  if ((bytes & 1) && r.remaining() > 0) r.skip(1);
  off_ = r.pos();
  return true;
}

namespace {

bool is_digits(std::span<const uint8_t> s) {
  if (s.empty()) return false;
  for (uint8_t c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool parse_block_transfer(std::span<const uint8_t> param, std::span<const uint8_t> data, bool is_job,
                          BlockTransfer& out) {
  out = BlockTransfer{};
  ByteReader r(param);
  if (!r.u8(out.function)) return false;
  const uint8_t f = out.function;
  if (f < kRequestDownload || f > kEndUpload) return false;
  if (!is_job) {
    // Ack_Data: function status, then for start upload the session id and the block length as text.
    out.has_status = r.u8(out.status);
    if (f == kStartUpload) {
      uint8_t n = 0;
      std::span<const uint8_t> len;
      if (r.skip(2) && r.u32be(out.session_id)) out.has_session = true;
      if (out.has_session && r.u8(n) && r.bytes(n, len) && is_digits(len) && len.size() <= 9) {
        uint32_t v = 0;
        for (uint8_t c : len) v = v * 10 + static_cast<uint32_t>(c - '0');
        out.blocklength = v;
        out.has_blocklength = true;
      }
    } else if (f == kUpload || f == kDownloadBlock) {
      // The block data: length (2), 0x00FB, bytes.
      ByteReader d(data);
      uint16_t len = 0;
      if (d.u16be(len)) {
        out.blocklength = len;
        out.has_blocklength = true;
      }
    }
    return true;
  }
  // Job: function status, two bytes (an error code in end upload / download ended), the session id.
  if (!r.u8(out.status)) return false;
  out.has_status = true;
  if (!r.skip(2) || !r.u32be(out.session_id)) return true;
  out.has_session = true;
  if (f == kUpload || f == kEndUpload) return true;
  uint8_t n = 0;
  if (r.u8(n)) r.bytes(n, out.filename);
  return true;
}

BlockFilename split_block_filename(std::span<const uint8_t> filename) {
  BlockFilename b;
  const auto part = [&](size_t from, size_t n) {
    if (filename.size() <= from) return std::span<const uint8_t>{};
    return filename.subspan(from, std::min(n, filename.size() - from));
  };
  b.block_type = part(1, 2);
  b.block_number = part(3, 5);
  b.filesystem = part(8, 1);
  return b;
}

bool parse_plc_control(std::span<const uint8_t> param, PiService& out) {
  out = PiService{};
  ByteReader r(param);
  uint8_t f = 0, n = 0;
  uint16_t plen = 0;
  return r.u8(f) && f == kPlcControl && r.skip(7) && r.u16be(plen) && r.bytes(plen, out.parameter) && r.u8(n) &&
         r.bytes(n, out.service);
}

bool parse_plc_stop(std::span<const uint8_t> param, PiService& out) {
  out = PiService{};
  ByteReader r(param);
  uint8_t f = 0, n = 0;
  return r.u8(f) && f == kPlcStop && r.skip(5) && r.u8(n) && r.bytes(n, out.service);
}

bool parse_userdata_param(std::span<const uint8_t> param, UserdataParam& u) {
  u = UserdataParam{};
  ByteReader r(param);
  if (!r.u8(u.head[0]) || !r.u8(u.head[1]) || !r.u8(u.head[2]) || !r.u8(u.length) || !r.u8(u.method) ||
      !r.u8(u.type_group) || !r.u8(u.subfunction) || !r.u8(u.sequence))
    return false;
  u.type = u.type_group >> 4;
  u.group = u.type_group & 0x0F;
  // Responses (length 8) add data unit reference, last data unit and error code. The mode-transition
  // push of older CPUs (head 0x010010, length 16) stops after the sequence number: Wireshark reads its
  // sub-function byte as the current mode.
  if (u.length >= 8 && r.remaining() >= 4) {
    u.has_extension = r.u8(u.data_unit_ref) && r.u8(u.last_data_unit) && r.u16be(u.error_code);
  }
  return true;
}

bool parse_userdata_data(std::span<const uint8_t> data, UserdataData& d) {
  d = UserdataData{};
  ByteReader r(data);
  if (!r.u8(d.return_code) || !r.u8(d.transport_size) || !r.u16be(d.length)) return false;
  d.payload = r.rest().first(std::min<size_t>(d.length, r.remaining()));
  return true;
}

bool parse_szl(std::span<const uint8_t> payload, bool response, SzlHeader& s) {
  s = SzlHeader{};
  ByteReader r(payload);
  if (!r.u16be(s.id) || !r.u16be(s.index)) return false;
  if (response && r.u16be(s.record_length) && r.u16be(s.record_count)) {
    s.has_list = true;
    s.records = r.rest();
  }
  return true;
}

bool parse_szl_xy11_record(std::span<const uint8_t> rec, SzlModuleRecord& out) {
  out = SzlModuleRecord{};
  ByteReader r(rec);
  return r.u16be(out.index) && r.bytes(20, out.order_number) && r.u16be(out.module_type) && r.u16be(out.ausbg) &&
         r.u16be(out.ausbe);
}

bool parse_szl_xy1c_record(std::span<const uint8_t> rec, SzlComponentRecord& out) {
  out = SzlComponentRecord{};
  ByteReader r(rec);
  return r.u16be(out.index) && r.bytes(std::min<size_t>(r.remaining(), 32), out.text) && !out.text.empty();
}

std::span<const uint8_t> trim_szl_text(std::span<const uint8_t> text) {
  // Fields are NUL-terminated or padded with spaces (Siemens pads MLFB with blanks).
  size_t n = 0;
  while (n < text.size() && text[n] != 0) ++n;
  while (n > 0 && text[n - 1] == ' ') --n;
  size_t b = 0;
  while (b < n && text[b] == ' ') ++b;
  return text.subspan(b, n - b);
}

}  // namespace ots::s7
