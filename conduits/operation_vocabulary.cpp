#include "conduits/operation_vocabulary.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "dissectors/dnp3/dnp3_names.hpp"
#include "dissectors/enip/cip_names.hpp"
#include "dissectors/modbus/modbus_functions.hpp"
#include "dissectors/s7comm/s7comm_names.hpp"

namespace ots {

namespace {

// The names and read-only predicates are the dissectors' (one table per protocol); this file adds what
// only the policy needs: keys for the qualified operations, the S7 download parts, and the messages.

constexpr std::string_view kNotChecked[] = {
    "is a CIP wrapper, not an operation: list the services it carries",
    "belongs to request_download and is never checked on its own: list request_download",
};

struct NamedKey {
  std::string_view name;  // the dissector's canonical snake_case name (static storage)
  OpKey key;
  int8_t not_checked = -1;  // index into kNotChecked, -1: a real operation
};

// The S7 Jobs the PLC sends during a download (issue 5).
bool s7_download_part(uint32_t code) { return code == 0x1B || code == 0x1C; }

// CIP targets in the order their meanings are looked up.
constexpr cip::Target kCipTargets[] = {cip::Target::Object, cip::Target::Logix, cip::Target::ConnectionManager,
                                       cip::Target::Pccc};

// The key of a CIP service on a target: the code, qualified by class 6 when the meaning is the
// Connection Manager's (0x4E forward_close vs read_modify_write_tag, 0x52 unconnected_send vs
// read_tag_fragmented; forward_open is the Connection Manager's on every class, so it has one key).
OpKey cip_key_uncached(uint8_t code, cip::Target t) {
  if (code < 0x32) return code;  // common services mean the same on every class
  const std::string_view name = cip_service_snake_name(code, t);
  if (name != "unknown" && name == cip_service_snake_name(code, cip::Target::ConnectionManager))
    return op_key(code, kCipConnectionManagerClass);
  return code;
}

OpKey cip_key(uint8_t code, cip::Target t) {
  static const auto table = [] {
    std::array<std::array<OpKey, 5>, 128> keys{};
    for (uint8_t c = 0; c < 128; ++c)
      for (uint8_t i = 0; i < 5; ++i) keys[c][i] = cip_key_uncached(c, static_cast<cip::Target>(i));
    return keys;
  }();
  return table[code & 0x7F][static_cast<uint8_t>(t) % 5];
}

// An event's target from its request path's class, as cip::target_of reads a path (a request without a
// class addresses a tag by name).
cip::Target cip_target(int32_t cls) {
  if (cls == int32_t(cip::kClassConnectionManager)) return cip::Target::ConnectionManager;
  if (cls == int32_t(cip::kClassPccc)) return cip::Target::Pccc;
  if (cls < 0 || cls == int32_t(cip::kClassSymbol) || cls == int32_t(cip::kClassTemplate)) return cip::Target::Logix;
  return cip::Target::Object;
}

void add(std::vector<NamedKey>& v, std::string_view name, OpKey key, int8_t not_checked = -1) {
  if (name.empty() || name == "unknown" || name == "user_defined") return;
  for (const NamedKey& n : v)
    if (n.name == name && n.key == key) return;
  v.push_back({name, key, not_checked});
}

// Every name of a family with its key, built once (start-up) from the dissectors' tables.
const std::vector<NamedKey>& vocabulary(OpFamily f) {
  static const std::array<std::vector<NamedKey>, 6> all = [] {
    std::array<std::vector<NamedKey>, 6> v;
    auto& modbus = v[size_t(OpFamily::Modbus)];
    for (uint32_t fc = 1; fc < 128; ++fc) add(modbus, modbus_function_snake_name(uint8_t(fc)), fc);
    // MEI types of function 43 the read-only set singles out; the dissector names only the function.
    add(modbus, "canopen_general_reference", op_key(43, 13));
    add(modbus, "read_device_identification", op_key(43, 14));
    auto& dnp3 = v[size_t(OpFamily::Dnp3)];
    for (uint32_t fc = 0; fc < 128; ++fc) add(dnp3, dnp3_function_snake_name(uint8_t(fc)), fc);
    auto& s7 = v[size_t(OpFamily::S7comm)];
    for (uint32_t code = 0; code <= kS7UserdataCode; ++code)
      add(s7, s7_function_name(code), code, s7_download_part(code) ? 1 : -1);
    for (int32_t q = 0; q < 0x1000; ++q) {
      const std::string_view n = s7_userdata_function_name(uint8_t(q >> 8), uint8_t(q & 0xFF));
      if (n != "userdata") add(s7, n, op_key(kS7UserdataCode, q));
    }
    auto& cip = v[size_t(OpFamily::Cip)];
    for (uint32_t code = 0; code < 128; ++code)
      for (const cip::Target t : kCipTargets)
        add(cip, cip_service_snake_name(uint8_t(code), t), cip_key(uint8_t(code), t),
            cip_wrapper(uint8_t(code), t) ? 0 : -1);
    auto& plus = v[size_t(OpFamily::S7commPlus)];
    for (uint32_t code = 0; code <= 0xFFFF; ++code) {
      const std::string_view n = s7commplus_function_name(uint16_t(code));
      if (n != "unknown") add(plus, n, code);
    }
    return v;
  }();
  return all[size_t(f)];
}

// Numeric codes a rule may give, per family.
struct CodeRange {
  uint32_t lo, hi;
  std::string_view note;
};
CodeRange code_range(OpFamily f) {
  switch (f) {
    // Function codes 128 and up are exception responses (Modbus) or responses (DNP3, CIP reply bit).
    case OpFamily::Modbus: return {1, 127, " (128 and up are exception responses)"};
    case OpFamily::Dnp3: return {0, 127, " (responses are never operations)"};
    case OpFamily::Cip: return {0, 127, " (the high bit marks replies)"};
    case OpFamily::S7comm: return {0, kS7UserdataCode, " (256 is userdata)"};
    case OpFamily::S7commPlus: return {0, 0xFFFF, ""};
    case OpFamily::None: break;
  }
  return {0, 0, ""};
}

std::string normalise(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == ' ') c = '_';
  }
  return out;
}

