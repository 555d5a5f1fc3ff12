#include "dissectors/dnp3/dnp3_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <utility>

#include "dissectors/dnp3/dnp3_parser.hpp"

namespace ots {

namespace {

struct FunctionNames {
  uint8_t code;
  std::string_view zeek;   // base/protocols/dnp3/consts.zeek
  std::string_view snake;  // ours, after IEEE 1815-2012 Tables 4-2 and 4-3
};

// Zeek spells 0x21 AUTHENTICATE_REQ_NR (from the draft Secure Authentication spec); IEEE 1815-2012
// Table 4-2 calls it AUTHENTICATE_ERR, hence "authentication_error".
constexpr FunctionNames kFunctions[] = {
    {0, "CONFIRM", "confirm"},
    {1, "READ", "read"},
    {2, "WRITE", "write"},
    {3, "SELECT", "select"},
    {4, "OPERATE", "operate"},
    {5, "DIRECT_OPERATE", "direct_operate"},
    {6, "DIRECT_OPERATE_NR", "direct_operate_nr"},
    {7, "IMMED_FREEZE", "immediate_freeze"},
    {8, "IMMED_FREEZE_NR", "immediate_freeze_nr"},
    {9, "FREEZE_CLEAR", "freeze_clear"},
    {10, "FREEZE_CLEAR_NR", "freeze_clear_nr"},
    {11, "FREEZE_AT_TIME", "freeze_at_time"},
    {12, "FREEZE_AT_TIME_NR", "freeze_at_time_nr"},
    {13, "COLD_RESTART", "cold_restart"},
    {14, "WARM_RESTART", "warm_restart"},
    {15, "INITIALIZE_DATA", "initialize_data"},
    {16, "INITIALIZE_APPL", "initialize_application"},
    {17, "START_APPL", "start_application"},
    {18, "STOP_APPL", "stop_application"},
    {19, "SAVE_CONFIG", "save_configuration"},
    {20, "ENABLE_UNSOLICITED", "enable_unsolicited"},
    {21, "DISABLE_UNSOLICITED", "disable_unsolicited"},
    {22, "ASSIGN_CLASS", "assign_class"},
    {23, "DELAY_MEASURE", "delay_measure"},
    {24, "RECORD_CURRENT_TIME", "record_current_time"},
    {25, "OPEN_FILE", "open_file"},
    {26, "CLOSE_FILE", "close_file"},
    {27, "DELETE_FILE", "delete_file"},
    {28, "GET_FILE_INFO", "get_file_info"},
    {29, "AUTHENTICATE_FILE", "authenticate_file"},
    {30, "ABORT_FILE", "abort_file"},
    {31, "ACTIVATE_CONFIG", "activate_configuration"},
    {32, "AUTHENTICATE_REQ", "authentication_request"},
    {33, "AUTHENTICATE_REQ_NR", "authentication_error"},
    {129, "RESPONSE", "response"},
    {130, "UNSOLICITED_RESPONSE", "unsolicited_response"},
    {131, "AUTHENTICATE_RESP", "authentication_response"},
};

// Other spellings a config may use: IEEE 1815-2012's AUTHENTICATE_ERR, and the name older Zeek releases
// (base/protocols/dnp3/consts.bro) gave 0x83.
constexpr std::pair<std::string_view, uint8_t> kAliases[] = {
    {"AUTHENTICATE_ERR", 33},
    {"AUTHENTICATE_RESPONSE", 131},
};

// kFunctions' entry for each code (or its size for none), built at compile time: every dnp3.log and
// dnp3_objects.log row names its function, and a search of the table per name cost more than the row's
// other columns.
constexpr auto kFunctionIndex = [] {
  std::array<uint8_t, 256> t{};
  t.fill(static_cast<uint8_t>(std::size(kFunctions)));
  // Backwards, so that a code's first entry wins, as a search would find it.
  for (size_t i = std::size(kFunctions); i-- > 0;) t[kFunctions[i].code] = static_cast<uint8_t>(i);
  return t;
}();
static_assert(std::size(kFunctions) < 256, "kFunctionIndex keeps an entry's index in a byte");

const FunctionNames* find_function(uint8_t fc) {
  const size_t i = kFunctionIndex[fc];
  return i < std::size(kFunctions) ? &kFunctions[i] : nullptr;
}

// Names for the codes no table has, built once: "<prefix><fc in base>".
std::array<std::string, 256> make_unknown(const char* prefix, int base) {
  std::array<std::string, 256> t;
  for (unsigned i = 0; i < 256; ++i) {
    char buf[8];
    auto r = std::to_chars(buf, buf + sizeof buf, i, base);
    t[i] = std::string(prefix) + std::string(buf, r.ptr);
  }
  return t;
}

const std::array<std::string, 256>& unknown_decimal() {
  static const auto t = make_unknown("unknown-", 10);
  return t;
}

const std::array<std::string, 256>& unknown_hex() {
  static const auto t = make_unknown("unknown-", 16);
  return t;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<uint8_t> parse_number(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > 255) return std::nullopt;
  return static_cast<uint8_t>(v);
}

}  // namespace

std::string_view dnp3_function_name(uint8_t fc) {
  if (const FunctionNames* f = find_function(fc)) return f->zeek;
  return unknown_decimal()[fc];
}

std::string_view dnp3_function_snake_name(uint8_t fc) {
  if (const FunctionNames* f = find_function(fc)) return f->snake;
  return "unknown";
}

std::optional<uint8_t> dnp3_function_from_name(std::string_view name) {
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) name.remove_prefix(1);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  if (auto n = parse_number(name)) return n;
  for (const FunctionNames& f : kFunctions) {
    if (iequal(name, f.zeek) || iequal(name, f.snake)) return f.code;
  }
  for (const auto& [alias, code] : kAliases) {
    if (iequal(name, alias)) return code;
  }
  constexpr std::string_view kUnknown = "unknown-";
  if (name.size() > kUnknown.size() && iequal(name.substr(0, kUnknown.size()), kUnknown)) {
    const std::string_view digits = name.substr(kUnknown.size());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return parse_number(digits);
    }
  }
  return std::nullopt;
}

