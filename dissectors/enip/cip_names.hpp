// EtherNet/IP and CIP names: encapsulation commands and statuses, CIP services (as ICSNPP writes them and
// in our canonical snake_case), lookup by name for the zone/conduit config, what each service does to a
// device, CIP object class, general and extended status names, and the ODVA vendor and device type
// tables (cip_tables.inc, generated).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dissectors/enip/cip_parser.hpp"
#include "dissectors/operation.hpp"

namespace ots::cip {

// Whose service a code is. Codes 0x00-0x31 are common services with one meaning everywhere; 0x32-0x63
// are object-class specific (Vol 1 Appendix A-3), so 0x4E is Forward_Close on the Connection Manager but
// Rockwell's Read_Modify_Write_Tag on a Logix tag, and 0x52 is Unconnected_Send on the Connection
// Manager but Read_Tag_Fragmented on a tag.
enum class Target : uint8_t {
  Unknown,            // no path (a reply we could not pair with its request)
  Object,             // some other class
  ConnectionManager,  // class 0x06 (Vol 1 §3-5)
  Logix,              // a symbolic path (tag name) or Rockwell's symbol/template classes 0x6B/0x6C
  Pccc,               // Rockwell's PCCC object, class 0x67
};

// The target a request path addresses: the class decides; a tag name without a class is Logix.
Target target_of(const Path& path);

}  // namespace ots::cip

namespace ots {

// What the names below say of one service code under one target, from one lookup: an operation event
// wants all of it.
struct CipService {
  uint8_t code;
  std::string_view snake;  // cip_service_snake_name
  std::string_view text;   // cip_service_name: ICSNPP's cip_services wording
  OpClass op;
  bool read_only;
  bool wrapper;
};
// The reply bit is ignored; an unknown code gives "unknown" names, OpClass::Other and false. Static storage.
const CipService& cip_service(uint8_t service, cip::Target target);

// Canonical snake_case name of a CIP service code (the reply bit ignored) for operation events and the
// zone/conduit config: common services ("get_attributes_all", "get_attribute_list", "set_attribute_list",
// "reset", "start", "stop", "create", "delete", "multiple_service_packet", "apply_attributes",
// "get_attribute_single", "set_attribute_single", "find_next_object_instance", "restore", "save", "nop",
// "get_member", ...), the Connection Manager's ("forward_open", "large_forward_open", "forward_close",
// "unconnected_send", "get_connection_data", "search_connection_data", "get_connection_owner") and
// Rockwell's Logix services ("read_tag", "read_tag_fragmented", "write_tag", "write_tag_fragmented",
// "read_modify_write_tag", "get_instance_attribute_list", "execute_pccc"); "unknown" otherwise.
//
// Object-specific codes are resolved by `target`: class 0x06 gives the Connection Manager's meaning,
// class 0x67 PCCC, a tag path or any other class Rockwell's Logix meaning (the vendor services every
// EtherNet/IP controller family in the field answers; 0x54/0x5B are Forward Open whatever the class, as
// ICSNPP reads them). A reply that could not be paired with its request (Target::Unknown) reads 0x4E, 0x52,
// 0x54, 0x56, 0x57, 0x5A and 0x5B as the Connection Manager's — the services that travel without a tag
// path — and the other Logix codes as Logix.
std::string_view cip_service_snake_name(uint8_t service, cip::Target target);

// ICSNPP's cip_service text (icsnpp-enip scripts/consts.zeek cip_services: "Get Attributes All",
// "Get Attribute List", "Multiple Service Packet", "Get Attributes Single", "Set Attributes Single",
// "Read Data", "Write Data", "Read Write Modify Data", "Read Data Fragmented", "Forward Open", ...), with
// the Connection Manager's services named for what they are ("Forward Close", "Unconnected Send",
// "Large Forward Open", ...) where ICSNPP's table has only the Logix reading, and "No Operation" for 0x17
// (ICSNPP: "No Forward Open"); "unknown" otherwise. Static storage.
std::string_view cip_service_name(uint8_t service, cip::Target target);

// A service code from a name or number, case-insensitively: our snake_case names, ICSNPP's texts ("Get
// Attributes All", spaces or underscores), and decimal or 0x-hex numbers 0..127. Names shared by two
// codes' meanings resolve to the code ("read_modify_write_tag" and "forward_close" are both 0x4E).
std::optional<uint8_t> cip_service_from_name(std::string_view name);

// What a request does to the device. Read: the get services, find_next_object_instance, read_tag(_fragmented),
// get_instance_attribute_list and the Connection Manager's lookups. Write: the set services, create,
// delete, apply_attributes, restore, save, the member edits and the Logix writes (read_modify_write_tag
// included). Control: reset, start, stop. Other: connection management (forward_open/close), the wrappers,
// nop, group_sync, execute_pccc (an encapsulated PCCC command may read or write: not classifiable here)
// and unknown codes.
OpClass cip_op_class(uint8_t service, cip::Target target);
// The read-only set of issue 5: get_attributes_all, get_attribute_list, get_attribute_single,
// find_next_object_instance, read_tag, read_tag_fragmented, forward_open, large_forward_open, forward_close.
bool cip_read_only(uint8_t service, cip::Target target);
// Multiple Service Packet and Unconnected Send carry other services: they are not operations themselves
// (issue 5); their embedded services are reported on their own.
bool cip_wrapper(uint8_t service, cip::Target target);

// ICSNPP's cip_classes text ("Identity", "Message Router", "Connection Manager", "TCP/IP Interface", ...;
// Vol 1 Table 5-1.1 and the network volumes' objects); "unknown" for others. Static storage.
std::string_view cip_class_name(uint32_t class_id);

// ICSNPP's cip_statuses text for a general status (Vol 1 Appendix B-1: "Success", "Connection Failure",
// "Path Segment Error", ...), "Unknown CIP Status-0x%02x" otherwise (`scratch` holds that text).
std::string_view cip_status_name(uint8_t status, std::string& scratch);
// ICSNPP's cip_extended_status text (the Connection Manager's extended status codes, Vol 1 §3-5.6:
// "Connection in use or duplicate Forward Open", ...), "Unknown Extended Status-0x%04x" otherwise.
std::string_view cip_extended_status_name(uint16_t status, std::string& scratch);

// The ODVA vendor name of a vendor id, empty when the list has none (cip_tables.inc, generated).
std::string_view cip_vendor_name(uint16_t vendor_id);
// The device type (device profile) name, empty when unknown (Vol 1 chapter 6; cip_tables.inc).
std::string_view cip_device_type_name(uint16_t device_type);

// Encapsulation command and status names as ICSNPP's enip.log writes them (enip_commands: "List
// Identity", "Register Session", "Send RR Data", ..., "unknown"; enip_statuses: "Success", "Invalid
// Session Handle", ..., "Unknown ENIP Status-0x%02x").
std::string_view enip_command_name(uint16_t command);
std::string_view enip_status_name(uint32_t status, std::string& scratch);
// snake_case for operation events: "nop", "list_services", "list_identity", "list_interfaces",
// "register_session", "unregister_session", "send_rr_data", "send_unit_data", "indicate_status",
// "cancel"; "unknown" otherwise.
std::string_view enip_command_snake_name(uint16_t command);

}  // namespace ots
