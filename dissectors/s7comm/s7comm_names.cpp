#include "dissectors/s7comm/s7comm_names.hpp"

#include <array>
#include <cstdio>
#include <utility>

#include "dissectors/log_fields.hpp"
#include "dissectors/s7comm/cotp_parser.hpp"
#include "dissectors/s7comm/s7comm_parser.hpp"
#include "dissectors/s7comm/s7comm_plus_parser.hpp"

namespace ots {
namespace {

struct Named {
  std::string_view name;
  uint32_t code;
};

// Our names first (the canonical one per code), then the aliases ICSNPP and Wireshark use, normalised
// (lower case, '_' for blanks and dashes).
constexpr Named kS7Names[] = {
    {"cpu_services", s7::kCpuServices},
    {"read_var", s7::kReadVar},
    {"write_var", s7::kWriteVar},
    {"request_download", s7::kRequestDownload},
    {"download_block", s7::kDownloadBlock},
    {"download_ended", s7::kDownloadEnded},
    {"start_upload", s7::kStartUpload},
    {"upload", s7::kUpload},
    {"end_upload", s7::kEndUpload},
    {"plc_control", s7::kPlcControl},
    {"plc_stop", s7::kPlcStop},
    {"setup_communication", s7::kSetupCommunication},
    {"userdata", kS7UserdataOpCode},
    // Aliases.
    {"read_variable", s7::kReadVar},
    {"write_variable", s7::kWriteVar},
    {"user_data", kS7UserdataOpCode},
    {"cpu_service", s7::kCpuServices},
};

constexpr Named kPlusNames[] = {
    {"error", 0x04B1},
    {"explore", 0x04BB},
    {"create_object", 0x04CA},
    {"delete_object", 0x04D4},
    {"set_variable", 0x04F2},
    {"get_variable", 0x04FC},
    {"add_link", 0x0506},
    {"remove_link", 0x051A},
    {"get_link", 0x0524},
    {"set_multi_variables", 0x0542},
    {"get_multi_variables", 0x054C},
    {"begin_sequence", 0x0556},
    {"end_sequence", 0x0560},
    {"invoke", 0x056B},
    {"set_var_sub_streamed", 0x057C},
    {"get_var_sub_streamed", 0x0586},
    {"get_variables_address", 0x0590},
    {"abort", 0x059A},
    // The plugin's CamelCase and ICSNPP's spaced names, normalised.
    {"createobject", 0x04CA},
    {"deleteobject", 0x04D4},
    {"setvariable", 0x04F2},
    {"getvariable", 0x04FC},
    {"addlink", 0x0506},
    {"removelink", 0x051A},
    {"getlink", 0x0524},
    {"setmultivariables", 0x0542},
    {"getmultivariables", 0x054C},
    {"beginsequence", 0x0556},
    {"endsequence", 0x0560},
    {"setvarsubstreamed", 0x057C},
    {"getvarsubstreamed", 0x0586},
    {"getvariablesaddress", 0x0590},
    {"get_variable_sub_streamed", 0x0586},
    {"set_variable_sub_streamed", 0x057C},
};

// Lower case, blanks and dashes as '_'; false when the name is too long to be one of ours.
bool normalise(std::string_view in, char (&out)[40], std::string_view& norm) {
  if (in.size() >= sizeof out) return false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == ' ' || c == '-') c = '_';
    out[i] = c;
  }
  norm = std::string_view(out, in.size());
  return true;
}

// Decimal or 0x-hex, up to `max`.
std::optional<uint32_t> number(std::string_view s, uint32_t max) {
  if (s.empty()) return std::nullopt;
  uint32_t base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  for (char c : s) {
    uint32_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > max) return std::nullopt;
  }
  return static_cast<uint32_t>(v);
}

}  // namespace

std::string_view s7_function_name(uint32_t code) {
  for (const Named& n : kS7Names) {
    if (n.code == code) return n.name;  // the first entry per code is the canonical name
  }
  return "unknown";
}

std::string_view s7_userdata_function_name(uint8_t group, uint8_t subfunction) {
  if (group == s7::kUdCpu && subfunction == s7::kUdCpuReadSzl) return "read_szl";
  if (group == s7::kUdTime) {
    switch (subfunction) {
      case s7::kUdTimeReadClock: return "read_clock";
      case s7::kUdTimeSetClock: return "set_clock";
      case s7::kUdTimeReadClockFollowing: return "read_clock_following";
      case s7::kUdTimeSetClock2: return "set_clock_following";
      default: break;
    }
  }
  return "userdata";
}

