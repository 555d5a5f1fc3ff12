// DNP3 names: function codes as Zeek and ICSNPP write them and in our canonical snake_case, lookup by
// name for the zone/conduit config, what each function does to a device, and ICSNPP's strings for object
// types and control block fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dissectors/operation.hpp"

namespace ots {

// Zeek's DNP3::function_codes[fc] (base/protocols/dnp3/consts.zeek), as dnp3.log's fc_request / fc_reply
// columns show it: "READ", "DIRECT_OPERATE", "IMMED_FREEZE", "RESPONSE", "UNSOLICITED_RESPONSE", ...;
// "unknown-<decimal>" for other codes. Static storage.
std::string_view dnp3_function_name(uint8_t fc);

// Canonical snake_case name for operation events and the zone/conduit config: "confirm", "read",
// "direct_operate", "immediate_freeze", "initialize_application", "authentication_request", "response",
// "unsolicited_response", ...; "unknown" for codes IEEE 1815 does not define.
std::string_view dnp3_function_snake_name(uint8_t fc);

// A function code from a name or number, case-insensitively: Zeek's names ("DIRECT_OPERATE",
// "IMMED_FREEZE", "AUTHENTICATE_REQ_NR"), our snake_case names ("direct_operate", "immediate_freeze",
// "authentication_error"), decimal or 0x-hex numbers 0..255, and Zeek's "unknown-N". nullopt otherwise.
std::optional<uint8_t> dnp3_function_from_name(std::string_view name);

// What a request does to the outstation. Select/operate/direct operate, the freezes, restarts,
// initialize and start/stop application are Control; WRITE and the functions that change configuration,
// unsolicited reporting, time or files are Write; READ, DELAY_MEASURE and GET_FILE_INFO are Read;
// CONFIRM, authentication and responses are Other.
OpClass dnp3_op_class(uint8_t fc);
// The read-only set of issue 5: READ and DELAY_MEASURE.
bool dnp3_read_only(uint8_t fc);

}  // namespace ots

namespace ots::dnp3 {

// ICSNPP's DNP3_Extended::function_codes[fc] (icsnpp-dnp3 scripts/consts.zeek): Zeek's names, but
// "unknown-<hex>" for other codes.
std::string_view icsnpp_function_name(uint8_t fc);

// ICSNPP's dnp3_objects[(group << 8) | variation] ("Binary Input With Status", "16-Bit Analog Input",
// "Class 0 Data", ...); empty for types ICSNPP does not name (it logs no row for them).
std::string_view icsnpp_object_type(uint16_t object_type);

// ICSNPP's control block tables: trip/close code (control code bits 7-6: "Nul", "Close", "Trip"),
// operation type (bits 3-0: "Nul", "Pulse On", "Pulse Off", "Latch On", "Latch Off") and status
// ("Success", "Timeout", "No Select", ...); "unknown-<hex>" otherwise. Static storage.
std::string_view trip_control_name(uint8_t tcc);
std::string_view operation_type_name(uint8_t op);
std::string_view control_status_name(uint8_t status);

}  // namespace ots::dnp3
