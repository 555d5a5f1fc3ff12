// Zeek's ASCII writer (src/logging/writers/ascii/Ascii.cc) with its default options, and the value rules of
// its formatter (src/threading/formatters/Ascii.cc) and ODesc escaping (src/Desc.cc) with enable_utf_8=T.
#include <array>
#include <ctime>

#include "output/log_format.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

using text::append_hex_escape;

// ODesc::AddBytes with escaping and UTF-8 on: a backslash becomes "\\" (get_escaped_string writes it
// doubled), the separator (and, inside a set or vector, the set separator) becomes \xHH, valid UTF-8
// passes through, and every other byte that is not printable ASCII becomes \xHH.
void append_escaped(std::string& out, std::string_view s, bool in_container) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  // Bit 0: passes as is in a plain field; bit 1: passes as is inside a set or vector. One table lookup
  // per byte instead of four comparisons: string columns are most of every log's bytes.
  static constexpr auto kPass = [] {
    std::array<uint8_t, 256> t{};
    for (unsigned c = 0x20; c < 0x7f; ++c) t[c] = c == '\\' ? 0 : c == ',' ? 1 : 3;
    return t;
  }();
  const uint8_t want = in_container ? 2 : 1;
  size_t run = 0;
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (kPass[c] & want) {
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
    if (c == '\\') {
      out.append("\\\\");
    } else {
      append_hex_escape(out, static_cast<uint8_t>(c));
    }
    run = ++i;
  }
  out.append(s.data() + run, n - run);
}

// Ascii::Describe for strings and enums: "(empty)" for zero length; a value equal to the unset or empty
// marker gets its first byte hex-escaped so that it reads back as itself.
void append_string(std::string& out, std::string_view s, bool in_container) {
  if (s.empty()) {
    out.append("(empty)");
  } else if (s == "-") {
    out.append("\\x2d");
  } else if (s == "(empty)") {
    out.append("\\x28empty)");
  } else {
    append_escaped(out, s, in_container);
  }
}

void append_unset(std::string& out) { out.push_back('-'); }

void append_value(std::string& out, FieldType t, const Value& v) {
  if (std::holds_alternative<Unset>(v)) {
    append_unset(out);
    return;
  }
  const auto* u = std::get_if<uint64_t>(&v);
  const auto* i = std::get_if<int64_t>(&v);
  switch (t) {
    case FieldType::Time:
    case FieldType::Interval:
      if (u) {
        text::append_fixed6_ns(out, false, *u);
      } else if (i) {
        text::append_fixed6_ns(out, *i < 0, *i < 0 ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i));
      } else {
        append_unset(out);
      }
      return;
    case FieldType::Port:
    case FieldType::Count:
    case FieldType::Int:
      if (u) {
        text::append_u64(out, *u);
      } else if (i) {
        text::append_i64(out, *i);
      } else {
        append_unset(out);
      }
      return;
    case FieldType::Double:
      if (const auto* d = std::get_if<double>(&v)) {
        text::append_tsv_double(out, *d);
      } else {
        append_unset(out);
      }
      return;
    case FieldType::Bool:
      if (const auto* b = std::get_if<bool>(&v)) {
        out.push_back(*b ? 'T' : 'F');
      } else {
        append_unset(out);
      }
      return;
    case FieldType::Addr:
      if (const auto* a = std::get_if<IpAddr>(&v)) {
        text::append_addr(out, *a);
      } else {
        append_unset(out);
      }
      return;
    case FieldType::String:
    case FieldType::Enum:
    case FieldType::Subnet:
      if (const auto* s = std::get_if<std::string_view>(&v)) {
        append_string(out, *s, false);
      } else {
        append_unset(out);
      }
      return;
    case FieldType::SetString:
    case FieldType::SetEnum:
    case FieldType::VectorString:
      if (const auto* xs = std::get_if<std::span<const std::string_view>>(&v)) {
        if (xs->empty()) {
          out.append("(empty)");
          return;
        }
        for (size_t k = 0; k < xs->size(); ++k) {
          if (k) out.push_back(',');
          append_string(out, (*xs)[k], true);
        }
      } else {
        append_unset(out);
      }
      return;
    case FieldType::VectorCount:
      if (const auto* xs = std::get_if<std::span<const uint64_t>>(&v)) {
        if (xs->empty()) {
          out.append("(empty)");
          return;
        }
        for (size_t k = 0; k < xs->size(); ++k) {
          if (k) out.push_back(',');
          text::append_u64(out, (*xs)[k]);
        }
      } else {
        append_unset(out);
      }
      return;
  }
  append_unset(out);
}

// Ascii::Timestamp: the wall clock in local time.
void append_meta_time(std::string& out, int64_t unix_s) {
  const auto t = static_cast<time_t>(unix_s);
  struct tm tm {};
  char b[64];
  size_t n = 0;
  if (localtime_r(&t, &tm)) n = strftime(b, sizeof b, "%Y-%m-%d-%H-%M-%S", &tm);
  out.append(b, n);
}

// get_escaped_string(path, escape_all=false): whitespace and bytes that are not printable ASCII.
void append_meta_escaped(std::string& out, std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c > 0x20 && c < 0x7f) {
      out.push_back(ch);
    } else {
      append_hex_escape(out, c);
    }
  }
}

}  // namespace

void format_tsv(const LogSchema& schema, std::span<const Value> values, std::string& out) {
  const size_t start = out.size();
  const size_t n = schema.fields.size();
  for (size_t k = 0; k < n; ++k) {
    if (k) out.push_back('\t');
    if (k < values.size()) {
      append_value(out, schema.fields[k].type, values[k]);
    } else {
      append_unset(out);
    }
  }
  out.push_back('\n');
  // Ascii::DoWrite: a data line must not read as a meta line.
  if (out[start] == '#') out.replace(start, 1, "\\x23");
}

std::string tsv_header(const LogSchema& schema, int64_t open_time_unix_s) {
  std::string h;
  h.reserve(256 + schema.fields.size() * 24);
  // "Always use space as separator here": the one meta line whose key and value a space divides.
  h.append("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t");
  append_meta_escaped(h, schema.path);
  h.append("\n#open\t");
  append_meta_time(h, open_time_unix_s);
  h.append("\n#fields");
  for (const FieldDef& f : schema.fields) {
    h.push_back('\t');
    h.append(f.name);
  }
  h.append("\n#types");
  for (const FieldDef& f : schema.fields) {
    h.push_back('\t');
    h.append(zeek_type_name(f.type));
  }
  h.push_back('\n');
  return h;
}

std::string tsv_footer(int64_t close_time_unix_s) {
  std::string f = "#close\t";
  append_meta_time(f, close_time_unix_s);
  f.push_back('\n');
  return f;
}

}  // namespace ots
