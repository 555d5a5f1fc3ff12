#include "dissectors/modbus/modbus_functions.hpp"

#include <array>
#include <string>
#include <utility>

#include "dissectors/log_fields.hpp"

namespace ots::modbus {
namespace {

struct FunctionNames {
  std::string_view zeek;   // Modbus::function_codes (base/protocols/modbus/consts.zeek)
  std::string_view snake;  // ours
};

// Zeek's table lists the public codes, and the vendor codes Modicon/Schneider devices use; everything else
// is "unknown-N" there (user-defined codes too).
constexpr std::array<FunctionNames, 128> make_names() {
  std::array<FunctionNames, 128> t{};
  t[0x01] = {"READ_COILS", "read_coils"};
  t[0x02] = {"READ_DISCRETE_INPUTS", "read_discrete_inputs"};
  t[0x03] = {"READ_HOLDING_REGISTERS", "read_holding_registers"};
  t[0x04] = {"READ_INPUT_REGISTERS", "read_input_registers"};
  t[0x05] = {"WRITE_SINGLE_COIL", "write_single_coil"};
  t[0x06] = {"WRITE_SINGLE_REGISTER", "write_single_register"};
  t[0x07] = {"READ_EXCEPTION_STATUS", "read_exception_status"};
  t[0x08] = {"DIAGNOSTICS", "diagnostics"};
  t[0x0B] = {"GET_COMM_EVENT_COUNTER", "get_comm_event_counter"};
  t[0x0C] = {"GET_COMM_EVENT_LOG", "get_comm_event_log"};
  t[0x0F] = {"WRITE_MULTIPLE_COILS", "write_multiple_coils"};
  t[0x10] = {"WRITE_MULTIPLE_REGISTERS", "write_multiple_registers"};
  t[0x11] = {"REPORT_SLAVE_ID", "report_server_id"};
  t[0x14] = {"READ_FILE_RECORD", "read_file_record"};
  t[0x15] = {"WRITE_FILE_RECORD", "write_file_record"};
  t[0x16] = {"MASK_WRITE_REGISTER", "mask_write_register"};
  t[0x17] = {"READ_WRITE_MULTIPLE_REGISTERS", "read_write_multiple_registers"};
  t[0x18] = {"READ_FIFO_QUEUE", "read_fifo_queue"};
  t[0x2B] = {"ENCAP_INTERFACE_TRANSPORT", "encapsulated_interface_transport"};
  t[0x5B] = {"OBJECT_MESSAGING", "object_messaging"};
  t[0x09] = {"PROGRAM_484", "program_484"};
  t[0x0A] = {"POLL_484", "poll_484"};
  t[0x0D] = {"PROGRAM_584_984", "program_584_984"};
  t[0x0E] = {"POLL_584_984", "poll_584_984"};
  t[0x12] = {"PROGRAM_884_U84", "program_884_u84"};
  t[0x13] = {"RESET_COMM_LINK_884_U84", "reset_comm_link_884_u84"};
  t[0x28] = {"PROGRAM_CONCEPT", "program_concept"};
  t[0x29] = {"MULTIPLE_FUNCTION_CODES", "multiple_function_codes"};
  t[0x5A] = {"PROGRAM_UNITY", "program_unity"};
  t[0x7D] = {"FIRMWARE_REPLACEMENT", "firmware_replacement"};
  t[0x7E] = {"PROGRAM_584_984_2", "program_584_984_2"};
  t[0x7F] = {"REPORT_LOCAL_ADDRESS", "report_local_address"};
  return t;
}
constexpr std::array<FunctionNames, 128> kNames = make_names();

// Other spellings accepted by the name lookup (Wireshark's and the specification's wording).
struct Alias {
  std::string_view name;
  uint8_t fc;
};
constexpr Alias kAliases[] = {
    {"report_server_id", 0x11},
    {"encapsulated_interface_transport", 0x2B},
    {"read_device_identification", 0x2B},
    {"read_write_register", 0x17},
    {"read_fifo", 0x18},
};

// The tables below name a column of every modbus.log and modbus_detailed row: built at compile time, as
// function-local tables of strings cost their guard and a conversion per call.
using NameText = FixedText<48>;
using NameTable = std::array<NameText, 256>;

constexpr NameText unknown_text(unsigned v) {
  const char digits[] = {static_cast<char>('0' + v / 100), static_cast<char>('0' + v / 10 % 10),
                         static_cast<char>('0' + v % 10)};
  const size_t skip = v >= 100 ? 0 : v >= 10 ? 1 : 2;  // no leading zeros
  NameText t;
  t.append("unknown-");
  t.append(std::string_view(digits + skip, 3 - skip));
  return t;
}

// build_func() of base/protocols/modbus/main.zeek for every byte value.
constexpr NameTable kZeekFunctions = [] {
  NameTable t{};
  for (unsigned i = 0; i < 256; ++i) {
    const unsigned masked = i & 0x7F;
    if (kNames[masked].zeek.empty()) {
      t[i] = unknown_text(i);
      continue;
    }
    t[i].append(kNames[masked].zeek);
    if (i >= 0x80) t[i].append("_EXCEPTION");
  }
  return t;
}();

// Modbus::function_codes[fc] with its &default, as ICSNPP writes func.
constexpr NameTable kZeekCodes = [] {
  NameTable t{};
  for (unsigned i = 0; i < 256; ++i) {
    if (i < 0x80 && !kNames[i].zeek.empty()) {
      t[i].append(kNames[i].zeek);
    } else {
      t[i] = unknown_text(i);
    }
  }
  return t;
}();

constexpr NameTable kExceptions = [] {
  NameTable t{};
  for (unsigned i = 0; i < 256; ++i) t[i] = unknown_text(i);
  // Modbus::exception_codes (base/protocols/modbus/consts.zeek); spec §7 uses "server" for "slave".
  constexpr std::pair<uint8_t, std::string_view> kCodes[] = {
      {0x01, "ILLEGAL_FUNCTION"},     {0x02, "ILLEGAL_DATA_ADDRESS"},     {0x03, "ILLEGAL_DATA_VALUE"},
      {0x04, "SLAVE_DEVICE_FAILURE"}, {0x05, "ACKNOWLEDGE"},              {0x06, "SLAVE_DEVICE_BUSY"},
      {0x08, "MEMORY_PARITY_ERROR"},  {0x0A, "GATEWAY_PATH_UNAVAILABLE"},
      {0x0B, "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND"}};
  for (const auto& [code, name] : kCodes) {
    t[code] = NameText{};
    t[code].append(name);
  }
  return t;
}();

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Decimal or 0x-prefixed hex, 0..255.
std::optional<uint8_t> parse_number(std::string_view s) {
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty() || s.size() > 3) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && lower(c) >= 'a' && lower(c) <= 'f') d = static_cast<unsigned>(lower(c) - 'a' + 10);
    else return std::nullopt;
    v = v * base + d;
  }
  if (v > 255) return std::nullopt;
  return static_cast<uint8_t>(v);
}

}  // namespace

