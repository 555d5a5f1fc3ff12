// S7comm / S7comm-plus over ISO-on-TCP (TPKT + COTP, TCP 102): the module the pipeline registers, the
// analyzer's options, and what it tells the rest of the sensor besides logs and operation events (module
// identification from SZL reads, for the asset inventory).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "dissectors/analyzer.hpp"
#include "dissectors/s7comm/s7comm_names.hpp"

namespace ots {

// Service "s7comm", TCP 102; logs cotp, s7comm, s7comm_read_szl, s7comm_upload_download, s7comm_plus.
// A flow is confirmed by its first S7comm (0x32) or S7comm-plus (0x72) PDU, or by TLS inside COTP (S7
// firmware from TIA V17 on); ISO-on-TCP carrying anything else (IEC 61850 MMS shares port 102) is
// rejected. S7comm-plus flows confirm this same module: their operation events carry
// Protocol::S7commPlus, which is what policy keys on.
extern const DissectorModule kS7commModule;

// What a PLC says about itself in SZL 0x0011 / 0x0111 (module identification) and 0x001C / 0x011C
// (component identification) responses, accumulated over the connection: every event carries all that
// the connection has shown so far. Views into the analyzer's state: copy what you keep before returning
// from the callback. Empty when not (yet) seen.
struct S7ModuleIdentification {
  uint64_t ts_ns = 0;
  const Conn* conn = nullptr;
  bool plc_is_responder = true;   // the PLC (the SZL response's sender) is conn->id().resp_h
  uint16_t szl_id = 0;            // the response that completed this event
  std::string_view order_number;  // MLFB, e.g. "6ES7 315-2EH14-0AB0" (xy11 index 0x0001)
  std::string_view firmware_version;  // "V3.2.6" (xy11 index 0x0007, else index 0x0001)
  uint16_t module_type_id = 0;    // BGTyp of index 0x0001
  std::string_view system_name;   // automation system name (xy1C index 0x0001)
  std::string_view module_name;   // 0x0002
  std::string_view plant_id;      // plant identification / module tag (0x0003)
  std::string_view copyright;     // 0x0004 ("Original Siemens Equipment")
  std::string_view serial_number; // 0x0005
  std::string_view module_type_name;  // 0x0007 ("CPU 315-2 PN/DP")
  std::string_view memory_card_serial;  // 0x0008
  // The COTP connection's TSAPs (ISO 8073 CR parameters 0xC1 / 0xC2), raw; an S7 called TSAP is
  // 0x01-0x03 (connection type) then rack * 32 + slot.
  std::span<const uint8_t> calling_tsap;
  std::span<const uint8_t> called_tsap;
};

struct S7commOptions {
  // Called on the worker's thread after each complete module / component identification SZL response
  // (tests, tools). The asset inventory gets a DeviceIdentity through AnalyzerContext::identities, which
  // is per worker; these options are shared by all workers.
  std::function<void(const S7ModuleIdentification&)> on_module_identification;
  // Largest TSDU reassembled from COTP DT TPDUs without EOT (S7 PDUs are at most 960 bytes; S7comm-plus
  // messages fragment at their own layer). A longer one is a weird and dropped.
  size_t max_tsdu = 65536;
  // Jobs awaiting their Ack_Data, per connection (S7 allows at most "max AMQ" of them; 8 to 32 in
  // practice); beyond it the oldest is forgotten.
  uint32_t max_outstanding = 32;
};

// The options kS7commModule's factory hands every new analyzer. Set them at start-up, before workers run.
S7commOptions& s7comm_module_options();

// An analyzer with explicit options (tests, tools).
std::unique_ptr<Analyzer> make_s7comm_analyzer(const AnalyzerContext& ctx, const S7commOptions& opts);

}  // namespace ots