std::optional<uint32_t> s7_function_from_name(std::string_view name) {
  if (auto n = number(name, kS7UserdataOpCode)) return n;
  char buf[40];
  std::string_view norm;
  if (!normalise(name, buf, norm)) return std::nullopt;
  for (const Named& n : kS7Names) {
    if (n.name == norm) return n.code;
  }
  return std::nullopt;
}

OpClass s7_op_class(uint32_t code, int32_t subfunction) {
  switch (code) {
    case s7::kReadVar:
    case s7::kStartUpload:
    case s7::kUpload:
    case s7::kEndUpload:
      return OpClass::Read;
    case s7::kWriteVar:
    case s7::kRequestDownload:
    case s7::kDownloadBlock:
    case s7::kDownloadEnded:
      return OpClass::Write;
    case s7::kPlcControl:
    case s7::kPlcStop:
      return OpClass::Control;
    case kS7UserdataOpCode:
      break;
    default:
      return OpClass::Other;
  }
  if (subfunction < 0) return OpClass::Other;
  const int group = (subfunction >> 8) & 0x0F;
  const int sub = subfunction & 0xFF;
  switch (group) {
    case s7::kUdProgrammer:
      // Programmer commands: block / variable status are monitoring reads; force and modify variable
      // write process values; memory reset and flash LED act on the CPU.
      if (sub == 0x01 || sub == 0x02 || sub == 0x13) return OpClass::Read;
      if (sub == 0x07 || sub == 0x08 || sub == 0x09) return OpClass::Write;
      if (sub == 0x0C || sub == 0x16) return OpClass::Control;
      return OpClass::Other;
    case s7::kUdCyclic:
    case s7::kUdBlock:
      return OpClass::Read;
    case s7::kUdCpu:
      return sub == s7::kUdCpuReadSzl ? OpClass::Read : OpClass::Other;
    case s7::kUdTime:
      if (sub == s7::kUdTimeReadClock || sub == s7::kUdTimeReadClockFollowing) return OpClass::Read;
      if (sub == s7::kUdTimeSetClock || sub == s7::kUdTimeSetClock2) return OpClass::Write;
      return OpClass::Other;
    default:
      return OpClass::Other;
  }
}

bool s7_read_only(uint32_t code, int32_t subfunction) {
  if (code == s7::kSetupCommunication || code == s7::kReadVar) return true;
  if (code != kS7UserdataOpCode || subfunction < 0) return false;
  const int group = (subfunction >> 8) & 0x0F;
  const int sub = subfunction & 0xFF;
  return (group == s7::kUdCpu && sub == s7::kUdCpuReadSzl) ||
         (group == s7::kUdTime && (sub == s7::kUdTimeReadClock || sub == s7::kUdTimeReadClockFollowing));
}

std::string_view s7commplus_function_name(uint16_t function) {
  for (const Named& n : kPlusNames) {
    if (n.code == function) return n.name;
  }
  return "unknown";
}

std::optional<uint16_t> s7commplus_function_from_name(std::string_view name) {
  if (auto n = number(name, 0xFFFF)) return static_cast<uint16_t>(*n);
  char buf[40];
  std::string_view norm;
  if (!normalise(name, buf, norm)) return std::nullopt;
  for (const Named& n : kPlusNames) {
    if (n.name == norm) return static_cast<uint16_t>(n.code);
  }
  return std::nullopt;
}

OpClass s7commplus_op_class(uint16_t function) {
  switch (function) {
    case 0x04BB: case 0x04FC: case 0x0524: case 0x054C: case 0x0586: case 0x0590:
      return OpClass::Read;
    case 0x04CA: case 0x04D4: case 0x04F2: case 0x0506: case 0x051A: case 0x0542: case 0x057C:
      return OpClass::Write;
    case 0x056B:
      return OpClass::Control;
    default:
      return OpClass::Other;
  }
}

}  // namespace ots

namespace ots::s7 {

namespace {

std::string_view hex_default(std::string& scratch, const char* fmt, unsigned v) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, fmt, v);
  scratch.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
  return scratch;
}

