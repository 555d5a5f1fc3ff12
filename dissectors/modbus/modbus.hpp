// Modbus/TCP: the module the pipeline registers, the analyzer's options, and what it tells the rest of the
// sensor besides logs and operation events: device identification, as a DeviceIdentity to
// AnalyzerContext::identities (the worker's asset inventory), and in full to the options' hook.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "dissectors/analyzer.hpp"
#include "dissectors/modbus/modbus_functions.hpp"
#include "dissectors/modbus/modbus_parser.hpp"

namespace ots {

// Service "modbus", TCP 502; logs modbus, modbus_detailed, modbus_read_write_multiple_registers,
// modbus_mask_write_register, modbus_read_device_identification.
extern const DissectorModule kModbusModule;

// A Read Device Identification response (FC 43 / MEI 14, Application Protocol §6.21). Views into the
// packet: copy what you keep before returning from the callback.
struct ModbusDeviceIdentification {
  // Object ids of §6.21 (0x07-0x7F reserved, 0x80-0xFF extended, device dependent).
  enum ObjectId : uint8_t {
    kVendorName = 0x00,
    kProductCode = 0x01,
    kMajorMinorRevision = 0x02,
    kVendorUrl = 0x03,
    kProductName = 0x04,
    kModelName = 0x05,
    kUserApplicationName = 0x06,
  };

  uint64_t ts_ns = 0;
  const Conn* conn = nullptr;        // the server is conn->id().resp_h
  uint16_t tid = 0;
  uint8_t unit = 0;
  uint8_t read_code = 0;             // 1 basic, 2 regular, 3 extended, 4 one specific object
  uint8_t conformity_level = 0;
  bool more_follows = false;         // the device has more objects; next_object_id says where to go on
  uint8_t next_object_id = 0;
  std::span<const modbus::DeviceIdObject> objects;  // in wire order, basic, regular and extended alike

  // The value of an object, empty when absent.
  std::string_view object(uint8_t id) const;
  std::string_view vendor_name() const { return object(kVendorName); }
  std::string_view product_code() const { return object(kProductCode); }
  std::string_view major_minor_revision() const { return object(kMajorMinorRevision); }
  std::string_view vendor_url() const { return object(kVendorUrl); }
  std::string_view product_name() const { return object(kProductName); }
  std::string_view model_name() const { return object(kModelName); }
  std::string_view user_application_name() const { return object(kUserApplicationName); }
};

struct ModbusOptions {
  // Called on the worker's thread for every well-formed Read Device Identification response, with every
  // object (tests, tools). The pipeline uses AnalyzerContext::identities instead: options are shared by
  // all workers, the context is each worker's own.
  std::function<void(const ModbusDeviceIdentification&)> on_device_identification;
  // Requests awaiting a response, per connection; beyond it the oldest is given up
  // (weird modbus_too_many_outstanding_requests).
  uint32_t max_outstanding = 64;
  // A request unanswered for this long (packet time) is given up: its modbus_detailed row is written
  // unmatched.
  uint64_t request_timeout_ns = 60'000'000'000ull;
  // A segment that fits the buffer of a direction looking for its next header is scanned on a short path
  // (ModbusAnalyzer::resync_segment); false sends it through the general loop, which the tests hold the
  // short path to.
  bool resync_short_path = true;
};

// The options kModbusModule's factory hands every new analyzer. Set them at start-up, before workers run;
// they are read, never written, on the packet path.
ModbusOptions& modbus_module_options();

// An analyzer with explicit options (tests, tools).
std::unique_ptr<Analyzer> make_modbus_analyzer(const AnalyzerContext& ctx, const ModbusOptions& opts);

}  // namespace ots
