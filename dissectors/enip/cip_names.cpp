#include "dissectors/enip/cip_names.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <span>

#include "dissectors/enip/enip_parser.hpp"
#include "dissectors/log_fields.hpp"

namespace ots {
namespace {

struct IdName {
  uint32_t id;
  std::string_view name;
};

#include "dissectors/enip/cip_tables.inc"

template <size_t N>
std::string_view find_sorted(const IdName (&table)[N], uint32_t id) {
  const auto it = std::lower_bound(std::begin(table), std::end(table), id,
                                   [](const IdName& e, uint32_t v) { return e.id < v; });
  return it != std::end(table) && it->id == id ? it->name : std::string_view{};
}

using ServiceDef = CipService;

using OC = OpClass;

// Common services, Vol 1 Appendix A Table.
constexpr ServiceDef kCommon[] = {
    {0x01, "get_attributes_all", "Get Attributes All", OC::Read, true, false},
    {0x02, "set_attributes_all", "Set Attributes All", OC::Write, false, false},
    {0x03, "get_attribute_list", "Get Attribute List", OC::Read, true, false},
    {0x04, "set_attribute_list", "Set Attribute List", OC::Write, false, false},
    {0x05, "reset", "Reset", OC::Control, false, false},
    {0x06, "start", "Start", OC::Control, false, false},
    {0x07, "stop", "Stop", OC::Control, false, false},
    {0x08, "create", "Create", OC::Write, false, false},
    {0x09, "delete", "Delete", OC::Write, false, false},
    {0x0A, "multiple_service_packet", "Multiple Service Packet", OC::Other, false, true},
    {0x0D, "apply_attributes", "Apply Attributes", OC::Write, false, false},
    {0x0E, "get_attribute_single", "Get Attributes Single", OC::Read, true, false},
    {0x10, "set_attribute_single", "Set Attributes Single", OC::Write, false, false},
    {0x11, "find_next_object_instance", "Find Next Object Instance", OC::Read, true, false},
    {0x14, "error_response", "Error Response", OC::Other, false, false},
    {0x15, "restore", "Restore", OC::Write, false, false},
    {0x16, "save", "Save", OC::Write, false, false},
    {0x17, "nop", "No Operation", OC::Other, false, false},
    {0x18, "get_member", "Get Member", OC::Read, false, false},
    {0x19, "set_member", "Set Member", OC::Write, false, false},
    {0x1A, "insert_member", "Insert Member", OC::Write, false, false},
    {0x1B, "remove_member", "Remove Member", OC::Write, false, false},
    {0x1C, "group_sync", "Group Sync", OC::Other, false, false},
    {0x1D, "get_connection_point_member_list", "Get Connection Point Member List", OC::Read, false, false},
};

// Connection Manager object-specific services (Vol 1 §3-5.5).
constexpr ServiceDef kConnectionManager[] = {
    {0x4E, "forward_close", "Forward Close", OC::Other, true, false},
    {0x52, "unconnected_send", "Unconnected Send", OC::Other, false, true},
    {0x54, "forward_open", "Forward Open", OC::Other, true, false},
    {0x56, "get_connection_data", "Get Connection Data", OC::Read, false, false},
    {0x57, "search_connection_data", "Search Connection Data", OC::Read, false, false},
    {0x5A, "get_connection_owner", "Get Connection Owner", OC::Read, false, false},
    {0x5B, "large_forward_open", "Large Forward Open", OC::Other, true, false},
};

// Rockwell Logix services on tags and the symbol/template objects (Rockwell publication 1756-PM020,
// "Logix 5000 Controllers Data Access"), and PCCC encapsulation on class 0x67.
constexpr ServiceDef kLogix[] = {
    {0x4B, "execute_pccc", "Execute PCCC Service", OC::Other, false, false},
    {0x4C, "read_tag", "Read Data", OC::Read, true, false},
    {0x4D, "write_tag", "Write Data", OC::Write, false, false},
    {0x4E, "read_modify_write_tag", "Read Write Modify Data", OC::Write, false, false},
    {0x52, "read_tag_fragmented", "Read Data Fragmented", OC::Read, true, false},
    {0x53, "write_tag_fragmented", "Write Data Fragmented", OC::Write, false, false},
    {0x55, "get_instance_attribute_list", "Get Instance Attribute List", OC::Read, false, false},
};

template <size_t N>
constexpr const ServiceDef* find_service(const ServiceDef (&table)[N], uint8_t code) {
  for (const ServiceDef& d : table) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

constexpr const ServiceDef* resolve(uint8_t service, cip::Target target) {
  const uint8_t code = service & 0x7F;
  if (code < 0x32) return find_service(kCommon, code);
  switch (target) {
    case cip::Target::ConnectionManager:
      return find_service(kConnectionManager, code);
    case cip::Target::Pccc:
      return code == 0x4B ? find_service(kLogix, code) : nullptr;
    case cip::Target::Unknown:
      if (const ServiceDef* d = find_service(kConnectionManager, code)) return d;
      return find_service(kLogix, code);
    case cip::Target::Logix:
    case cip::Target::Object:
      if (code == cip::kForwardOpen || code == cip::kLargeForwardOpen) return find_service(kConnectionManager, code);
      return find_service(kLogix, code);
  }
  return nullptr;
}

constexpr ServiceDef kUnknownService{0, "unknown", "unknown", OC::Other, false, false};

// resolve() of every code under every target, worked out at compile time: a cip.log row and its
// operation event asked for five names of each service, each a linear search of up to three tables
// (2.8% of the worker's instructions on CIP-heavy traffic).
constexpr size_t kTargets = static_cast<size_t>(cip::Target::Pccc) + 1;
constexpr auto kServices = [] {
  std::array<std::array<const ServiceDef*, 128>, kTargets> t{};
  for (size_t target = 0; target < kTargets; ++target) {
    for (size_t code = 0; code < 128; ++code) {
      const ServiceDef* d = resolve(static_cast<uint8_t>(code), static_cast<cip::Target>(target));
      t[target][code] = d ? d : &kUnknownService;
    }
  }
  return t;
}();

// A table of names indexed by a byte-sized id: a row's class and status names by one load instead of a
// binary search.
template <size_t N>
constexpr std::array<std::string_view, 256> by_byte(const IdName (&table)[N]) {
  std::array<std::string_view, 256> t{};
  for (const IdName& e : table) t[e.id] = e.name;  // an id past 255 does not compile
  return t;
}

// ICSNPP's cip_classes (icsnpp-enip scripts/consts.zeek), the object classes of CIP Vol 1 Table 5-1.1 and
// the network volumes.
constexpr IdName kClasses[] = {
    {0x01, "Identity"}, {0x02, "Message Router"}, {0x03, "DeviceNet"}, {0x04, "Assembly"},
    {0x05, "Connection"}, {0x06, "Connection Manager"}, {0x07, "Register"}, {0x08, "Discrete Input Point"},
    {0x09, "Discrete Output Point"}, {0x0A, "Analog Input Point"}, {0x0B, "Analog Output Point"},
    {0x0E, "Presence Sensing"}, {0x0F, "Parameter"}, {0x10, "Parameter Group"}, {0x12, "Group"},
    {0x1D, "Discrete Input Group"}, {0x1E, "Discrete Output Group"}, {0x1F, "Discrete Group"},
    {0x20, "Analog Input Group"}, {0x21, "Analog Output Group"}, {0x22, "Analog Group"},
    {0x23, "Position Sensor"}, {0x24, "Position Controller Supervisor"}, {0x25, "Position Controller"},
    {0x26, "Block Sequencer"}, {0x27, "Command Block"}, {0x28, "Motor Data"}, {0x29, "Control Supervisor"},
    {0x2A, "AC/DC Drive"}, {0x2B, "Acknowledge Handler"}, {0x2C, "Overload"}, {0x2D, "Softstart"},
    {0x2E, "Selection"}, {0x30, "S-Device Supervisor"}, {0x31, "S-Analog Sensor"}, {0x32, "S-Analog Actuator"},
    {0x33, "S-Single Stage Controller"}, {0x34, "S-Gas Calibration"}, {0x35, "Trip Point"}, {0x37, "File"},
    {0x38, "S-Partial Pressure"}, {0x39, "Safety Supervisor"}, {0x3A, "Safety Validator"},
    {0x3B, "Safety Discrete Output Point"}, {0x3C, "Safety Discrete Output Group"},
    {0x3D, "Safety Discrete Input Point"}, {0x3E, "Safety Discrete Input Group"},
    {0x3F, "Safety Dual Channel Output"}, {0x40, "S-Sensor Calibration"}, {0x41, "Event Log"},
    {0x42, "Motion Device Axis"}, {0x43, "Time Sync"}, {0x44, "Modbus"}, {0x45, "Originator Connection List"},
    {0x46, "Modbus Serial Link"}, {0x47, "Device Level Ring (DLR)"}, {0x48, "QoS"},
    {0x49, "Safety Analog Input Point"}, {0x4A, "Safety Analog Input Group"},
    {0x4B, "Safety Dual Channel Analog Input"}, {0x4C, "SERCOS III Link"}, {0x4D, "Target Connection List"},
    {0x4E, "Base Energy"}, {0x4F, "Electrical Energy"}, {0x50, "Non-Electrical Energy"}, {0x51, "Base Switch"},
    {0x52, "SNMP"}, {0x53, "Power Management"}, {0x54, "RSTP Bridge"}, {0x55, "RSTP Port"},
    {0x56, "PRP/HSR Protocol"}, {0x57, "PRP/HSR Nodes Table"}, {0x58, "Safety Feedback"},
    {0x59, "Safety Dual Channel Feedback"}, {0x5A, "Safety Stop Functions"}, {0x5B, "Safety Limit Functions"},
    {0x5C, "Power Curtailment"}, {0x5D, "CIP Security"}, {0x5E, "EtherNet/IP Security"},
    {0x5F, "Certificate Management"}, {0x67, "PCCC Class"}, {0xF0, "ControlNet"}, {0xF1, "ControlNet Keeper"},
    {0xF2, "ControlNet Scheduling"}, {0xF3, "Connection Configuration"}, {0xF4, "Port"},
    {0xF5, "TCP/IP Interface"}, {0xF6, "Ethernet Link"}, {0xF7, "CompoNet"}, {0xF8, "CompoNet Repeater"},
};

// General status codes, Vol 1 Appendix B-1 (ICSNPP's wording).
constexpr IdName kStatuses[] = {
    {0x00, "Success"}, {0x01, "Connection Failure"}, {0x02, "Resource Unavailable"},
    {0x03, "Invalid Parameter Value"}, {0x04, "Path Segment Error"}, {0x05, "Path Destination Unknown"},
    {0x06, "Partial Transfer"}, {0x07, "Connection Lost"}, {0x08, "Service Not Supported"},
    {0x09, "Invalid Attribute Value"}, {0x0A, "Attribute List Error"}, {0x0B, "Already In Requested Mode/State"},
    {0x0C, "Object State Conflict"}, {0x0D, "Object Already Exists"}, {0x0E, "Attribute Not Settable"},
    {0x0F, "Privilege Violation"}, {0x10, "Device State Conflict"}, {0x11, "Reply Data Too Large"},
    {0x12, "Fragmentation Of A Primitive Value"}, {0x13, "Not Enough Data"}, {0x14, "Attribute Not Supported"},
    {0x15, "Too Much Data"}, {0x16, "Object Does Not Exist"}, {0x17, "Service Fragmentation Sequence Not In Progress"},
    {0x18, "No Stored Attribute Data"}, {0x19, "Store Operation Failure"},
    {0x1A, "Routing Failure, Request Packet Too Large"}, {0x1B, "Routing Failure, Response Packet Too Large"},
    {0x1C, "Missing Attribute List Entry Data"}, {0x1D, "Invalid Attribute Value List"},
    {0x1E, "Embedded Service Error"}, {0x1F, "Vendor Specific Error"}, {0x20, "Invalid Parameter"},
    {0x21, "Write-Once Value Or Medium Already Written"}, {0x22, "Invalid Reply Received"},
    {0x23, "Buffer Overflow"}, {0x24, "Invalid Message Format"}, {0x25, "Key Failure In Path"},
    {0x26, "Path Size Invalid"}, {0x27, "Unexpected Attribute In List"}, {0x28, "Invalid Member ID"},
    {0x29, "Member Not Settable"}, {0x2A, "Group 2 Only Server General Failure"}, {0x2B, "Unknown Modbus Error"},
    {0x2C, "Attribute Not Gettable"}, {0xFF, "Still Processing"},
};

constexpr auto kClassNames = by_byte(kClasses);
constexpr auto kStatusNames = by_byte(kStatuses);

// Connection Manager extended status codes, Vol 1 §3-5.6 (ICSNPP's wording).
constexpr IdName kExtendedStatuses[] = {
    {0x100, "Connection in use or duplicate Forward Open"},
    {0x103, "Transport class and trigger combination not supported"},
    {0x106, "Ownership conflict"},
    {0x107, "Target connection not found"},
    {0x108, "Invalid network connection parameter"},
    {0x109, "Invalid connection size"},
    {0x110, "Target for connection not configured"},
    {0x111, "RPI not supported"},
    {0x112, "RPI value(s) not acceptable"},
    {0x113, "Out of connections"},
    {0x114, "Vendor ID or product code mismatch"},
    {0x115, "Device type mismatch"},
    {0x116, "Revision mismatch"},
    {0x117, "Invalid produced or consumed application path"},
    {0x118, "Invalid or inconsistent configuration application path"},
    {0x119, "Non-listen only connection not opened"},
    {0x11A, "Target object out of connections"},
    {0x11B, "RPI is smaller than the production inhibit time"},
    {0x11C, "Transport class not supported"},
    {0x11D, "Production trigger not supported"},
    {0x11E, "Direction not supported"},
    {0x11F, "Invalid O->T Fixed/Variable"},
    {0x120, "Invalid T->O Fixed/Variable"},
    {0x121, "Invalid O->T Priority"},
    {0x122, "Invalid T->O Priority"},
    {0x123, "Invalid O->T connection type"},
    {0x124, "Invalid T->O connection type"},
    {0x125, "Invalid O->T redundant owner"},
    {0x126, "Invalid configuration size"},
    {0x127, "Invalid O->T size"},
    {0x128, "Invalid T->O size"},
    {0x129, "Invalid configuration application path"},
    {0x12A, "Invalid consuming application path"},
    {0x12B, "Invalid producing application path"},
    {0x12C, "Configuration symbol does not exist"},
    {0x12D, "Consuming symbol does not exist"},
    {0x12E, "Producing symbol does not exist"},
    {0x12F, "Inconsistent application path combination"},
    {0x130, "Inconsistent consume data format"},
    {0x131, "Inconsistent produce data format"},
    {0x132, "NULL ForwardOpen not supported"},
    {0x203, "Connection timed out"},
    {0x204, "Unconnected request timed out"},
    {0x205, "Parameter error in unconnected request"},
    {0x206, "Message too large for UnconnectedSend"},
    {0x207, "Unconnected acknowledged without reply"},
    {0x301, "No buffer memory available"},
    {0x302, "Network bandwidth not available for data"},
    {0x303, "No consumed connection ID filter available"},
    {0x304, "Not configured to send scheduled priority data"},
    {0x305, "Schedule signature mismatch"},
    {0x306, "Schedule signature validation not possible"},
    {0x311, "Port not available"},
    {0x312, "Link address not valid"},
    {0x315, "Invalid segment in connection path"},
    {0x316, "ForwardClose connection path mismatch"},
    {0x317, "Scheduling not specified"},
    {0x318, "Link address to self invalid"},
    {0x319, "Secondary resources unavailable"},
    {0x31A, "Rack connection already established"},
    {0x31B, "Module connection already established"},
    {0x31C, "Miscellaneous"},
    {0x31D, "Redundant connection mismatch"},
    {0x31E, "No more user configurable link consumer resources available in the producing module"},
    {0x31F, "No more user configurable link consumer resources configured in the producing module"},
    {0x800, "Network link offline"},
    {0x801, "Incompatible Multicast RPI"},
    {0x802, "Invalid Safety Connection Size"},
    {0x803, "Invalid Safety Connection Format"},
    {0x804, "Invalid Time Correction Connection Parameters"},
    {0x805, "Invalid Ping Interval EPI Multiplier"},
    {0x806, "Time Coordination Msg Min Multiplier"},
    {0x807, "Network Time Expectation Multiplier"},
    {0x808, "Timeout Multiplier"},
    {0x809, "Invalid Max Consumer Number"},
    {0x80A, "Invalid CPCRC"},
    {0x80B, "Time Correction Connection ID Invalid"},
    {0x80C, "SCID Mismatch"},
    {0x80D, "TUNID not set"},
    {0x80E, "TUNID Mismatch"},
    {0x80F, "Configuration operation not allowed"},
    {0x810, "No target application data available"},
    {0x811, "No originator application data available"},
    {0x812, "Node address has changed since the network was scheduled"},
    {0x813, "Not configured for off-subnet multicast"},
    {0x814, "Invalid produce/consume data format"},
};

std::string prefixed_hex(const char* prefix, uint32_t v, int width) {
  return prefix + std::string(ots::hex_text(v, width).view());
}

bool iequal_norm(std::string_view a, std::string_view b) {
  // Case-insensitive; ' ', '-' and '_' are the same separator.
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto n = [](char c) {
      if (c == ' ' || c == '-') return '_';
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (n(a[i]) != n(b[i])) return false;
  }
  return true;
}

std::optional<uint32_t> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint32_t base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint32_t v = 0;
  for (char c : s) {
    uint32_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
    else return std::nullopt;
    v = v * base + d;
    if (v > 0xFFFF) return std::nullopt;
  }
  return v;
}

}  // namespace

namespace cip {

Target target_of(const Path& path) {
  if (path.class_id == kClassConnectionManager) return Target::ConnectionManager;
  if (path.class_id == kClassPccc) return Target::Pccc;
  if (path.class_id == kClassSymbol || path.class_id == kClassTemplate) return Target::Logix;
  if (path.class_id >= 0) return Target::Object;
  if (path.symbols > 0) return Target::Logix;
  return Target::Unknown;
}

}  // namespace cip

const CipService& cip_service(uint8_t service, cip::Target target) {
  const auto t = static_cast<size_t>(target);
  return t < kTargets ? *kServices[t][service & 0x7F] : kUnknownService;
}

std::string_view cip_service_snake_name(uint8_t service, cip::Target target) { return cip_service(service, target).snake; }

std::string_view cip_service_name(uint8_t service, cip::Target target) { return cip_service(service, target).text; }

std::optional<uint8_t> cip_service_from_name(std::string_view name) {
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  if (auto n = parse_number(name)) {
    if (*n <= 0x7F) return static_cast<uint8_t>(*n);
    return std::nullopt;
  }
  const std::span<const ServiceDef> tables[] = {kCommon, kConnectionManager, kLogix};
  for (const auto& table : tables) {
    for (const ServiceDef& d : table) {
      if (iequal_norm(name, d.snake) || iequal_norm(name, d.text)) return d.code;
    }
  }
  return std::nullopt;
}

OpClass cip_op_class(uint8_t service, cip::Target target) { return cip_service(service, target).op; }

bool cip_read_only(uint8_t service, cip::Target target) { return cip_service(service, target).read_only; }

bool cip_wrapper(uint8_t service, cip::Target target) { return cip_service(service, target).wrapper; }

std::string_view cip_class_name(uint32_t class_id) {
  const std::string_view n = class_id < kClassNames.size() ? kClassNames[class_id] : std::string_view{};
  return n.empty() ? std::string_view("unknown") : n;
}

std::string_view cip_status_name(uint8_t status, std::string& scratch) {
  const std::string_view n = kStatusNames[status];
  if (!n.empty()) return n;
  scratch = prefixed_hex("Unknown CIP Status-", status, 2);
  return scratch;
}

std::string_view cip_extended_status_name(uint16_t status, std::string& scratch) {
  const std::string_view n = find_sorted(kExtendedStatuses, status);
  if (!n.empty()) return n;
  scratch = prefixed_hex("Unknown Extended Status-", status, 4);
  return scratch;
}

std::string_view cip_vendor_name(uint16_t vendor_id) { return find_sorted(kVendors, vendor_id); }

std::string_view cip_device_type_name(uint16_t device_type) { return find_sorted(kDeviceTypes, device_type); }

std::string_view enip_command_name(uint16_t command) {
  switch (command) {
    case enip::kNop: return "NOP";
    case enip::kListServices: return "List Services";
    case enip::kListIdentity: return "List Identity";
    case enip::kListInterfaces: return "List Interfaces";
    case enip::kRegisterSession: return "Register Session";
    case enip::kUnRegisterSession: return "Unregister Session";
    case enip::kSendRRData: return "Send RR Data";
    case enip::kSendUnitData: return "Send Unit Data";
    case enip::kIndicateStatus: return "Indicate Status";
    case enip::kCancel: return "Cancel";
    default: return "unknown";
  }
}

std::string_view enip_command_snake_name(uint16_t command) {
  switch (command) {
    case enip::kNop: return "nop";
    case enip::kListServices: return "list_services";
    case enip::kListIdentity: return "list_identity";
    case enip::kListInterfaces: return "list_interfaces";
    case enip::kRegisterSession: return "register_session";
    case enip::kUnRegisterSession: return "unregister_session";
    case enip::kSendRRData: return "send_rr_data";
    case enip::kSendUnitData: return "send_unit_data";
    case enip::kIndicateStatus: return "indicate_status";
    case enip::kCancel: return "cancel";
    default: return "unknown";
  }
}

std::string_view enip_status_name(uint32_t status, std::string& scratch) {
  switch (status) {
    case enip::kSuccess: return "Success";
    case enip::kInvalidCommand: return "Invalid/Unsupported Command";
    case enip::kInsufficientMemory: return "Insufficient Memory Resources";
    case enip::kIncorrectData: return "Malformed or Incorrect Data";
    case enip::kInvalidSessionHandle: return "Invalid Session Handle";
    case enip::kInvalidLength: return "Invalid Length";
    case enip::kUnsupportedProtocolRevision: return "Unsupported Protocol Version";
    case enip::kCipServiceNotAllowed: return "CIP Service Not Allowed";
    default:
      scratch = prefixed_hex("Unknown ENIP Status-", status, 2);
      return scratch;
  }
}

}  // namespace ots