bool parse_number(std::string_view s, uint32_t& v) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Other spellings the dissectors accept (Zeek's, ICSNPP's, Wireshark's): the code, or nullopt. CIP has
// none here: its lookup folds the two meanings of 0x4E and 0x52 into one code.
std::optional<uint32_t> alias_code(OpFamily f, std::string_view text) {
  std::optional<uint32_t> code;
  const std::string normalised = normalise(text);  // a named local: it must outlive the loop below
  for (const std::string_view t : {text, std::string_view(normalised)}) {
    if (code) break;
    switch (f) {
      case OpFamily::Modbus: code = modbus_function_from_name(t); break;
      case OpFamily::Dnp3: code = dnp3_function_from_name(t); break;
      case OpFamily::S7comm: code = s7_function_from_name(t); break;
      case OpFamily::S7commPlus: code = s7commplus_function_from_name(t); break;
      default: break;
    }
  }
  return code;
}

bool known_name(OpFamily f, std::string_view text) {
  const std::string name = normalise(text);
  for (const NamedKey& n : vocabulary(f))
    if (n.name == name) return true;
  return alias_code(f, text).has_value();
}

}  // namespace

OpFamily op_family(Protocol p) {
  switch (p) {
    case Protocol::Modbus: return OpFamily::Modbus;
    case Protocol::Dnp3: return OpFamily::Dnp3;
    case Protocol::Enip:
    case Protocol::Cip: return OpFamily::Cip;
    case Protocol::S7comm: return OpFamily::S7comm;
    case Protocol::S7commPlus: return OpFamily::S7commPlus;
    case Protocol::Aqat:
    case Protocol::Count_: break;
  }
  return OpFamily::None;
}

std::string_view op_family_name(OpFamily f) {
  switch (f) {
    case OpFamily::Modbus: return "modbus";
    case OpFamily::Dnp3: return "dnp3";
    case OpFamily::Cip: return "cip";
    case OpFamily::S7comm: return "s7comm";
    case OpFamily::S7commPlus: return "s7comm-plus";
    case OpFamily::None: break;
  }
  return "none";
}