constexpr std::string_view group_name(uint8_t group) {
  switch (group) {
    case 0x00: return "Mode-Transition";
    case 0x01: return "Programmer Controls";
    case 0x02: return "Cyclic Services";
    case 0x03: return "Block Functions";
    case 0x04: return "CPU Functions";
    case 0x05: return "Security";
    case 0x06: return "PBC BSEND-BRECV";
    case 0x07: return "Time Functions";
    case 0x0F: return "NC Programming";
    default: return "unknown";
  }
}

using ByteText = FixedText<40>;

// A name for every value of a code byte, built at compile time: the table's name where `named` has one,
// else `unknown_prefix` and the byte's two hex digits (ICSNPP's fmt("...0x%02x") default). The names are
// columns of rows written for nearly every PDU, where a switch and a formatted default cost more.
template <typename Named>
constexpr std::array<ByteText, 256> byte_names(Named named, std::string_view unknown_prefix) {
  std::array<ByteText, 256> t{};
  for (size_t v = 0; v < t.size(); ++v) {
    const std::string_view name = named(static_cast<uint8_t>(v));
    if (!name.empty()) {
      t[v].append(name);
    } else {
      t[v].append(unknown_prefix);
      t[v].append(std::string_view(kHexByteTexts[v].data() + 2, 2));  // the digits after "0x"
    }
  }
  return t;
}

constexpr std::string_view userdata_type_prefix(uint8_t type) {
  return type == 0x4 ? "Request: " : type == 0x8 ? "Response: " : type == 0x0 ? "Push: " : "Unknown: ";
}

// icsnpp_userdata_function_name's texts for every type/group byte: the name is a column of every userdata
// row, and joining it per row cost a string and its copy.
constexpr auto kUserdataFunctionTexts = [] {
  std::array<ByteText, 256> t{};
  for (size_t v = 0; v < t.size(); ++v) {
    t[v].append(userdata_type_prefix(static_cast<uint8_t>(v >> 4)));
    t[v].append(group_name(static_cast<uint8_t>(v & 0x0F)));
  }
  return t;
}();

constexpr std::string_view cotp_pdu_name(uint8_t code) {
  switch (code) {
    case kCotpED: return "ED Expedited Data";
    case kCotpEA: return "EA Expedited Data Acknowledgement";
    case kCotpRJ: return "RJ Reject";
    case kCotpAK: return "AK Data Acknowledgement";
    case kCotpER: return "ER TPDU Error";
    case kCotpDR: return "DR Disconnect Request";
    case kCotpDC: return "DC Disconnect Confirm";
    case kCotpCC: return "CC Connection Confirm";
    case kCotpCR: return "CR Connection Request";
    case kCotpDT: return "DT Data";
    default: return {};
  }
}

constexpr std::string_view plus_opcode_name(uint8_t opcode) {
  switch (opcode) {
    case kPlusRequest: return "Request";
    case kPlusResponse: return "Response";
    case kPlusNotification: return "Notification";
    case kPlusResponse2: return "Response2";  // the plugin's; ICSNPP's table lacks it
    default: return {};
  }
}

constexpr auto kCotpPduNames = byte_names(cotp_pdu_name, "Unknown COTP PDU-0x");
constexpr auto kPlusOpcodeNames = byte_names(plus_opcode_name, "Unknown s7comm-plus opcode-0x");

}  // namespace

std::string_view icsnpp_cotp_pdu_name(uint8_t code) { return kCotpPduNames[code].view(); }

std::string_view icsnpp_rosctr_name(uint8_t rosctr) {
  switch (rosctr) {
    case kJob: return "Job-Request";
    case kAck: return "ACK";
    case kAckData: return "ACK-Data";
    case kUserdata: return "User-Data";
    default: return "unknown";
  }
}

std::string_view icsnpp_function_name(uint8_t function) {
  switch (function) {
    case kCpuServices: return "CPU Services";
    case kReadVar: return "Read Variable";
    case kWriteVar: return "Write Variable";
    case kRequestDownload: return "Request Download";
    case kDownloadBlock: return "Download Block";
    case kDownloadEnded: return "Download Ended";
    case kStartUpload: return "Start Upload";
    case kUpload: return "Upload";
    case kEndUpload: return "End Upload";
    case kPlcControl: return "PLC Control";
    case kPlcStop: return "PLC Stop";
    case kSetupCommunication: return "Setup Communication";
    default: return "unknown";
  }
}