bool is_public_function(uint8_t fc) {
  switch (fc) {
    case kReadCoils: case kReadDiscreteInputs: case kReadHoldingRegisters: case kReadInputRegisters:
    case kWriteSingleCoil: case kWriteSingleRegister: case kReadExceptionStatus: case kDiagnostics:
    case kGetCommEventCounter: case kGetCommEventLog: case kWriteMultipleCoils:
    case kWriteMultipleRegisters: case kReportServerId: case kReadFileRecord: case kWriteFileRecord:
    case kMaskWriteRegister: case kReadWriteMultipleRegisters: case kReadFifoQueue:
    case kEncapsulatedInterfaceTransport:
      return true;
    default:
      return false;
  }
}

bool is_user_defined_function(uint8_t fc) { return (fc >= 65 && fc <= 72) || (fc >= 100 && fc <= 110); }

bool is_plausible_function(uint8_t fc) {
  const uint8_t f = fc & 0x7F;
  return f != 0 && (!kNames[f].zeek.empty() || is_user_defined_function(f));
}

bool is_known_exception(uint8_t code) {
  return (code >= 1 && code <= 6) || code == 8 || code == 10 || code == 11;
}

}  // namespace ots::modbus

namespace ots {

using namespace modbus;

std::string_view modbus_function_name(uint8_t fc) { return kZeekFunctions[fc].view(); }

std::string_view modbus_zeek_function_codes(uint8_t fc) { return kZeekCodes[fc].view(); }

std::string_view modbus_function_snake_name(uint8_t fc) {
  const uint8_t f = fc & 0x7F;
  if (!kNames[f].snake.empty()) return kNames[f].snake;
  return is_user_defined_function(f) ? "user_defined" : "unknown";
}

std::optional<uint8_t> modbus_function_from_name(std::string_view name) {
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  if (auto n = parse_number(name)) return n;
  for (unsigned i = 0; i < 128; ++i) {
    if (kNames[i].zeek.empty()) continue;
    if (iequals(name, kNames[i].zeek) || iequals(name, kNames[i].snake)) return static_cast<uint8_t>(i);
  }
  for (const Alias& a : kAliases) {
    if (iequals(name, a.name)) return a.fc;
  }
  constexpr std::string_view kUnknown = "unknown-";
  if (name.size() > kUnknown.size() && iequals(name.substr(0, kUnknown.size()), kUnknown)) {
    return parse_number(name.substr(kUnknown.size()));
  }
  return std::nullopt;
}

std::string_view modbus_exception_name(uint8_t code) { return kExceptions[code].view(); }

OpClass modbus_op_class(uint8_t fc, int32_t subfunction) {
  switch (fc & 0x7F) {
    case kReadCoils: case kReadDiscreteInputs: case kReadHoldingRegisters: case kReadInputRegisters:
    case kReadExceptionStatus: case kGetCommEventCounter: case kGetCommEventLog: case kReportServerId:
    case kReadFileRecord: case kReadFifoQueue:
      return OpClass::Read;
    case kWriteSingleCoil: case kWriteSingleRegister: case kWriteMultipleCoils: case kWriteMultipleRegisters:
    case kWriteFileRecord: case kMaskWriteRegister: case kReadWriteMultipleRegisters:
      return OpClass::Write;
    case kDiagnostics:
      // §6.8.1: Restart Communications Option and Force Listen Only Mode take the device off the bus or
      // restart its port; Change ASCII Input Delimiter and the Clear sub-functions change its state; the
      // rest return counters.
      switch (subfunction) {
        case kDiagRestartCommunications: case kDiagForceListenOnly:
          return OpClass::Control;
        case 0x03: case 0x0A: case 0x14:
          return OpClass::Write;
        default:
          return OpClass::Read;
      }
    case kEncapsulatedInterfaceTransport:
      // Read Device Identification only reads; a CANopen General Reference may read or write.
      return subfunction == kMeiReadDeviceId ? OpClass::Read : OpClass::Other;
    default:
      return OpClass::Other;
  }
}

bool modbus_read_only(uint8_t fc, int32_t subfunction) {
  switch (fc & 0x7F) {
    case kReadCoils: case kReadDiscreteInputs: case kReadHoldingRegisters: case kReadInputRegisters:
    case kReadExceptionStatus: case kGetCommEventCounter: case kGetCommEventLog: case kReportServerId:
    case kReadFileRecord: case kReadFifoQueue:
      return true;
    case kEncapsulatedInterfaceTransport:
      return subfunction == kMeiReadDeviceId;
    default:
      return false;
  }
}

}  // namespace ots
