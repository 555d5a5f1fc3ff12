// The Modbus/TCP wire grammar: MBAP header and PDU, bytes → struct. Pure: no state, no allocation, no
// exceptions; every field a view into the caller's bytes. Fuzzable on its own (modbus_fuzz.cpp).
//
// References: "MODBUS Messaging on TCP/IP Implementation Guide V1.0b" (MBAP, §3.1.3) and "MODBUS
// Application Protocol Specification V1.1b3" (PDUs, §4-§7; section numbers below are from it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ots::modbus {

// MBAP: transaction id (2), protocol id (2), length (2), unit id (1). The length counts the unit id and the
// PDU; a PDU is at most 253 bytes (§4.1), so 2 <= length <= 254 and an ADU is at most 260 bytes.
inline constexpr size_t kMbapSize = 7;
inline constexpr uint16_t kMinLength = 2;
inline constexpr uint16_t kMaxLength = 254;
inline constexpr size_t kMaxAdu = 6 + kMaxLength;
inline constexpr size_t kMaxPdu = kMaxLength - 1;

struct MbapHeader {
  uint16_t tid = 0;
  uint16_t protocol_id = 0;
  uint16_t length = 0;
  uint8_t unit = 0;
  size_t adu_size() const { return 6u + length; }
};

enum class HeaderStatus : uint8_t {
  Ok,
  NeedMore,       // fewer than kMbapSize bytes
  BadProtocolId,  // not 0 (V1.0b §3.1.3: "0 = MODBUS protocol")
  BadLength,      // outside 2..254
};

// Reads the MBAP header at the start of `bytes`; `out` is filled whenever 7 bytes are there.
HeaderStatus parse_mbap(std::span<const uint8_t> bytes, MbapHeader& out);

enum class Plausible : uint8_t { No, Yes, NeedMore };

// Whether an ADU plausibly starts at `bytes[0]`, for resynchronising after a gap: protocol id 0, a sane
// length, and a function code that is public, user-defined or one Zeek names (exception bit ignored). When
// the whole ADU and the next header's protocol id are in `bytes`, that protocol id must be 0 as well.
Plausible plausible_adu_start(std::span<const uint8_t> bytes);

// What is wrong with a PDU. Each maps to a weird name (pdu_error_weird). Fields are filled as far as the
// bytes allowed even when an error is reported.
enum class PduError : uint8_t {
  None,
  Empty,                   // no function code
  TooShort,                // the function's fixed fields are missing
  BadByteCount,            // a byte count disagrees with the bytes present or with the quantity
  BadQuantity,             // a quantity outside the function's range
  BadCoilValue,            // write single coil value not 0x0000 / 0xFF00 (§6.5)
  TrailingBytes,           // bytes after the function's fields
  UnknownException,        // exception code not defined in §7
  DiagInvalidData,         // diagnostics request data of the wrong size or value (Zeek's weird name)
  DiagUnknownSubfunction,  // diagnostics sub-function not in §6.8.1 (Zeek's weird name)
  UnknownMeiType,          // function 43 MEI type other than 13 / 14
  BadDeviceId,             // Read Device Identification fields or object list malformed (§6.21)
  BadFileRecord,           // file record sub-request malformed (§6.14, §6.15)
  BadFifoCount,            // FIFO count above 31 (§6.18)
  ExceptionInRequest,      // the client sent a function code with the exception bit set
};

std::string_view pdu_error_weird(PduError e);

enum class ValueKind : uint8_t { None, Coils, Registers };