std::string_view icsnpp_userdata_function_name(uint8_t type_group) {
  return kUserdataFunctionTexts[type_group].view();
}

std::optional<std::string_view> icsnpp_userdata_subfunction_name(uint8_t group, uint8_t sub) {
  switch (group) {
    case 0x00:
      switch (sub) {
        case 0x00: return "Stop";
        case 0x01: return "Warm Restart";
        case 0x02: return "Run";
        case 0x03: return "Hot Restart";
        case 0x04: return "Hold";
        case 0x06: return "Cold Restart";
        case 0x09: return "Run_R";
        case 0x0B: return "Link-Up";
        case 0x0C: return "Update";
        default: return "unknown";
      }
    case 0x01:
      switch (sub) {
        case 0x01: return "Block Status";
        case 0x02: return "Variable Status";
        case 0x03: return "Output ISTACK";
        case 0x04: return "Output BSTACK";
        case 0x05: return "Output LSTACK";
        case 0x06: return "Time Measurement";
        case 0x07: return "Force Selection";
        case 0x08: return "Modify Variable";
        case 0x09: return "Force";
        case 0x0A: return "Breakpoint";
        case 0x0B: return "Exit HOLD";
        case 0x0C: return "Memory Reset";
        case 0x0D: return "Disable Job";
        case 0x0E: return "Enable Job";
        case 0x0F: return "Delete Job";
        case 0x10: return "Read Job List";
        case 0x11: return "Read Job";
        case 0x12: return "Replace Job";
        case 0x13: return "Block Status v2";
        case 0x16: return "Flash LED";
        default: return "unknown";
      }
    case 0x02:
      switch (sub) {
        case 0x01: return "Cyclic Transfer";
        case 0x04: return "Unsubscribe";
        case 0x05: return "Change Driven Transfer";
        case 0x07: return "Change Driven Transfer Modify";
        case 0x08: return "RDREC";
        default: return "unknown";
      }
    case 0x03:
      switch (sub) {
        case 0x01: return "List Blocks";
        case 0x02: return "List Blocks of Type";
        case 0x03: return "Get Block Info";
        default: return "unknown";
      }
    case 0x04:
      switch (sub) {
        case 0x01: return "Read SZL";
        case 0x02: return "Message Service";
        case 0x03: return "Diagnostic Message";
        case 0x04: return "ALARM_8 Indication";
        case 0x05: return "NOTIFY Indication";
        case 0x06: return "ALARM_8 Lock";
        case 0x07: return "ALARM_8 Unlock";
        case 0x08: return "SCAN Indication";
        case 0x0B: return "ALARM_S Indication";
        case 0x0C: return "ALARM_SQ Indication";
        case 0x0D: return "ALARM Query";
        case 0x0E: return "ALARM ACK";
        case 0x11: return "ALARM ACK Indication";
        case 0x12: return "ALARM Lock Indication";
        case 0x13: return "ALARM Unlock Indication";
        case 0x16: return "NOTIFY_8 Indication";
        default: return "unknown";
      }
    case 0x05:
      return sub == 0x01 ? std::string_view("PLC Password") : std::string_view("unknown");
    case 0x07:
      switch (sub) {
        case 0x01: return "Read Clock";
        case 0x02: return "Set Clock";
        case 0x03: return "Read Clock (Following)";
        case 0x04: return "Set Clock (2)";
        default: return "unknown";
      }
    default:
      return std::nullopt;
  }
}

std::string_view icsnpp_error_class_name(uint8_t error_class, std::string& scratch) {
  switch (error_class) {
    case 0x00: return "No error";
    case 0x81: return "Application relationship error";
    case 0x82: return "Object definition error";
    case 0x83: return "No ressources available error";  // ICSNPP's spelling
    case 0x84: return "Error on service processing";
    case 0x85: return "Error on supplies";
    case 0x87: return "Access error";
    default: return hex_default(scratch, "Unknown error class-0x%02x", error_class);
  }
}

