// S7comm and S7comm-plus names: our canonical snake_case function names (operation events, the site
// model's conduit rules), lookup by name, what each function does to a PLC, and the strings ICSNPP-S7comm
// writes into its logs (cisagov/icsnpp-s7comm scripts/consts.zeek).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dissectors/operation.hpp"

namespace ots {

// Userdata (ROSCTR 7) has no parameter function; its operation code is 0x100, outside the byte range, as
// conduits/operation_vocabulary.hpp (kS7UserdataCode) keys it. Its events carry (function group << 8) |
// sub-function in OperationEvent::subfunction: 0x0401 read SZL, 0x0701 read clock, ...
inline constexpr uint32_t kS7UserdataOpCode = 0x100;

// Canonical snake_case name of an S7comm operation code: "cpu_services", "read_var", "write_var",
// "request_download", "download_block", "download_ended", "start_upload", "upload", "end_upload",
// "plc_control", "plc_stop", "setup_communication", "userdata" (0x100); "unknown" otherwise.
std::string_view s7_function_name(uint32_t code);

// The userdata functions the site model names: "read_szl" (4/1), "read_clock" (7/1), "set_clock" (7/2),
// "read_clock_following" (7/3), "set_clock_following" (7/4); "userdata" for the others.
std::string_view s7_userdata_function_name(uint8_t group, uint8_t subfunction);

// An operation code from a name or number, case-insensitively ('-' and ' ' count as '_'): our names,
// ICSNPP's ("Read Variable", "Setup Communication", "PLC Stop"), Wireshark's ("Read Var", "Write Var"),
// "userdata" / "user_data" (0x100), decimal or 0x-hex numbers 0..255 and 256. nullopt otherwise.
std::optional<uint32_t> s7_function_from_name(std::string_view name);

// What an operation does. `subfunction`: userdata (group << 8) | sub-function, -1 otherwise.
//   read_var, start_upload/upload/end_upload (reading the PLC's program), userdata reads (SZL, clock,
//   block lists, cyclic data, variable status): Read; write_var, the download functions, set clock,
//   force / modify variable: Write; plc_control, plc_stop, memory reset, flash LED: Control;
//   setup_communication, cpu_services and the rest: Other.
OpClass s7_op_class(uint32_t code, int32_t subfunction);
// Issue 5's read-only set: setup_communication, read_var, and userdata SZL and clock reads.
bool s7_read_only(uint32_t code, int32_t subfunction);

// S7comm-plus data functions, in the site model's names (the s7comm_plus Wireshark plugin's function
// table in snake_case): "explore" (0x04BB), "create_object", "delete_object", "set_variable",
// "get_variable", "add_link", "remove_link", "get_link", "set_multi_variables", "get_multi_variables",
// "begin_sequence", "end_sequence", "invoke", "set_var_sub_streamed", "get_var_sub_streamed",
// "get_variables_address", "abort", "error" (0x04B1); "unknown" otherwise.
std::string_view s7commplus_function_name(uint16_t function);
std::optional<uint16_t> s7commplus_function_from_name(std::string_view name);
// Explore and the gets read; sets, create/delete object and links write; invoke controls.
OpClass s7commplus_op_class(uint16_t function);

}  // namespace ots

namespace ots::s7 {

// ICSNPP's strings. Those with a formatted default write it into `scratch` and view it, but for the
// one-byte codes of nearly every row, whose every name is a constant text.
std::string_view icsnpp_cotp_pdu_name(uint8_t code);                        // "DT Data", "Unknown COTP PDU-0x03"
std::string_view icsnpp_rosctr_name(uint8_t rosctr);                        // "Job-Request", ... "unknown"
std::string_view icsnpp_function_name(uint8_t function);                    // "Read Variable", ... "unknown"
// "Request: CPU Functions", "Response: Block Functions", "Push: Cyclic Services", "Unknown: ..."
std::string_view icsnpp_userdata_function_name(uint8_t type_group);
// The sub-function's name in its group's table ("Read SZL", "List Blocks", "unknown" for codes the table
// lacks); nullopt for groups ICSNPP has no table for (6, 8-15), whose rows leave the column unset.
std::optional<std::string_view> icsnpp_userdata_subfunction_name(uint8_t group, uint8_t subfunction);
std::string_view icsnpp_error_class_name(uint8_t error_class, std::string& scratch);
std::string_view icsnpp_plc_control_service_name(std::string_view service);  // "PLC Start / Stop", "unknown"
std::string_view icsnpp_userdata_method_name(uint8_t method);                // "Request", "Response", "Unknown"
std::string_view icsnpp_return_code_name(uint8_t return_code);               // "Success", ... "Unknown"
std::string_view icsnpp_szl_id_name(uint16_t szl_id);                        // by the low byte; "Unknown"
std::string_view icsnpp_block_type_name(std::string_view block_type);        // "Data Block", "Unknown"
std::string_view icsnpp_filesystem_name(std::string_view filesystem);        // "Passive", "Active", "Unknown"
std::string_view icsnpp_plus_opcode_name(uint8_t opcode);
// ICSNPP's table, completed with the plugin's functions it lacks ("Get Variable", "Add Link", ...).
std::string_view icsnpp_plus_function_name(uint16_t function, std::string& scratch);

}  // namespace ots::s7
