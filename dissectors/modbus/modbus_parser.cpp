#include "dissectors/modbus/modbus_parser.hpp"

#include "capture/byte_reader.hpp"
#include "dissectors/modbus/modbus_functions.hpp"

namespace ots::modbus {
namespace {

// The first error found is the one reported.
void fail(Pdu& p, PduError e) {
  if (p.error == PduError::None) p.error = e;
}

void expect_end(const ByteReader& r, Pdu& p) {
  if (!r.empty()) fail(p, PduError::TrailingBytes);
}

bool read_u16(ByteReader& r, Pdu& p, int32_t& out) {
  uint16_t v;
  if (!r.u16be(v)) {
    fail(p, PduError::TooShort);
    return false;
  }
  out = v;
  return true;
}

bool read_u16(ByteReader& r, Pdu& p, uint16_t& out) {
  if (!r.u16be(out)) {
    fail(p, PduError::TooShort);
    return false;
  }
  return true;
}

void check_quantity(Pdu& p, int32_t q, int32_t max) {
  if (q < 1 || q > max) fail(p, PduError::BadQuantity);
}

// `want` bytes, or what is left of a short PDU (BadByteCount): a short PDU still shows what arrived.
std::span<const uint8_t> take_bytes(ByteReader& r, Pdu& p, size_t want) {
  std::span<const uint8_t> v;
  if (!r.bytes(want, v)) {
    fail(p, PduError::BadByteCount);
    v = r.rest();
    r.skip(v.size());
  }
  return v;
}

// A byte count, then that many bytes (take_bytes). False when even the count is missing.
bool read_counted(ByteReader& r, Pdu& p, uint8_t& n, std::span<const uint8_t>& out) {
  if (!r.u8(n)) {
    fail(p, PduError::TooShort);
    return false;
  }
  out = take_bytes(r, p, n);
  return true;
}

// Register values: whole 16-bit words only.
void set_registers(Pdu& p, std::span<const uint8_t> v) {
  p.values_kind = ValueKind::Registers;
  p.values = v.first(v.size() & ~size_t{1});
  p.value_count = static_cast<uint32_t>(p.values.size() / 2);
}

// FC 5 and 6 (§6.5, §6.6): address and value, alike in the request and its echo.
void parse_write_single(ByteReader& r, Pdu& p) {
  if (!read_u16(r, p, p.address) || !read_u16(r, p, p.value)) return;
  if (p.function == kWriteSingleCoil && p.value != 0x0000 && p.value != 0xFF00) fail(p, PduError::BadCoilValue);
  p.quantity = 1;
  expect_end(r, p);
}

// FC 22 (§6.16): address, AND mask, OR mask, alike in the request and its echo.
void parse_mask_write(ByteReader& r, Pdu& p) {
  if (!read_u16(r, p, p.address) || !read_u16(r, p, p.and_mask) || !read_u16(r, p, p.or_mask)) return;
  expect_end(r, p);
}

// FC 1-4 requests (§6.1-§6.4), FC 24's pointer, FC 15/16 responses: address and quantity.
void parse_range(ByteReader& r, Pdu& p, int32_t max_quantity) {
  if (!read_u16(r, p, p.address) || !read_u16(r, p, p.quantity)) return;
  if (max_quantity > 0) check_quantity(p, p.quantity, max_quantity);
  expect_end(r, p);
}

// Byte count then that many bytes, as FC 1-4 and 23 responses carry their values.
void parse_counted_values(ByteReader& r, Pdu& p, ValueKind kind) {
  uint8_t n;
  std::span<const uint8_t> v;
  if (!read_counted(r, p, n, v)) return;
  if (kind == ValueKind::Registers) {
    if (n % 2 != 0) fail(p, PduError::BadByteCount);
    set_registers(p, v);
  } else {
    p.values_kind = kind;
    p.values = v;
    p.value_count = static_cast<uint32_t>(v.size() * 8);
  }
  expect_end(r, p);
}

void parse_diagnostics(ByteReader& r, Pdu& p) {
  uint16_t sub;
  if (!read_u16(r, p, sub)) return;
  p.subfunction = sub;
  p.data = r.rest();
  if (!p.is_request) return;
  // §6.8.1: every sub-function but Return Query Data (0x00) carries exactly one 2-byte word; these are the
  // checks Zeek's analyzer applies too, under the same weird names.
  const auto& d = p.data;
  const bool sized = d.size() >= 2 && d.size() % 2 == 0 && (sub == 0x00 || d.size() == 2);
  if (!sized) return fail(p, PduError::DiagInvalidData);
  switch (sub) {
    case 0x00:
      break;
    case 0x01:  // Restart Communications Option: 0x0000 or 0xFF00
      if ((d[0] != 0x00 && d[0] != 0xFF) || d[1] != 0x00) fail(p, PduError::DiagInvalidData);
      break;
    case 0x03:  // Change ASCII Input Delimiter: a character, then 0x00
      if (d[0] > 0x7F || d[1] != 0x00) fail(p, PduError::DiagInvalidData);
      break;
    case 0x02: case 0x04: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x0E: case 0x0F:
    case 0x10: case 0x11: case 0x12: case 0x14:
      if (d[0] != 0x00 || d[1] != 0x00) fail(p, PduError::DiagInvalidData);
      break;
    default:
      fail(p, PduError::DiagUnknownSubfunction);
  }
}

// §6.14: sub-requests of 7 bytes (reference type 6, file number, record number <= 0x270F, length).
void parse_read_file_record_request(ByteReader& r, Pdu& p) {
  uint8_t n;
  std::span<const uint8_t> subs;
  if (!read_counted(r, p, n, subs)) return;
  p.data = subs;
  if (n < 0x07 || n > 0xF5 || n % 7 != 0) fail(p, PduError::BadByteCount);
  ByteReader s(subs);
  int32_t count = 0;
  while (s.remaining() >= 7) {
    uint8_t type = 0;
    uint16_t file = 0, record = 0, len = 0;
    s.u8(type), s.u16be(file), s.u16be(record), s.u16be(len);
    if (type != 6 || file == 0 || record > 0x270F) fail(p, PduError::BadFileRecord);
    ++count;
  }
  p.quantity = count;
  expect_end(r, p);
}

void parse_file_record_list(ByteReader& r, Pdu& p, bool write) {
  uint8_t n;
  std::span<const uint8_t> subs;
  if (!read_counted(r, p, n, subs)) return;
  p.data = subs;
  FileRecords recs(subs, write);
  FileRecord rec;
  int32_t count = 0;
  size_t used = 0;
  while (recs.next(rec)) {
    if (rec.ref_type != 6) fail(p, PduError::BadFileRecord);
    used += write ? 7 + rec.data.size() : 2 + rec.data.size();
    ++count;
  }
  if (used != subs.size()) fail(p, PduError::BadFileRecord);
  p.quantity = count;
  expect_end(r, p);
}

void parse_encapsulated(ByteReader& r, Pdu& p) {
  uint8_t mei;
  if (!r.u8(mei)) return fail(p, PduError::TooShort);
  p.subfunction = mei;
  p.data = r.rest();
  if (mei == kMeiReadDeviceId) {
    if (p.is_request) {
      DeviceIdRequest q;
      if (!parse_device_id_request(p.data, q)) fail(p, PduError::BadDeviceId);
      else if (p.data.size() != 2) fail(p, PduError::TrailingBytes);
      p.address = q.object_id;
    } else {
      DeviceIdResponse d;
      if (!parse_device_id_response(p.data, d)) fail(p, PduError::BadDeviceId);
      p.quantity = d.object_count;
    }
  } else if (mei != kMeiCanopen) {
    fail(p, PduError::UnknownMeiType);
  }
}

void parse_request(ByteReader& r, Pdu& p) {
  switch (p.function) {
    case kReadCoils:
    case kReadDiscreteInputs:
      return parse_range(r, p, 2000);  // §6.1, §6.2: 1..0x7D0
    case kReadHoldingRegisters:
    case kReadInputRegisters:
      return parse_range(r, p, 125);  // §6.3, §6.4: 1..0x7D
    case kWriteSingleCoil:
    case kWriteSingleRegister:
      return parse_write_single(r, p);
    case kReadExceptionStatus:
    case kGetCommEventCounter:
    case kGetCommEventLog:
    case kReportServerId:
      return expect_end(r, p);  // no data (§6.7, §6.9, §6.10, §6.13)
    case kDiagnostics:
      return parse_diagnostics(r, p);
    case kWriteMultipleCoils:
    case kWriteMultipleRegisters: {
      const bool coils = p.function == kWriteMultipleCoils;
      if (!read_u16(r, p, p.address) || !read_u16(r, p, p.quantity)) return;
      check_quantity(p, p.quantity, coils ? 0x7B0 : 0x7B);  // §6.11, §6.12
      uint8_t n;
      std::span<const uint8_t> v;
      if (!read_counted(r, p, n, v)) return;
      const int32_t want = coils ? (p.quantity + 7) / 8 : p.quantity * 2;
      if (n != want) fail(p, PduError::BadByteCount);
      if (coils) {
        p.values_kind = ValueKind::Coils;
        p.values = v;
        p.value_count = static_cast<uint32_t>(p.quantity < 0 ? 0 : p.quantity);
        if (p.value_count > v.size() * 8) p.value_count = static_cast<uint32_t>(v.size() * 8);
      } else {
        set_registers(p, v);
      }
      return expect_end(r, p);
    }
    case kReadFileRecord:
      return parse_read_file_record_request(r, p);
    case kWriteFileRecord:
      return parse_file_record_list(r, p, true);
    case kMaskWriteRegister:
      return parse_mask_write(r, p);
    case kReadWriteMultipleRegisters: {
      // §6.17: read range, write range, byte count, written registers.
      if (!read_u16(r, p, p.address) || !read_u16(r, p, p.quantity) || !read_u16(r, p, p.write_address) ||
          !read_u16(r, p, p.write_quantity))
        return;
      check_quantity(p, p.quantity, 0x7D);
      check_quantity(p, p.write_quantity, 0x79);
      uint8_t n;
      std::span<const uint8_t> v;
      if (!read_counted(r, p, n, v)) return;
      if (n != p.write_quantity * 2) fail(p, PduError::BadByteCount);
      set_registers(p, v);
      return expect_end(r, p);
    }
    case kReadFifoQueue:
      if (!read_u16(r, p, p.address)) return;
      return expect_end(r, p);
    case kEncapsulatedInterfaceTransport:
      return parse_encapsulated(r, p);
    default:
      p.data = r.rest();  // user-defined and unknown codes: opaque
      return;
  }
}

void parse_response(ByteReader& r, Pdu& p) {
  switch (p.function) {
    case kReadCoils:
    case kReadDiscreteInputs:
      return parse_counted_values(r, p, ValueKind::Coils);
    case kReadHoldingRegisters:
    case kReadInputRegisters:
    case kReadWriteMultipleRegisters:
      return parse_counted_values(r, p, ValueKind::Registers);
    case kWriteSingleCoil:
    case kWriteSingleRegister:
      return parse_write_single(r, p);
    case kReadExceptionStatus: {  // §6.7: one byte of output data
      uint8_t v;
      if (!r.u8(v)) return fail(p, PduError::TooShort);
      p.value = v;
      return expect_end(r, p);
    }
    case kDiagnostics:
      return parse_diagnostics(r, p);
    case kGetCommEventCounter: {  // §6.9: status, event count
      int32_t count;
      if (!read_u16(r, p, p.value) || !read_u16(r, p, count)) return;
      p.quantity = count;
      return expect_end(r, p);
    }
    case kGetCommEventLog:  // §6.10: byte count, status, event count, message count, events
    case kReportServerId: {  // §6.13: byte count, server id, run indicator, additional data
      uint8_t n;
      std::span<const uint8_t> d;
      if (!read_counted(r, p, n, d)) return;
      p.data = d;
      if (p.function == kGetCommEventLog && n < 6) fail(p, PduError::BadByteCount);
      return expect_end(r, p);
    }
    case kWriteMultipleCoils:
      return parse_range(r, p, 0x7B0);
    case kWriteMultipleRegisters:
      return parse_range(r, p, 0x7B);
    case kReadFileRecord:
      return parse_file_record_list(r, p, false);
    case kWriteFileRecord:
      return parse_file_record_list(r, p, true);
    case kMaskWriteRegister:
      return parse_mask_write(r, p);
    case kReadFifoQueue: {  // §6.18: byte count (2), FIFO count (2), values
      uint16_t n, count;
      if (!read_u16(r, p, n) || !read_u16(r, p, count)) return;
      p.quantity = count;
      if (count > 31) fail(p, PduError::BadFifoCount);
      if (n != 2u + 2u * count) fail(p, PduError::BadByteCount);
      set_registers(p, take_bytes(r, p, size_t{count} * 2));
      return expect_end(r, p);
    }
    case kEncapsulatedInterfaceTransport:
      return parse_encapsulated(r, p);
    default:
      p.data = r.rest();
      return;
  }
}

}  // namespace

HeaderStatus parse_mbap(std::span<const uint8_t> bytes, MbapHeader& out) {
  ByteReader r(bytes);
  if (r.remaining() < kMbapSize) return HeaderStatus::NeedMore;
  r.u16be(out.tid);
  r.u16be(out.protocol_id);
  r.u16be(out.length);
  r.u8(out.unit);
  if (out.protocol_id != 0) return HeaderStatus::BadProtocolId;
  if (out.length < kMinLength || out.length > kMaxLength) return HeaderStatus::BadLength;
  return HeaderStatus::Ok;
}

Plausible plausible_adu_start(std::span<const uint8_t> bytes) {
  MbapHeader h;
  const HeaderStatus st = parse_mbap(bytes, h);
  if (st == HeaderStatus::NeedMore) {
    // Reject early on what is there: a protocol id byte that is not zero.
    if ((bytes.size() > 2 && bytes[2] != 0) || (bytes.size() > 3 && bytes[3] != 0)) return Plausible::No;
    return Plausible::NeedMore;
  }
  if (st != HeaderStatus::Ok) return Plausible::No;
  if (bytes.size() < kMbapSize + 1) return Plausible::NeedMore;
  if (!is_plausible_function(bytes[kMbapSize])) return Plausible::No;
  const size_t next = h.adu_size();
  if (bytes.size() >= next + 4 && (bytes[next + 2] != 0 || bytes[next + 3] != 0)) return Plausible::No;
  return Plausible::Yes;
}

std::string_view pdu_error_weird(PduError e) {
  switch (e) {
    case PduError::None: return {};
    case PduError::Empty: return "modbus_pdu_too_short";
    case PduError::TooShort: return "modbus_pdu_too_short";
    case PduError::BadByteCount: return "modbus_bad_byte_count";
    case PduError::BadQuantity: return "modbus_bad_quantity";
    case PduError::BadCoilValue: return "modbus_bad_coil_value";
    case PduError::TrailingBytes: return "modbus_trailing_bytes";
    case PduError::UnknownException: return "modbus_unknown_exception_code";
    case PduError::DiagInvalidData: return "modbus_diag_invalid_request_data";
    case PduError::DiagUnknownSubfunction: return "modbus_diag_unknown_request_subfunction";
    case PduError::UnknownMeiType: return "modbus_unknown_mei_type";
    case PduError::BadDeviceId: return "modbus_bad_device_identification";
    case PduError::BadFileRecord: return "modbus_bad_file_record";
    case PduError::BadFifoCount: return "modbus_bad_fifo_count";
    case PduError::ExceptionInRequest: return "modbus_exception_bit_in_request";
  }
  return "modbus_pdu_error";
}

void parse_pdu(std::span<const uint8_t> pdu, bool is_request, Pdu& out) {
  out = Pdu{};
  out.is_request = is_request;
  ByteReader r(pdu);
  if (!r.u8(out.function)) {
    out.error = PduError::Empty;
    return;
  }
  if (out.function & kExceptionBit) {
    if (is_request) {
      // Not a request the specification allows; the bytes stay opaque.
      out.error = PduError::ExceptionInRequest;
      out.data = r.rest();
      return;
    }
    // §7: an exception response is the function code with the high bit set and one exception code.
    out.exception = true;
    uint8_t code;
    if (!r.u8(code)) return fail(out, PduError::TooShort);
    out.exception_code = code;
    if (!is_known_exception(code)) fail(out, PduError::UnknownException);
    return expect_end(r, out);
  }
  if (is_request) parse_request(r, out);
  else parse_response(r, out);
}

bool parse_device_id_request(std::span<const uint8_t> data, DeviceIdRequest& out) {
  ByteReader r(data);
  if (!r.u8(out.read_code) || !r.u8(out.object_id)) return false;
  return out.read_code >= 1 && out.read_code <= 4;
}

bool parse_device_id_response(std::span<const uint8_t> data, DeviceIdResponse& out) {
  ByteReader r(data);
  if (!r.u8(out.read_code) || !r.u8(out.conformity_level) || !r.u8(out.more_follows) ||
      !r.u8(out.next_object_id) || !r.u8(out.object_count))
    return false;
  out.objects = r.rest();
  // Every announced object must fit and nothing may follow the last one.
  DeviceIdObjects it(out);
  DeviceIdObject o;
  size_t used = 0, n = 0;
  while (it.next(o)) {
    used += 2 + o.value.size();
    ++n;
  }
  return n == out.object_count && used == out.objects.size() &&
         (out.more_follows == 0x00 || out.more_follows == 0xFF);
}

bool DeviceIdObjects::next(DeviceIdObject& out) {
  if (left_ == 0) return false;
  ByteReader r(rest_);
  uint8_t len;
  if (!r.u8(out.id) || !r.u8(len) || !r.bytes(len, out.value)) {
    left_ = 0;
    return false;
  }
  rest_ = r.rest();
  --left_;
  return true;
}

bool FileRecords::next(FileRecord& out) {
  ByteReader r(rest_);
  out = FileRecord{};
  if (write_) {
    // §6.15: reference type, file number, record number, record length (registers), record data.
    if (!r.u8(out.ref_type) || !r.u16be(out.file_number) || !r.u16be(out.record_number) ||
        !r.u16be(out.record_length) || !r.bytes(size_t{out.record_length} * 2, out.data))
      return false;
  } else {
    // §6.14 response: sub-response length (reference type + data), reference type, record data.
    uint8_t len;
    if (!r.u8(len) || len < 1 || !r.u8(out.ref_type) || !r.bytes(len - 1u, out.data)) return false;
    out.record_length = len;
  }
  rest_ = r.rest();
  return true;
}

}  // namespace ots::modbus
