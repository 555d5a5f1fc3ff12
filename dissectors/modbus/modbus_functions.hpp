// Modbus function codes: names (Zeek's and our canonical snake_case), lookup by name, and what each
// function does to a device (for read-only conduits and rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dissectors/operation.hpp"

namespace ots::modbus {

// Public function codes (Modbus Application Protocol V1.1b3 §5.1 and §6).
enum Function : uint8_t {
  kReadCoils = 0x01,
  kReadDiscreteInputs = 0x02,
  kReadHoldingRegisters = 0x03,
  kReadInputRegisters = 0x04,
  kWriteSingleCoil = 0x05,
  kWriteSingleRegister = 0x06,
  kReadExceptionStatus = 0x07,
  kDiagnostics = 0x08,
  kGetCommEventCounter = 0x0B,
  kGetCommEventLog = 0x0C,
  kWriteMultipleCoils = 0x0F,
  kWriteMultipleRegisters = 0x10,
  kReportServerId = 0x11,
  kReadFileRecord = 0x14,
  kWriteFileRecord = 0x15,
  kMaskWriteRegister = 0x16,
  kReadWriteMultipleRegisters = 0x17,
  kReadFifoQueue = 0x18,
  kEncapsulatedInterfaceTransport = 0x2B,
};

inline constexpr uint8_t kExceptionBit = 0x80;

// MEI types carried by function 43 (§6.19, §6.20, §6.21).
inline constexpr uint8_t kMeiCanopen = 0x0D;
inline constexpr uint8_t kMeiReadDeviceId = 0x0E;

// Diagnostics sub-functions that change the device's state (§6.8.1).
inline constexpr uint16_t kDiagRestartCommunications = 0x01;
inline constexpr uint16_t kDiagForceListenOnly = 0x04;

// One of the public codes listed above.
bool is_public_function(uint8_t fc);
// User-defined ranges 65-72 and 100-110 (§5 "User Defined Function Codes").
bool is_user_defined_function(uint8_t fc);
// Public, user-defined, or a vendor code Zeek names (PROGRAM_484, PROGRAM_UNITY, ...); the exception bit
// is ignored. What a resynchronising parser accepts as the start of a PDU.
bool is_plausible_function(uint8_t fc);
// An exception code the specification defines (§7: 1-6, 8, 10, 11).
bool is_known_exception(uint8_t code);

}  // namespace ots::modbus

namespace ots {

// Zeek's name for the raw function byte, as base/protocols/modbus/main.zeek's build_func writes modbus.log's
// func column: Modbus::function_codes[fc], "<NAME>_EXCEPTION" for fc|0x80 of a named code, otherwise
// "unknown-<fc>" (also for user-defined codes). Static storage.
std::string_view modbus_function_name(uint8_t fc);
// Modbus::function_codes[fc] alone (what ICSNPP writes): "unknown-129" for 0x81.
std::string_view modbus_zeek_function_codes(uint8_t fc);
// Canonical snake_case name of fc & 0x7f for operation events and the zone/conduit config:
// "read_holding_registers", ..., "user_defined" for 65-72/100-110, "unknown" otherwise.
std::string_view modbus_function_snake_name(uint8_t fc);

// A function code from a name or number, case-insensitively: Zeek's names ("READ_HOLDING_REGISTERS",
// "REPORT_SLAVE_ID", "ENCAP_INTERFACE_TRANSPORT"), our snake_case ones ("read_holding_registers",
// "report_server_id", "encapsulated_interface_transport"), decimal or 0x-hex numbers 0..255, and Zeek's
// "unknown-N". nullopt when nothing matches.
std::optional<uint8_t> modbus_function_from_name(std::string_view name);

// Zeek's Modbus::exception_codes name ("ILLEGAL_FUNCTION", ...), "unknown-N" otherwise. Static storage.
std::string_view modbus_exception_name(uint8_t code);

// What a request does (fc without the exception bit). `subfunction` is the diagnostics sub-function or
// the MEI type, -1 when absent.
OpClass modbus_op_class(uint8_t fc, int32_t subfunction);
// The read-only set of issue 5: FC 1, 2, 3, 4, 7, 11, 12, 17, 20, 24 and 43 with MEI 14.
bool modbus_read_only(uint8_t fc, int32_t subfunction);

}  // namespace ots
