// The operation vocabulary of the site model's conduit rules: names and codes per protocol, the
// read-only sets (issue 5, "Semantics, precisely"), and the mapping of an OperationEvent to the keys a
// rule is checked by. config/README.md documents the same tables for people writing site models.
// The names, read-only predicates and CIP wrapper flags are the dissectors' (modbus_functions.hpp,
// dnp3_names.hpp, s7comm_names.hpp, cip_names.hpp): one table per protocol. This layer adds the policy's
// keys for qualified operations and the rules about what is never checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dissectors/operation.hpp"

namespace ots {

// Operation families of the policy: `enip` and `cip` rules both restrict CIP services; aqat has no
// operations.
enum class OpFamily : uint8_t { Modbus, Dnp3, Cip, S7comm, S7commPlus, None };
OpFamily op_family(Protocol p);
std::string_view op_family_name(OpFamily f);  // "modbus", "dnp3", "cip", "s7comm", "s7comm-plus", "none"

// The key of an operation in a rule: the function/service code in the low 16 bits; a qualifier + 1 in
// the high bits for operations that a code alone does not name:
//   Modbus 43/14 (MEI type 14, read device identification), 8/N (diagnostics sub-function N);
//   S7 userdata (code 0x100: ROSCTR 7 has no function code, so it gets one outside the byte range),
//     qualified by (function group << 8) | sub-function: 0x0401 read SZL, 0x0701 read clock, ...;
//   CIP services 0x4E and 0x52 on the Connection Manager (class 6): forward_close and
//     unconnected_send there, read_modify_write_tag and read_tag_fragmented on Logix tags (the
//     object-specific service range 0x4B-0x63 means different things per class).
using OpKey = uint32_t;
constexpr OpKey op_key(uint32_t code, int32_t qualifier = -1) {
  return code | (qualifier >= 0 ? (static_cast<uint32_t>(qualifier) + 1) << 16 : 0u);
}
inline constexpr uint32_t kS7UserdataCode = 0x100;
inline constexpr int32_t kCipConnectionManagerClass = 0x06;

// What a rule checks an event by: allowed when the rule lists `primary` or `parent` (the unqualified
// operation: a rule listing encapsulated_interface_transport admits 43/14, one listing userdata admits
// every userdata function).
struct PolicyOperation {
  OpKey primary;
  OpKey parent;
};
// nullopt when the event is never checked: responses; DNP3 confirm; wrappers (ev.wrapper: CIP multiple
// service packet, unconnected send: the services inside them are the operations); the S7 Jobs of a download
// (download_block, download_ended: part of the client's request_download); ENIP encapsulation commands
// (list_identity, register_session, send_rr_data: transport, not operations); aqat.
// S7 userdata events carry (group << 8) | sub-function in OperationEvent::subfunction; CIP events the
// request path's class in cip_class (6 for the Connection Manager).
std::optional<PolicyOperation> policy_operation(const OperationEvent& ev);

// One operation as written in a rule: a name (any case; '-' or ' ' for '_') or a number (decimal or
// 0x hex, "CODE/QUALIFIER" for the qualified forms). A CIP number names every service with that code
// (0x4E: read_modify_write_tag and forward_close).
struct ParsedOperation {
  OpKey keys[4] = {0, 0, 0, 0};
  uint8_t count = 0;
  std::string canonical;  // the name (or the number when the code has none), for check-config
};
// False with `why` ("what is wrong, what was expected") for unknown names, codes out of range, and
// names that are never checked on their own (CIP wrappers, S7 download_block/download_ended).
bool parse_operation(OpFamily f, std::string_view text, ParsedOperation& out, std::string& why);

// The read-only set of a family (empty for s7comm-plus and none: the issue defines none for them).
std::span<const OpKey> read_only_operations(OpFamily f);

// Canonical name of a key ("read_holding_registers", "read_szl"), or the number ("65", "256/0x0702").
std::string operation_key_name(OpFamily f, OpKey k);

}  // namespace ots
