// Zeek's JSON formatter (src/threading/formatters/JSON.cc) with LogAscii's defaults: json_timestamps
// TS_EPOCH, json_include_unset_fields F, json_string_escape_policy HEX. Zeek builds each line with
// rapidjson's Writer; the number and string layouts below are that writer's.
#include <algorithm>

#include "output/log_format.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

// util::escape_utf8(s, ESCAPE_UNPRINTABLE_CONTROLS) (the HEX policy) followed by rapidjson's string
// escaping: bytes that are not valid UTF-8 and control characters other than \b \f \n \r \t become the
// text \xHH, whose backslash JSON then doubles; '"' and '\' get their JSON escapes; valid UTF-8 passes.
void append_json_string(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out.push_back('"');
  size_t run = 0;
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const size_t k = text::utf8_ok_len(p + i, n - i)) {
        i += k;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.push_back('\\');
        text::append_hex_escape(out, static_cast<uint8_t>(c));
        break;
    }
    run = ++i;
  }
  out.append(s.data() + run, n - run);
  out.push_back('"');
}

// Appends `"name":value` and returns true, or appends nothing and returns false when the value is unset
// (or of a kind the field type cannot hold): Zeek omits unset fields.
bool append_member(std::string& out, const FieldDef& f, const Value& v) {
  if (std::holds_alternative<Unset>(v)) return false;
  const size_t mark = out.size();
  append_json_string(out, f.name);
  out.push_back(':');
  const auto* u = std::get_if<uint64_t>(&v);
  const auto* i = std::get_if<int64_t>(&v);
  switch (f.type) {
    case FieldType::Time:
    case FieldType::Interval:
      // Zeek writes both as double seconds (writer.Double); ours are nanosecond integers rounded to the
      // microsecond Zeek's timestamps carry.
      if (u) {
        text::append_shortest_us_ns(out, false, *u);
        return true;
      }
      if (i) {
        text::append_shortest_us_ns(out, *i < 0,
                                    *i < 0 ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i));
        return true;
      }
      break;
    case FieldType::Port:
    case FieldType::Count:
    case FieldType::Int:
      if (u) {
        text::append_u64(out, *u);
        return true;
      }
      if (i) {
        text::append_i64(out, *i);
        return true;
      }
      break;
    case FieldType::Double:
      if (const auto* d = std::get_if<double>(&v)) {
        text::append_json_double(out, *d);
        return true;
      }
      break;
    case FieldType::Bool:
      if (const auto* b = std::get_if<bool>(&v)) {
        out.append(*b ? "true" : "false");
        return true;
      }
      break;
    case FieldType::Addr:
      if (const auto* a = std::get_if<IpAddr>(&v)) {
        out.push_back('"');
        text::append_addr(out, *a);
        out.push_back('"');
        return true;
      }
      break;
    case FieldType::String:
    case FieldType::Enum:
    case FieldType::Subnet:
      if (const auto* s = std::get_if<std::string_view>(&v)) {
        append_json_string(out, *s);
        return true;
      }
      break;
    case FieldType::SetString:
    case FieldType::SetEnum:
    case FieldType::VectorString:
      if (const auto* xs = std::get_if<std::span<const std::string_view>>(&v)) {
        out.push_back('[');
        for (size_t k = 0; k < xs->size(); ++k) {
          if (k) out.push_back(',');
          append_json_string(out, (*xs)[k]);
        }
        out.push_back(']');
        return true;
      }
      break;
    case FieldType::VectorCount:
      if (const auto* xs = std::get_if<std::span<const uint64_t>>(&v)) {
        out.push_back('[');
        for (size_t k = 0; k < xs->size(); ++k) {
          if (k) out.push_back(',');
          text::append_u64(out, (*xs)[k]);
        }
        out.push_back(']');
        return true;
      }
      break;
  }
  out.resize(mark);
  return false;
}

}  // namespace

void format_json(const LogSchema& schema, std::span<const Value> values, std::string& out) {
  out.push_back('{');
  bool first = true;
  const size_t n = std::min(schema.fields.size(), values.size());
  for (size_t k = 0; k < n; ++k) {
    if (!first) out.push_back(',');
    const bool wrote = append_member(out, schema.fields[k], values[k]);
    if (wrote) {
      first = false;
    } else if (!first) {
      out.pop_back();
    }
  }
  out.append("}\n");
}

}  // namespace ots
