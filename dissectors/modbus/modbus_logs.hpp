// The logs the Modbus analyzer owns: Zeek's modbus.log and ICSNPP-Modbus's four logs, with their
// schemas exactly as those scripts declare them (zeek/zeek scripts/base/protocols/modbus/main.zeek,
// cisagov/icsnpp-modbus scripts/main.zeek).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "capture/flow.hpp"
#include "dissectors/log_fields.hpp"
#include "output/log_manager.hpp"

namespace ots::modbus {

// Order of DissectorModule::logs, hence of AnalyzerContext::log_ids.
enum LogIndex : size_t {
  kLogModbus,
  kLogDetailed,
  kLogReadWriteMultipleRegisters,
  kLogMaskWriteRegister,
  kLogReadDeviceIdentification,
  kLogCount,
};

// The schemas, in LogIndex order (DissectorModule::logs).
extern const LogSchema* const kLogSchemas[kLogCount];

// Writes records for one connection; holds the connection's uid text while a record is written.
class LogWriter {
 public:
  LogWriter(LogSink* sink, const LogId* ids) : sink_(sink), ids_(ids) {}

  // modbus.log: one row per PDU (main.zeek's modbus_message / modbus_exception handlers).
  void modbus(const Conn& c, uint64_t ts_ns, uint16_t tid, uint8_t unit, uint8_t function, bool is_orig,
              int exception_code);

  // modbus_detailed.log: one row per request/response pair (ICSNPP pairs them by transaction id).
  struct Detailed {
    uint64_t ts_ns = 0;
    uint16_t tid = 0;
    uint8_t unit = 0;
    std::string_view func;
    int64_t address = -1;
    int64_t quantity = -1;
    std::optional<std::span<const uint64_t>> request_values;
    std::optional<std::span<const uint64_t>> response_values;
    std::optional<std::string_view> link_id;
    std::optional<bool> matched;
    std::optional<std::string_view> request_subfunction;
    std::optional<std::string_view> response_subfunction;
    std::optional<std::string_view> request_data;
    std::optional<std::string_view> response_data;
    std::optional<std::string_view> exception_code;
    std::optional<std::string_view> mei_type;
  };
  void detailed(const Conn& c, const Detailed& d);

  // The ICSNPP per-function logs share these leading columns after is_orig/source/destination.
  struct Common {
    uint64_t ts_ns = 0;
    bool is_orig = true;
    std::string_view link_id;
    uint16_t tid = 0;
    uint8_t unit = 0;
    std::string_view func;
  };
  void mask_write_register(const Conn& c, const Common& k, uint16_t address, uint16_t and_mask, uint16_t or_mask);
  // Request: write/read ranges and written registers; response: read registers (unset fields: nullopt).
  void read_write_multiple_registers(const Conn& c, const Common& k, std::optional<uint16_t> write_start,
                                     std::optional<std::span<const uint64_t>> write_registers,
                                     std::optional<uint16_t> read_start, std::optional<uint16_t> read_quantity,
                                     std::optional<std::span<const uint64_t>> read_registers);
  struct DeviceIdRow {
    uint8_t device_id_code = 0;
    std::optional<uint8_t> conformity_level;  // response rows
    std::optional<uint8_t> object_id;         // request: the requested object; response: the object's id
    std::optional<std::string_view> object_value;
  };
  void read_device_identification(const Conn& c, const Common& k, const DeviceIdRow& row);

 private:
  size_t fill_common(const Conn& c, const Common& k, Value* v);

  LogSink* sink_;
  const LogId* ids_;
  ConnColumns cols_;
  // The rows of the logs written for nearly every PDU, kept from one record to the next (each record sets
  // every value): not default-constructed afresh for each record.
  std::array<Value, kConnColumns + 5> modbus_row_;
  std::array<Value, kConnColumns + 15> detailed_row_;
};

}  // namespace ots::modbus