std::string_view icsnpp_plc_control_service_name(std::string_view s) {
  static constexpr std::pair<std::string_view, std::string_view> kServices[] = {
      {"_INSE", "Activates a PLC module"},
      {"_INS2", "Activates a PLC module"},
      {"_DELE", "Removes module from the PLC's passive file system"},
      {"P_PROGRAM", "PLC Start / Stop"},
      {"_MODU", "PLC Copy Ram to Rom"},
      {"_GARB", "Compress PLC memory"},
      {"_N_LOGIN_", "Login"},
      {"_N_LOGOUT", "Logout"},
      {"_N_CANCEL", "Cancels NC alarm"},
      {"_N_DASAVE", "PI-Service for copying data from SRAM to FLASH"},
      {"_N_DIGIOF", "Turns off digitizing"},
      {"_N_DIGION", "Turns on digitizing"},
      {"_N_DZERO_", "Set all D numbers invalid for function"},
      {"_N_F_OPER", "Opens a file read-only"},
      {"_N_OST_OF", "Overstore OFF"},
      {"_N_OST_ON", "Overstore ON"},
      {"_N_SCALE_", "Unit of measurement setting (metric<->INCH)"},
      {"_N_SETUFR", "Activates user frame"},
      {"_N_STRTLK", "The global start disable is set"},
      {"_N_STRTUL", "The global start disable is reset"},
      {"_N_TMRASS", "Resets the Active status"},
      {"_N_F_DELE", "Deletes file"},
      {"_N_EXTERN", "Selects external program for execution"},
      {"_N_EXTMOD", "Selects external program for execution"},
      {"_N_F_DELR", "Delete file even without access rights"},
      {"_N_F_XFER", "Selects file for uploading"},
      {"_N_LOCKE_", "Locks the active file for editing"},
      {"_N_SELECT", "Selects program for execution"},
      {"_N_SRTEXT", "A file is being marked in _N_EXT_DIR"},
      {"_N_F_CLOS", "Closes file"},
      {"_N_F_OPEN", "Opens file"},
      {"_N_F_SEEK", "Position the file search pointer"},
      {"_N_ASUP__", "Assigns interrupt"},
      {"_N_CHEKDM", "Start uniqueness check on D numbers"},
      {"_N_CHKDNO", "Check whether the tools have unique D numbers"},
      {"_N_CONFIG", "Reconfigures machine data"},
      {"_N_CRCEDN", "Creates a cutting edge by specifying an edge number"},
      {"_N_DELECE", "Deletes a cutting edge"},
      {"_N_CREACE", "Creates a cutting edge"},
      {"_N_CREATO", "Creates a tool"},
      {"_N_DELETO", "Deletes tool"},
      {"_N_CRTOCE", "Generate tool with specified edge number"},
      {"_N_DELVAR", "Delete data block"},
      {"_N_F_COPY", "Copies file within the NCK"},
      {"_N_F_DMDA", "Deletes MDA memory"},
      {"_N_F_PROT", "Assigns a protection level to a file"},
      {"_N_F_RENA", "Renames file"},
      {"_N_FINDBL", "Activates search"},
      {"_N_IBN_SS", "Sets the set-up switch"},
      {"_N_MMCSEM", "MMC-Semaphore"},
      {"_N_NCKMOD", "The mode in which the NCK will work is being set"},
      {"_N_NEWPWD", "New password"},
      {"_N_SEL_BL", "Selects a new block"},
      {"_N_SETTST", "Activate tools for replacement tool group"},
      {"_N_TMAWCO", "Set the active wear group in one magazine"},
      {"_N_TMCRTC", "Create tool with specified edge number"},
      {"_N_TMCRTO", "Creates tool in the tool management"},
      {"_N_TMFDPL", "Searches an empty place for loading"},
      {"_N_TMFPBP", "Searches for empty location"},
      {"_N_TMGETT", "Determines T-number for specific toolID with Duplono"},
      {"_N_TMMVTL", "Loads or unloads a tool"},
      {"_N_TMPCIT", "Sets increment value of the piece counter"},
      {"_N_TMPOSM", "Positions a magazine or tool"},
      {"_N_TRESMO", "Reset monitoring values"},
      {"_N_TSEARC", "Complex search via search screenforms"},
  };
  for (const auto& [k, v] : kServices) {
    if (k == s) return v;
  }
  return "unknown";
}

std::string_view icsnpp_userdata_method_name(uint8_t method) {
  if (method == 0x11) return "Request";
  if (method == 0x12) return "Response";
  return "Unknown";
}

