// The typed identity event: what a device says about itself in a protocol's identification exchange
// (Modbus Read Device Identification, an EtherNet/IP ListIdentity reply, S7 SZL module identification).
// The asset inventory (inventory/) consumes it; each dissector fills what its protocol carries.
#pragma once

#include <cstdint>
#include <string_view>

#include "capture/flow.hpp"
#include "capture/net_types.hpp"
#include "dissectors/operation.hpp"

namespace ots {

// Views into the dissector's buffers: valid during the call only; copy what you keep. An empty view is
// a field the protocol did not give.
struct DeviceIdentity {
  uint64_t ts_ns = 0;
  Protocol protocol = Protocol::Modbus;  // which identification: Modbus, Enip or S7comm
  const Conn* conn = nullptr;            // the connection that carried it
  IpAddr device;                         // the device described: the address that sent the identification
  int32_t vendor_id = -1;                // the protocol's numeric vendor id (CIP), -1 when it has none
  std::string_view vendor;               // vendor name
  std::string_view model;                // model / product name
  std::string_view product_code;         // product code, order number (MLFB)
  std::string_view firmware;             // firmware version / revision
  std::string_view serial;               // serial number
  std::string_view device_type;          // device type / profile name
};

class IdentitySink {
 public:
  virtual ~IdentitySink() = default;
  virtual void on_identity(const DeviceIdentity& id) = 0;
};

}  // namespace ots