OpClass dnp3_op_class(uint8_t fc) {
  using namespace dnp3;
  switch (fc) {
    case kRead:
    case kDelayMeasure:
    case kGetFileInfo:
      return OpClass::Read;
    case kWrite:
    case kSaveConfig:
    case kEnableUnsolicited:
    case kDisableUnsolicited:
    case kAssignClass:
    case kRecordCurrentTime:
    case kOpenFile:
    case kCloseFile:
    case kDeleteFile:
    case kAbortFile:
    case kActivateConfig:
      return OpClass::Write;
    case kSelect:
    case kOperate:
    case kDirectOperate:
    case kDirectOperateNr:
    case kImmedFreeze:
    case kImmedFreezeNr:
    case kFreezeClear:
    case kFreezeClearNr:
    case kFreezeAtTime:
    case kFreezeAtTimeNr:
    case kColdRestart:
    case kWarmRestart:
    case kInitializeData:
    case kInitializeAppl:
    case kStartAppl:
    case kStopAppl:
      return OpClass::Control;
    default:
      return OpClass::Other;
  }
}

bool dnp3_read_only(uint8_t fc) { return fc == dnp3::kRead || fc == dnp3::kDelayMeasure; }

}  // namespace ots

namespace ots::dnp3 {

std::string_view icsnpp_function_name(uint8_t fc) {
  if (const FunctionNames* f = find_function(fc)) return f->zeek;
  return unknown_hex()[fc];
}

namespace {

struct ObjectName {
  uint16_t type;
  std::string_view name;
};

// icsnpp-dnp3 scripts/consts.zeek, dnp3_objects, sorted by type.
constexpr ObjectName kObjects[] = {
    {0x0100, "Binary Input Default Variation"},
    {0x0101, "Single-bit Binary Input"},
    {0x0102, "Binary Input With Status"},
    {0x0200, "Binary Input Change Default Variation"},
    {0x0201, "Binary Input Change Without Time"},
    {0x0202, "Binary Input Change With Time"},
    {0x0203, "Binary Input Change With Relative Time"},
    {0x0300, "Double-bit Input Default Variation"},
    {0x0301, "Double-bit Input No Flags"},
    {0x0302, "Double-bit Input With Status"},
    {0x0400, "Double-bit Input Change Default Variation"},
    {0x0401, "Double-bit Input Change Without Time"},
    {0x0402, "Double-bit Input Change With Time"},
    {0x0403, "Double-bit Input Change With Relative Time"},
    {0x0A00, "Binary Output Default Variation"},
    {0x0A01, "Binary Output"},
    {0x0A02, "Binary Output Status"},
    {0x0B00, "Binary Output Change Default Variation"},
    {0x0B01, "Binary Output Change Without Time"},
    {0x0B02, "Binary Output Change With Time"},
    {0x1400, "Binary Counter Default Variation"},
    {0x1401, "32-Bit Binary Counter"},
    {0x1402, "16-Bit Binary Counter"},
    {0x1403, "32-Bit Delta Counter"},
    {0x1404, "16-Bit Delta Counter"},
    {0x1405, "32-Bit Binary Counter Without Flag"},
    {0x1406, "16-Bit Binary Counter Without Flag"},
    {0x1407, "32-Bit Delta Counter Without Flag"},
    {0x1408, "16-Bit Delta Counter Without Flag"},
    {0x1500, "Frozen Binary Counter Default Variation"},
    {0x1501, "32-Bit Frozen Counter"},
    {0x1502, "16-Bit Frozen Counter"},
    {0x1503, "32-Bit Frozen Delta Counter"},
    {0x1504, "16-Bit Frozen Delta Counter"},
    {0x1505, "32-Bit Frozen Counter w/ Time of Freeze"},
    {0x1506, "16-Bit Frozen Counter w/ Time of Freeze"},
    {0x1507, "32-Bit Frozen Delta Counter w/ Time of Freeze"},
    {0x1508, "16-Bit Frozen Delta Counter w/ Time of Freeze"},
    {0x1509, "32-Bit Frozen Counter Without Flag"},
    {0x150A, "16-Bit Frozen Counter Without Flag"},
    {0x150B, "32-Bit Frozen Delta Counter Without Flag"},
    {0x150C, "16-Bit Frozen Delta Counter Without Flag"},
    {0x1600, "Counter Change Event Default Variation"},
    {0x1601, "32-Bit Counter Change Event w/o Time"},
    {0x1602, "16-Bit Counter Change Event w/o Time"},
    {0x1603, "32-Bit Delta Counter Change Event w/o Time"},
    {0x1604, "16-Bit Delta Counter Change Event w/o Time"},
    {0x1605, "32-Bit Counter Change Event with Time"},
    {0x1606, "16-Bit Counter Change Event with Time"},
    {0x1607, "32-Bit Delta Counter Change Event with Time"},
    {0x1608, "16-Bit Delta Counter Change Event with Time"},
    {0x1700, "Frozen Binary Counter Change Event Default Variation"},
    {0x1701, "32-Bit Frozen Counter Change Event"},
    {0x1702, "16-Bit Frozen Counter Change Event"},
    {0x1703, "32-Bit Frozen Delta Counter Change Event"},
    {0x1704, "16-Bit Frozen Delta Counter Change Event"},
    {0x1705, "32-Bit Frozen Counter Change Event w/ Time of Freeze"},
    {0x1706, "16-Bit Frozen Counter Change Event w/ Time of Freeze"},
    {0x1707, "32-Bit Frozen Delta Counter Change Event w/ Time of Freeze"},
    {0x1708, "16-Bit Frozen Delta Counter Change Event w/ Time of Freeze"},
    {0x1E00, "Analog Input Default Variation"},
    {0x1E01, "32-Bit Analog Input"},
    {0x1E02, "16-Bit Analog Input"},
    {0x1E03, "32-Bit Analog Input Without Flag"},
    {0x1E04, "16-Bit Analog Input Without Flag"},
    {0x1E05, "32-Bit Floating Point Input"},
    {0x1E06, "64-Bit Floating Point Input"},
    {0x1F01, "32-Bit Frozen Analog Input"},
    {0x1F02, "16-Bit Frozen Analog Input"},
    {0x1F03, "32-Bit Frozen Analog Input w/ Time of Freeze"},
    {0x1F04, "16-Bit Frozen Analog Input w/ Time of Freeze"},
    {0x1F05, "32-Bit Frozen Analog Input Without Flag"},
    {0x1F06, "16-Bit Frozen Analog Input Without Flag"},
    {0x1F07, "32-Bit Frozen Floating Point Input"},
    {0x1F08, "64-Bit Frozen Floating Point Input"},
    {0x2000, "Analog Input Change Default Variation"},
    {0x2001, "32-Bit Analog Change Event w/o Time"},
    {0x2002, "16-Bit Analog Change Event w/o Time"},
    {0x2003, "32-Bit Analog Change Event w/ Time"},
    {0x2004, "16-Bit Analog Change Event w/ Time"},
    {0x2005, "32-Bit Floating Point Change Event w/o Time"},
    {0x2006, "64-Bit Floating Point Change Event w/o Time"},
    {0x2007, "32-Bit Floating Point Change Event w/ Time"},
    {0x2008, "64-Bit Floating Point Change Event w/ Time"},
    {0x2101, "32-Bit Frozen Analog Event w/o Time"},
    {0x2102, "16-Bit Frozen Analog Event w/o Time"},
    {0x2103, "32-Bit Frozen Analog Event w/ Time"},
    {0x2104, "16-Bit Frozen Analog Event w/ Time"},
    {0x2105, "32-Bit Floating Point Frozen Change Event w/o Time"},
    {0x2106, "64-Bit Floating Point Frozen Change Event w/o Time"},
    {0x2107, "32-Bit Floating Point Frozen Change Event w/ Time"},
    {0x2108, "64-Bit Floating Point Frozen Change Event w/ Time"},
    {0x2800, "Analog Output Default Variation"},
    {0x2801, "32-Bit Analog Output Status"},
    {0x2802, "16-Bit Analog Output Status"},
    {0x2803, "32-Bit Floating Point Output Status"},
    {0x2804, "64-Bit Floating Point Output Status"},
    {0x2901, "32-Bit Analog Output Block"},
    {0x2902, "16-Bit Analog Output Block"},
    {0x2903, "32-Bit Floating Point Output Block"},
    {0x2904, "64-Bit Floating Point Output Block"},
    {0x2A00, "Analog Output Event Default Variation"},
    {0x2A01, "32-Bit Analog Output Event w/o Time"},
    {0x2A02, "16-Bit Analog Output Event w/o Time"},
    {0x2A03, "32-Bit Analog Output Event w/ Time"},
    {0x2A04, "16-Bit Analog Output Event w/ Time"},
    {0x2A05, "32-Bit Floating Point Output Event w/o Time"},
    {0x2A06, "64-Bit Floating Point Output Event w/o Time"},
    {0x2A07, "32-Bit Floating Point Output Event w/ Time"},
    {0x2A08, "64-Bit Floating Point Output Event w/ Time"},
    {0x3C01, "Class 0 Data"},
    {0x3C02, "Class 1 Data"},
    {0x3C03, "Class 2 Data"},
    {0x3C04, "Class 3 Data"},
};

constexpr std::string_view kTrip[] = {"Nul", "Close", "Trip"};
constexpr std::string_view kOperation[] = {"Nul", "Pulse On", "Pulse Off", "Latch On", "Latch Off"};
constexpr std::string_view kStatus[] = {"Success",        "Timeout",        "No Select",         "Format Error",
                                        "Not Supported",  "Latch Off",      "Already Active",    "Hardware Error",
                                        "Too Many Objs",  "Not Authorized", "Automation Inhibit",
                                        "Processing Limited", "Out of Range"};

}  // namespace

// Where each group's entries start in kObjects (sorted by type), and where the last group's end: a name
// is looked for among its group's few variations only, not by a search of the whole table per object
// header.
constexpr auto kGroupStarts = [] {
  std::array<uint8_t, 257> t{};
  size_t i = 0;
  for (unsigned g = 0; g <= 256; ++g) {
    while (i < std::size(kObjects) && (kObjects[i].type >> 8) < g) ++i;
    t[g] = static_cast<uint8_t>(i);
  }
  return t;
}();
static_assert(std::size(kObjects) < 256, "kGroupStarts keeps an index in a byte");

std::string_view icsnpp_object_type(uint16_t object_type) {
  const unsigned group = object_type >> 8;
  for (size_t i = kGroupStarts[group]; i < kGroupStarts[group + 1]; ++i) {
    if (kObjects[i].type == object_type) return kObjects[i].name;
  }
  return {};
}

std::string_view trip_control_name(uint8_t tcc) {
  return tcc < std::size(kTrip) ? kTrip[tcc] : unknown_hex()[tcc];
}

std::string_view operation_type_name(uint8_t op) {
  return op < std::size(kOperation) ? kOperation[op] : unknown_hex()[op];
}

std::string_view control_status_name(uint8_t status) {
  if (status < std::size(kStatus)) return kStatus[status];
  if (status == 0x7e) return "Non Participating";
  if (status == 0x7f) return "Undefined";
  return unknown_hex()[status];
}

}  // namespace ots::dnp3