std::string_view icsnpp_return_code_name(uint8_t rc) {
  switch (rc) {
    case 0x00: return "Reserved";
    case 0x01: return "Hardware error";
    case 0x03: return "Accessing the bbject not allowed";  // ICSNPP's spelling
    case 0x05: return "Invalid address";
    case 0x06: return "Data type not supported";
    case 0x07: return "Data type inconsistent";
    case 0x0A: return "Object does not exist";
    case 0xFF: return "Success";
    default: return "Unknown";
  }
}

std::string_view icsnpp_szl_id_name(uint16_t szl_id) {
  switch (szl_id & 0xFF) {
    case 0x00: return "List of all the SZL-IDs of a module";
    case 0x11: return "Module identification";
    case 0x12: return "CPU characteristics";
    case 0x13: return "User memory areas";
    case 0x14: return "System areas";
    case 0x15: return "Block types";
    case 0x16: return "Priority classes";
    case 0x17: return "List of the permitted SDBs with a number < 1000";
    case 0x18: return "Maximum S7-300 I/O configuration";
    case 0x19: return "Status of the module LEDs";
    case 0x1C: return "Component Identification";
    case 0x21: return "Interrupt / error assignment";
    case 0x22: return "Interrupt status";
    case 0x23: return "Priority classes";
    case 0x24: return "Modes";
    case 0x25: return "Assignment between process image partitions and OBs";
    case 0x31: return "Communication capability parameters";
    case 0x32: return "Communication status data";
    case 0x33: return "Diagnostics: device logon list";
    case 0x37: return "Ethernet - Details of a Module";
    case 0x71: return "H CPU group information";
    case 0x74: return "Status of the module LEDs";
    case 0x75: return "Switched DP slaves in the H-system";
    case 0x81: return "Start information list";
    case 0x82: return "Start event list";
    case 0x91: return "Module status information";
    case 0x92: return "Rack / station status information";
    case 0x94: return "Rack / station status information";
    case 0x95: return "Extended DP master system information";
    case 0x96: return "Module status information, PROFINET IO and PROFIBUS DP";
    case 0xA0: return "Diagnostic buffer of the CPU";
    case 0xB1: return "Module diagnostic information (data record 0)";
    case 0xB2: return "Module diagnostic information (data record 1), geographical address";
    case 0xB3: return "Module diagnostic information (data record 1), logical address";
    case 0xB4: return "Diagnostic data of a DP slave";
    default: return "Unknown";
  }
}

std::string_view icsnpp_block_type_name(std::string_view t) {
  if (t == "08") return "Organization Block";
  if (t == "0A") return "Data Block";
  if (t == "0B") return "System Data Block";
  if (t == "0C") return "Function";
  if (t == "0D") return "System Function";
  if (t == "0E") return "Function Block";
  if (t == "0F") return "System Function Block";
  return "Unknown";
}

std::string_view icsnpp_filesystem_name(std::string_view f) {
  if (f == "P") return "Passive";
  if (f == "A") return "Active";
  return "Unknown";
}

std::string_view icsnpp_plus_opcode_name(uint8_t opcode) { return kPlusOpcodeNames[opcode].view(); }

std::string_view icsnpp_plus_function_name(uint16_t function, std::string& scratch) {
  switch (function) {
    case 0x04BB: return "Explore";
    case 0x04CA: return "Create Object";
    case 0x04D4: return "Delete Object";
    case 0x04F2: return "Set Variable";
    case 0x0524: return "Get Link";
    case 0x0542: return "Set Multi Variables";
    case 0x054C: return "Get Multi Variables";
    case 0x0556: return "Begin Sequence";
    case 0x0560: return "End Sequence";
    case 0x056B: return "Invoke";
    case 0x0586: return "Get Variable Sub Streamed";
    // The plugin's functions ICSNPP's table lacks, in ICSNPP's style.
    case 0x04B1: return "Error";
    case 0x04FC: return "Get Variable";
    case 0x0506: return "Add Link";
    case 0x051A: return "Remove Link";
    case 0x057C: return "Set Variable Sub Streamed";
    case 0x0590: return "Get Variables Address";
    case 0x059A: return "Abort";
    default: return hex_default(scratch, "Unknown s7comm-plus function-0x%04x", function);
  }
}

}  // namespace ots::s7