std::optional<PolicyOperation> policy_operation(const OperationEvent& ev) {
  if (!ev.is_request || ev.wrapper) return std::nullopt;
  const uint32_t code = ev.code;
  const bool qualified = ev.subfunction >= 0 && ev.subfunction <= 0x7FFF;
  switch (ev.protocol) {
    case Protocol::Modbus:
      if (qualified) return PolicyOperation{op_key(code, ev.subfunction), code};
      return PolicyOperation{code, code};
    case Protocol::Dnp3:
      if (code == 0) return std::nullopt;  // confirm: an application-layer acknowledgement
      return PolicyOperation{code, code};
    case Protocol::Cip: {
      const OpKey k = cip_key(static_cast<uint8_t>(code & 0x7F), cip_target(ev.cip_class));
      return PolicyOperation{k, k};
    }
    case Protocol::S7comm:
      if (s7_download_part(code)) return std::nullopt;
      if (code == kS7UserdataCode && qualified) return PolicyOperation{op_key(code, ev.subfunction), code};
      return PolicyOperation{code, code};
    case Protocol::S7commPlus: return PolicyOperation{code, code};
    case Protocol::Enip:
    case Protocol::Aqat:
    case Protocol::Count_: break;
  }
  return std::nullopt;
}

bool parse_operation(OpFamily f, std::string_view text, ParsedOperation& out, std::string& why) {
  out = {};
  const std::string_view fam = op_family_name(f);
  if (f == OpFamily::None) {
    why = fmt::format("{} has no operations to restrict", fam);
    return false;
  }
  auto push = [&out](OpKey k) {
    for (uint8_t i = 0; i < out.count; ++i)
      if (out.keys[i] == k) return;
    if (out.count < std::size(out.keys)) out.keys[out.count++] = k;
  };
  auto finish = [&] {
    out.canonical = operation_key_name(f, out.keys[0]);
    for (uint8_t i = 1; i < out.count; ++i) out.canonical += "|" + operation_key_name(f, out.keys[i]);
    return true;
  };
  const std::string name = normalise(text);
  for (const NamedKey& n : vocabulary(f)) {
    if (n.name != name) continue;
    if (n.not_checked >= 0) {
      why = fmt::format("{} operation '{}' {}", fam, text, kNotChecked[size_t(n.not_checked)]);
      return false;
    }
    push(n.key);
    return finish();
  }
  if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    const CodeRange range = code_range(f);
    const size_t slash = text.find('/');
    uint32_t code = 0, qual = 0;
    if (!parse_number(text.substr(0, slash), code) ||
        (slash != std::string_view::npos && !parse_number(text.substr(slash + 1), qual))) {
      why = fmt::format("{} operation '{}' is not a name or a number", fam, text);
      return false;
    }
    if (code < range.lo || code > range.hi) {
      why = fmt::format("{} code {} is out of range, expected {} to {}{}", fam, text.substr(0, slash), range.lo,
                        range.hi, range.note);
      return false;
    }
    if (slash != std::string_view::npos) {
      // Only these codes have sub-functions the dissectors report (OperationEvent::subfunction).
      const bool takes_sub = (f == OpFamily::Modbus && (code == 8 || code == 43)) ||
                             (f == OpFamily::S7comm && code == kS7UserdataCode);
      if (!takes_sub) {
        if (f == OpFamily::Modbus || f == OpFamily::S7comm) {
          why = fmt::format("{} operation '{}': only {} can have a '/sub-function'", fam, text,
                            f == OpFamily::Modbus ? "diagnostics (8) and encapsulated_interface_transport (43)"
                                                  : "userdata (256)");
        } else {
          why = fmt::format("{} operation '{}' takes no '/sub-function'", fam, text);
        }
        return false;
      }
      if (qual > 0x7FFF) {
        why = fmt::format("{} operation '{}': sub-function {} is out of range, expected 0 to 0x7fff", fam, text, qual);
        return false;
      }
      push(op_key(code, static_cast<int32_t>(qual)));
      return finish();
    }
    if (f == OpFamily::Cip) {
      // A CIP number names the service on every class (0x4E: forward_close and read_modify_write_tag).
      bool any_operation = false;
      for (const cip::Target t : kCipTargets) {
        push(cip_key(uint8_t(code), t));
        any_operation |= !cip_wrapper(uint8_t(code), t);
      }
      if (!any_operation) {
        why = fmt::format("cip operation '{}' ({}) {}", text, cip_service_snake_name(uint8_t(code), cip::Target::Object),
                          kNotChecked[0]);
        return false;
      }
      return finish();
    }
    if (f == OpFamily::S7comm && s7_download_part(code)) {
      why = fmt::format("s7comm operation '{}' ({}) {}", text, s7_function_name(code), kNotChecked[1]);
      return false;
    }
    push(code);
    return finish();
  }
  if (const std::optional<uint32_t> code = alias_code(f, text)) {
    if (f == OpFamily::Dnp3 && *code >= 0x80) {
      why = fmt::format("dnp3 operation '{}' is a response, and responses are never operations", text);
      return false;
    }
    if (f == OpFamily::S7comm && s7_download_part(*code)) {
      why = fmt::format("s7comm operation '{}' {}", text, kNotChecked[1]);
      return false;
    }
    push(f == OpFamily::Modbus ? (*code & 0x7Fu) : *code);
    return finish();
  }
  // A name from another protocol's vocabulary is the likelier mistake than a typo.
  for (const OpFamily other : {OpFamily::Modbus, OpFamily::Dnp3, OpFamily::Cip, OpFamily::S7comm, OpFamily::S7commPlus}) {
    if (other != f && known_name(other, text)) {
      why = fmt::format("'{}' is an operation of {}, not of {}", text, op_family_name(other), fam);
      return false;
    }
  }
  // Suggest the nearest name when it is close (a typo), rather than listing dozens of names.
  std::string_view best;
  size_t best_d = 4;
  for (const NamedKey& n : vocabulary(f)) {
    const size_t d = edit_distance(name, n.name);
    if (d < best_d) {
      best_d = d;
      best = n.name;
    }
  }
  if (!best.empty()) {
    why = fmt::format("unknown {} operation '{}', did you mean '{}'?", fam, text, best);
  } else {
    why = fmt::format("unknown {} operation '{}', expected a {} name or code (config/README.md lists them)", fam,
                      text, fam);
  }
  return false;
}