struct Pdu {
  uint8_t function = 0;          // raw function byte, exception bit included
  bool is_request = true;
  bool exception = false;        // function & 0x80 in a response
  int16_t exception_code = -1;   // when exception and present
  int32_t subfunction = -1;      // diagnostics sub-function (FC 8), MEI type (FC 43)
  // Request target; FC 23: the read range. Responses that echo them (FC 5, 6, 15, 16, 22) fill them too.
  int32_t address = -1;
  int32_t quantity = -1;         // FC 20/21: sub-requests; FC 24 response: FIFO count
  int32_t write_address = -1;    // FC 23 request
  int32_t write_quantity = -1;   // FC 23 request
  uint16_t value = 0;            // FC 5/6 value; FC 7 response: output data; FC 11 response: status
  uint16_t and_mask = 0;         // FC 22
  uint16_t or_mask = 0;          // FC 22
  // Coil bits (FC 1/2 responses, FC 15 request; LSB of the first byte first, §6.1) or big-endian
  // registers (FC 3/4/23/24 responses, FC 16/23 requests: the written ones).
  ValueKind values_kind = ValueKind::None;
  std::span<const uint8_t> values;
  uint32_t value_count = 0;      // coils: bits meant (quantity for FC 15, byte count * 8 for responses)
  // FC 8: data after the sub-function; FC 43: after the MEI type; FC 12/17: after the byte count;
  // FC 20/21: the sub-requests; unknown functions: everything after the function code.
  std::span<const uint8_t> data;
  PduError error = PduError::None;

  // Inline: a read response's row reads every register through here (bounds-checked: 0 past the values).
  uint16_t register_at(size_t i) const {  // i < register_count()
    if (2 * i + 1 >= values.size()) return 0;
    return static_cast<uint16_t>((values[2 * i] << 8) | values[2 * i + 1]);
  }
  bool coil_at(size_t i) const {  // i < value_count
    if (i / 8 >= values.size()) return false;
    return (values[i / 8] >> (i % 8)) & 1;
  }
  size_t register_count() const { return values_kind == ValueKind::Registers ? values.size() / 2 : 0; }
};

// Parses one PDU (function code and data, the bytes after the MBAP unit id).
void parse_pdu(std::span<const uint8_t> pdu, bool is_request, Pdu& out);

// Read Device Identification (FC 43 / MEI 14, §6.21), from Pdu::data.
struct DeviceIdRequest {
  uint8_t read_code = 0;  // 1 basic, 2 regular, 3 extended (stream), 4 one specific object
  uint8_t object_id = 0;
};
bool parse_device_id_request(std::span<const uint8_t> data, DeviceIdRequest& out);

struct DeviceIdObject {
  uint8_t id = 0;
  std::span<const uint8_t> value;
};

struct DeviceIdResponse {
  uint8_t read_code = 0;
  uint8_t conformity_level = 0;
  uint8_t more_follows = 0;     // 0x00 or 0xFF
  uint8_t next_object_id = 0;
  uint8_t object_count = 0;     // as announced
  std::span<const uint8_t> objects;  // the object list, walked with DeviceIdObjects
};
// False when the fixed fields are missing or the object list does not hold object_count well-formed
// objects exactly.
bool parse_device_id_response(std::span<const uint8_t> data, DeviceIdResponse& out);

// Walks an object list; stops at the first object that does not fit.
class DeviceIdObjects {
 public:
  explicit DeviceIdObjects(const DeviceIdResponse& r) : rest_(r.objects), left_(r.object_count) {}
  bool next(DeviceIdObject& out);

 private:
  std::span<const uint8_t> rest_;
  uint8_t left_;
};

// File record sub-responses of FC 20 (§6.14) and sub-requests of FC 21 (§6.15), from Pdu::data.
struct FileRecord {
  uint8_t ref_type = 0;
  uint16_t file_number = 0;      // FC 21
  uint16_t record_number = 0;    // FC 21
  uint16_t record_length = 0;    // FC 21: in registers; FC 20 response: the sub-response's byte length
  std::span<const uint8_t> data; // record data
};
class FileRecords {
 public:
  // `write` selects the FC 21 layout (ref type, file, record, length, data) over FC 20's response layout
  // (length, ref type, data).
  FileRecords(std::span<const uint8_t> data, bool write) : rest_(data), write_(write) {}
  bool next(FileRecord& out);

 private:
  std::span<const uint8_t> rest_;
  bool write_;
};

}  // namespace ots::modbus
