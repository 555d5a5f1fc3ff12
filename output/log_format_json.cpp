// Zeek's JSON formatter (src/threading/formatters/JSON.cc) with LogAscii's defaults: json_timestamps
// TS_EPOCH, json_include_unset_fields F, json_string_escape_policy HEX. Zeek builds each line with
// rapidjson's Writer; the number and string layouts below are that writer's.
#include <algorithm>
#include <cstring>

#include "output/log_format.hpp"
#include "output/text_out.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

using text::TextOut;

// Input bytes escaped per room request: each becomes at most 5 bytes ("\\xHH"), and a UTF-8 character
// that starts in the chunk may run 3 bytes past it (copied as is).
constexpr size_t kChunk = 64;
static_assert(5 * (kChunk + 3) + 2 <= TextOut::kCap);

// util::escape_utf8(s, ESCAPE_UNPRINTABLE_CONTROLS) (the HEX policy) followed by rapidjson's string
// escaping: bytes that are not valid UTF-8 and control characters other than \b \f \n \r \t become the
// text \xHH, whose backslash JSON then doubles; '"' and '\' get their JSON escapes; valid UTF-8 passes.
void put_json_string(TextOut& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out.put('"');
  size_t i = 0;
  while (i < n) {
    const size_t stop = i + std::min(n - i, kChunk);
    char* q = out.room(5 * (kChunk + 3));
    while (i < stop) {
      if (text::copy_passing(q, p, i, stop, n, '"', '\\')) continue;
      const unsigned c = p[i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        *q++ = static_cast<char>(c);
        ++i;
        continue;
      }
      char esc = 0;
      switch (c) {
        case '"': esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        default: break;
      }
      *q++ = '\\';
      if (esc) {
        *q++ = esc;
      } else {
        q = text::write_hex_escape(q, static_cast<uint8_t>(c));
      }
      ++i;
    }
    out.commit(q);
  }
  out.put('"');
}

template <size_t N, typename Fn>
void put_with(TextOut& out, Fn&& write) {
  char* q = out.room(N);
  out.commit(write(q));
}

// Whether a field's value is written at all: Zeek omits unset fields, and a value of a kind the field
// type cannot hold is written as unset.
bool writable(FieldType t, const Value& v) {
  switch (t) {
    case FieldType::Time:
    case FieldType::Interval:
    case FieldType::Port:
    case FieldType::Count:
    case FieldType::Int:
      return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v);
    case FieldType::Double: return std::holds_alternative<double>(v);
    case FieldType::Bool: return std::holds_alternative<bool>(v);
    case FieldType::Addr: return std::holds_alternative<IpAddr>(v);
    case FieldType::String:
    case FieldType::Enum:
    case FieldType::Subnet: return std::holds_alternative<std::string_view>(v);
    case FieldType::SetString:
    case FieldType::SetEnum:
    case FieldType::VectorString: return std::holds_alternative<std::span<const std::string_view>>(v);
    case FieldType::VectorCount: return std::holds_alternative<std::span<const uint64_t>>(v);
  }
  return false;
}

// `"name":value`, for a value writable() accepted.
void put_member(TextOut& out, const FieldDef& f, const Value& v) {
  put_json_string(out, f.name);
  out.put(':');
  const auto* u = std::get_if<uint64_t>(&v);
  const auto* i = std::get_if<int64_t>(&v);
  switch (f.type) {
    case FieldType::Time:
    case FieldType::Interval:
      // Zeek writes both as double seconds (writer.Double); ours are nanosecond integers rounded to the
      // microsecond Zeek's timestamps carry.
      if (u) {
        put_with<text::kMaxFixed6Text>(out, [u](char* q) { return text::write_shortest_us_ns(q, false, *u); });
      } else {
        const bool neg = *i < 0;
        const uint64_t mag = neg ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i);
        put_with<text::kMaxFixed6Text>(out,
                                       [neg, mag](char* q) { return text::write_shortest_us_ns(q, neg, mag); });
      }
      return;
    case FieldType::Port:
    case FieldType::Count:
    case FieldType::Int:
      if (u) {
        put_with<text::kMaxU64Text>(out, [u](char* q) { return text::write_u64(q, *u); });
      } else {
        put_with<text::kMaxI64Text>(out, [i](char* q) { return text::write_i64(q, *i); });
      }
      return;
    case FieldType::Double: {
      std::string tmp;  // rare: a few logs' ratios
      text::append_json_double(tmp, std::get<double>(v));
      out.put(tmp);
      return;
    }
    case FieldType::Bool:
      out.put(std::get<bool>(v) ? std::string_view("true") : std::string_view("false"));
      return;
    case FieldType::Addr: {
      const IpAddr& a = std::get<IpAddr>(v);
      put_with<text::kMaxAddrText + 2>(out, [&a](char* q) {
        *q++ = '"';
        q = text::write_addr(q, a);
        *q++ = '"';
        return q;
      });
      return;
    }
    case FieldType::String:
    case FieldType::Enum:
    case FieldType::Subnet:
      put_json_string(out, std::get<std::string_view>(v));
      return;
    case FieldType::SetString:
    case FieldType::SetEnum:
    case FieldType::VectorString: {
      const auto xs = std::get<std::span<const std::string_view>>(v);
      out.put('[');
      for (size_t k = 0; k < xs.size(); ++k) {
        if (k) out.put(',');
        put_json_string(out, xs[k]);
      }
      out.put(']');
      return;
    }
    case FieldType::VectorCount: {
      const auto xs = std::get<std::span<const uint64_t>>(v);
      out.put('[');
      for (size_t k = 0; k < xs.size(); ++k) {
        if (k) out.put(',');
        const uint64_t x = xs[k];
        put_with<text::kMaxU64Text>(out, [x](char* q) { return text::write_u64(q, x); });
      }
      out.put(']');
      return;
    }
  }
}

}  // namespace

void format_json(const LogSchema& schema, std::span<const Value> values, std::string& out) {
  TextOut o(out);
  o.put('{');
  bool first = true;
  const size_t n = std::min(schema.fields.size(), values.size());
  for (size_t k = 0; k < n; ++k) {
    if (!writable(schema.fields[k].type, values[k])) continue;
    if (!first) o.put(',');
    put_member(o, schema.fields[k], values[k]);
    first = false;
  }
  o.put("}\n");
  o.finish();
}

}  // namespace ots