std::span<const OpKey> read_only_operations(OpFamily f) {
  // From the dissectors' predicates, so that an event's read_only flag and the policy never disagree;
  // built once (start-up), then shared read-only.
  static const std::array<std::vector<OpKey>, 6> sets = [] {
    std::array<std::vector<OpKey>, 6> s;
    auto& modbus = s[size_t(OpFamily::Modbus)];
    for (uint32_t fc = 1; fc < 128; ++fc) {
      if (modbus_read_only(uint8_t(fc), -1)) {
        modbus.push_back(fc);
      } else if (fc == modbus::kDiagnostics || fc == modbus::kEncapsulatedInterfaceTransport) {
        for (int32_t sub = 0; sub < 256; ++sub)
          if (modbus_read_only(uint8_t(fc), sub)) modbus.push_back(op_key(fc, sub));
      }
    }
    for (uint32_t fc = 0; fc < 128; ++fc)
      if (dnp3_read_only(uint8_t(fc))) s[size_t(OpFamily::Dnp3)].push_back(fc);
    auto& s7 = s[size_t(OpFamily::S7comm)];
    for (uint32_t code = 0; code < kS7UserdataCode; ++code)
      if (s7_read_only(code, -1)) s7.push_back(code);
    for (int32_t q = 0; q < 0x1000; ++q)
      if (s7_read_only(kS7UserdataCode, q)) s7.push_back(op_key(kS7UserdataCode, q));
    auto& cip = s[size_t(OpFamily::Cip)];
    for (uint32_t code = 0; code < 128; ++code) {
      for (const cip::Target t : kCipTargets) {
        const OpKey k = cip_key(uint8_t(code), t);
        if (cip_read_only(uint8_t(code), t) && std::find(cip.begin(), cip.end(), k) == cip.end()) cip.push_back(k);
      }
    }
    return s;
  }();
  return sets[size_t(f)];
}

std::string operation_key_name(OpFamily f, OpKey k) {
  if (f != OpFamily::None)
    for (const NamedKey& n : vocabulary(f))
      if (n.key == k) return std::string(n.name);
  const uint32_t code = k & 0xFFFF;
  const uint32_t qual = k >> 16;
  const bool hex = f == OpFamily::Cip || f == OpFamily::S7comm || f == OpFamily::S7commPlus;
  std::string s = hex ? fmt::format("0x{:02x}", code) : fmt::format("{}", code);
  if (qual) s += hex ? fmt::format("/0x{:04x}", qual - 1) : fmt::format("/{}", qual - 1);
  return s;
}

}  // namespace ots
