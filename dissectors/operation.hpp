// The typed operation event every ICS dissector emits: what zones/conduits policy and rules check.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "capture/flow.hpp"

namespace ots {

// The protocol names of the site model and the rules (lower case there).
enum class Protocol : uint8_t { Modbus, Dnp3, Enip, Cip, S7comm, S7commPlus, Aqat, Count_ };
std::string_view protocol_name(Protocol p);  // "modbus", "dnp3", "enip", "cip", "s7comm", "s7comm-plus", "aqat"

// What an operation does to the device, for read-only conduits and rules.
enum class OpClass : uint8_t { Read, Write, Control, Other };

struct OperationEvent {
  uint64_t ts_ns = 0;
  const Conn* conn = nullptr;
  bool is_orig = true;            // sent by the connection's originator
  bool is_request = true;         // requests come from the client/master; responses are never policy operations
  Protocol protocol = Protocol::Modbus;
  uint32_t code = 0;              // function / service code (Modbus FC, DNP3 FC, S7 function, CIP service)
  std::string_view name;          // canonical snake_case name ("read_holding_registers", "direct_operate")
  OpClass op_class = OpClass::Other;
  bool read_only = false;         // in the protocol's read-only set (issue 5's table)
  bool wrapper = false;           // carries other operations (CIP Multiple Service Packet, Unconnected Send),
                                  // each reported on its own: not an operation itself for policy (issue 5)
  int32_t subfunction = -1;       // Modbus diagnostics sub-function, MEI type; S7 userdata sub-function
  int64_t unit = -1;              // Modbus unit id, DNP3 destination address, S7 rack/slot, ...
  int64_t address = -1;           // first register/coil/point/byte address
  int64_t quantity = -1;
  int32_t exception = -1;         // response: exception / status code, -1 for success or n/a
  // Protocol-specific targets (-1 when absent).
  int32_t dnp3_object_group = -1;
  int32_t s7_area = -1;
  int32_t s7_db = -1;
  int32_t cip_class = -1;
  int32_t cip_instance = -1;
  int32_t cip_attribute = -1;
  std::span<const uint8_t> pdu;   // the operation's PDU bytes, for content rules
};

class OperationSink {
 public:
  virtual ~OperationSink() = default;
  virtual void on_operation(const OperationEvent& ev) = 0;

  // False while nothing reads an event's fields (no rules, no zone model): an analyzer then counts the
  // operation (count_operation) instead of naming and classifying it for on_operation, which would only
  // have counted it too.
  bool wants_events() const { return wants_events_; }
  void count_operation() { ++counted_; }
  uint64_t counted_operations() const { return counted_; }

 protected:
  bool wants_events_ = true;

 private:
  uint64_t counted_ = 0;
};

}  // namespace ots
