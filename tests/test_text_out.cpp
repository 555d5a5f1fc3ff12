// The pointer writers of output/value_text and the eight-bytes-at-a-time escaping of the TSV and JSON
// formatters, against plain byte-at-a-time references of Zeek's rules: every special byte at every
// position of a word and of a chunk, strings and lines longer than one room request, numbers at every
// digit-count boundary, records read in place from their packed bytes through one writer (as the log
// thread writes them), and the writers themselves into a string and into a byte buffer.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "log_format_support.hpp"
#include "output/byte_buffer.hpp"
#include "output/log_format.hpp"
#include "output/record_pack.hpp"
#include "output/text_out.hpp"
#include "output/value_text.hpp"

using namespace ots;
using ots::test::json_val;
using ots::test::tsv1;

namespace {

// Zeek's TSV string rule one byte at a time (ODesc::AddBytes with UTF-8 on, get_escaped_string).
std::string ref_tsv_string(std::string_view s, bool in_container) {
  if (s.empty()) return "(empty)";
  if (s == "-") return "\\x2d";
  if (s == "(empty)") return "\\x28empty)";
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const unsigned c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && !(in_container && c == ',')) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c == '\\') {
      out.append("\\\\");
      ++i;
    } else if (const size_t k = c >= 0x80 ? text::utf8_ok_len(p + i, s.size() - i) : 0) {
      out.append(s.substr(i, k));
      i += k;
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out.append(b);
      ++i;
    }
  }
  return out;
}

// rapidjson's string escaping after Zeek's HEX policy, one byte at a time.
std::string ref_json_string(std::string_view s) {
  std::string out = "\"";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const unsigned c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (const size_t k = c >= 0x80 ? text::utf8_ok_len(p + i, s.size() - i) : 0) {
      out.append(s.substr(i, k));
      i += k;
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        char b[8];
        std::snprintf(b, sizeof b, "\\\\x%02x", c);
        out.append(b);
      }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

// Bytes that exercise every branch: plain ASCII, the separators, controls, DEL, a lone high byte, and
// the lead bytes of valid and refused UTF-8.
const std::vector<std::string> kPieces = {
    "a", "Z", " ", "~", ",", "\\", "\"", "\t", "\n", "\r", "\b", "\f", std::string(1, '\0'), "\x01", "\x1f", "\x7f",
    "\x80", "\xff", "\xc3\xbc", "\xe2\x82\xa1", "\xf0\x9f\x98\x84", "\xc0\x81", "\xee\x8b\xa0", "\xc2\x85", "\xe2\x82"};

std::string random_text(std::mt19937_64& rng, size_t pieces) {
  std::string s;
  for (size_t i = 0; i < pieces; ++i) {
    // Mostly plain runs, so that the eight-byte path runs and stops at every offset.
    if (rng() % 3 != 0) {
      s.append(static_cast<size_t>(rng() % 11), static_cast<char>('a' + rng() % 26));
    } else {
      s.append(kPieces[rng() % kPieces.size()]);
    }
  }
  return s;
}

}  // namespace

TEST_CASE("plain8 refuses a word exactly when one of its bytes needs a look", "[logwriter][text_out]") {
  for (unsigned pos = 0; pos < 8; ++pos) {
    for (unsigned b = 0; b < 256; ++b) {
      unsigned char w[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
      w[pos] = static_cast<unsigned char>(b);
      const bool want = b >= 0x20 && b < 0x7f && b != '\\' && b != ',';
      INFO("byte " << b << " at " << pos);
      REQUIRE(text::plain8(text::load8(w), '\\', ',') == want);
    }
  }
  // Two special bytes side by side: the borrow of one must not hide the other.
  const unsigned char w[8] = {'x', 0x00, 0x7f, 'x', 'x', 'x', 'x', 'x'};
  CHECK_FALSE(text::plain8(text::load8(w), '"', '\\'));
  const unsigned char ok[8] = {' ', '!', '#', '[', ']', '}', '~', '0'};
  CHECK(text::plain8(text::load8(ok), '"', '\\'));
}

TEST_CASE("tsv strings escape as the byte-wise rule at every offset and length", "[logwriter][text_out]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = random_text(rng, static_cast<size_t>(rng() % 40));
    INFO("input of " << s.size() << " bytes, case " << i);
    REQUIRE(tsv1(FieldType::String, Value{std::string_view(s)}) == ref_tsv_string(s, false));
    const std::string_view one[1] = {s};
    REQUIRE(tsv1(FieldType::SetString, Value{std::span<const std::string_view>(one)}) ==
            ref_tsv_string(s, true));
  }
}

TEST_CASE("json strings escape as the byte-wise rule at every offset and length", "[logwriter][text_out]") {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = random_text(rng, static_cast<size_t>(rng() % 40));
    INFO("input of " << s.size() << " bytes, case " << i);
    REQUIRE(json_val(FieldType::String, Value{std::string_view(s)}) == ref_json_string(s));
  }
}

TEST_CASE("strings and lines longer than the staging buffer are written whole", "[logwriter][text_out]") {
  // Every byte escaped: four output bytes per input byte, many times the staging buffer.
  const std::string ctl(3 * text::TextOut::kCap + 7, '\x01');
  std::string want;
  for (size_t i = 0; i < ctl.size(); ++i) want += "\\x01";
  CHECK(tsv1(FieldType::String, Value{std::string_view(ctl)}) == want);
  std::string jwant = "\"";
  for (size_t i = 0; i < ctl.size(); ++i) jwant += "\\\\x01";
  CHECK(json_val(FieldType::String, Value{std::string_view(ctl)}) == jwant + "\"");
  // A UTF-8 character across a chunk's end, in a long string.
  std::string mixed(63, 'a');
  mixed += "\xe2\x82\xa1";
  mixed += std::string(2000, 'b');
  CHECK(tsv1(FieldType::String, Value{std::string_view(mixed)}) == mixed);
  CHECK(json_val(FieldType::String, Value{std::string_view(mixed)}) == "\"" + mixed + "\"");
  // Many fields: the line outgrows the buffer between fields.
  LogSchema s{"x", {}};
  std::vector<Value> vals;
  std::string line;
  const std::string word(100, 'w');
  for (int i = 0; i < 50; ++i) {
    s.fields.push_back({"f", FieldType::String});
    vals.emplace_back(std::string_view(word));
    line += (i ? "\t" : "") + word;
  }
  std::string out = "kept|";
  format_tsv(s, vals, out);
  CHECK(out == "kept|" + line + "\n");
}

TEST_CASE("integers are their decimal digits at every length boundary", "[logwriter][text_out]") {
  std::vector<uint64_t> us = {0, std::numeric_limits<uint64_t>::max()};
  uint64_t p = 1;
  for (int k = 0; k < 20; ++k) {
    us.push_back(p);
    us.push_back(p - 1);
    us.push_back(p + 1);
    if (k < 19) p *= 10;
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) us.push_back(rng() >> (rng() % 64));
  for (const uint64_t v : us) {
    char b[text::kMaxU64Text];
    REQUIRE(std::string(b, text::write_u64(b, v)) == std::to_string(v));
    const auto s = static_cast<int64_t>(v);
    REQUIRE(std::string(b, text::write_i64(b, s)) == std::to_string(s));
    REQUIRE(tsv1(FieldType::Count, Value{v}) == std::to_string(v));
    REQUIRE(json_val(FieldType::Int, Value{s}) == std::to_string(s));
  }
  char b[text::kMaxI64Text];
  CHECK(std::string(b, text::write_i64(b, std::numeric_limits<int64_t>::min())) == "-9223372036854775808");
  // Every value of the short paths (below a million) and a little past them.
  uint64_t first_bad = UINT64_MAX;
  for (uint64_t v = 0; v <= 1'000'100 && first_bad == UINT64_MAX; ++v) {
    char d[text::kMaxU64Text];
    if (std::string(d, text::write_u64(d, v)) != std::to_string(v)) first_bad = v;
  }
  CHECK(first_bad == UINT64_MAX);
}

TEST_CASE("times have six decimals rounded half away from zero at any magnitude", "[logwriter][text_out]") {
  std::mt19937_64 rng(13);
  std::vector<uint64_t> ns = {0, 499, 500, 999'999'499, 999'999'500, 1'000'000'000, 1'700'000'000'124'693'000,
                              std::numeric_limits<uint64_t>::max()};
  for (int i = 0; i < 5000; ++i) ns.push_back(rng() >> (rng() % 64));
  for (const uint64_t v : ns) {
    const uint64_t us = v / 1000 + (v % 1000 >= 500 ? 1 : 0);
    char want[64];
    std::snprintf(want, sizeof want, "%llu.%06llu", static_cast<unsigned long long>(us / 1000000),
                  static_cast<unsigned long long>(us % 1000000));
    char b[text::kMaxFixed6Text];
    REQUIRE(std::string(b, text::write_fixed6_ns(b, false, v)) == want);
    REQUIRE(std::string(b, text::write_fixed6_ns(b, true, v)) == std::string("-") + want);
    // JSON: the same microseconds with trailing zeros dropped, at least one decimal.
    std::string shortest = want;
    while (shortest.back() == '0' && shortest[shortest.size() - 2] != '.') shortest.pop_back();
    REQUIRE(std::string(b, text::write_shortest_us_ns(b, false, v)) == shortest);
    REQUIRE(json_val(FieldType::Time, Value{v}) == shortest);
  }
  CHECK(tsv1(FieldType::Time, Value{uint64_t{1'700'000'000'000'000'000}}) == "1700000000.000000");
  CHECK(json_val(FieldType::Interval, Value{int64_t{-1'500'000}}) == "-0.0015");
  CHECK(tsv1(FieldType::Interval, Value{int64_t{-1'500'000}}) == "-0.001500");
}

TEST_CASE("every IPv4 octet and IPv6 zero runs render as inet_ntop", "[logwriter][text_out]") {
  for (unsigned v = 0; v < 256; ++v) {
    const uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(255 - v), 0, static_cast<uint8_t>(v)};
    char want[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, b, want, sizeof want);
    char got[text::kMaxAddrText];
    REQUIRE(std::string(got, text::write_addr(got, IpAddr::v4(b))) == want);
  }
  // Each single zero-run position and length, with JSON's quotes.
  for (unsigned from = 0; from < 8; ++from) {
    for (unsigned len = 0; from + len <= 8; ++len) {
      uint8_t b[16];
      for (unsigned w = 0; w < 8; ++w) {
        const bool zero = w >= from && w < from + len;
        b[2 * w] = zero ? 0 : static_cast<uint8_t>(0x20 + w);
        b[2 * w + 1] = zero ? 0 : static_cast<uint8_t>(w == 3 ? 0 : 0x0a);
      }
      char want[INET6_ADDRSTRLEN];
      const IpAddr a = IpAddr::v6(b);
      if (a.is_v4()) continue;
      inet_ntop(AF_INET6, b, want, sizeof want);
      INFO(want);
      REQUIRE(tsv1(FieldType::Addr, Value{a}) == want);
      REQUIRE(json_val(FieldType::Addr, Value{a}) == std::string("\"") + want + "\"");
    }
  }
}

TEST_CASE("unset and wrong-kind values: a dash in tsv and no member in json", "[logwriter][text_out]") {
  const LogSchema s{"x", {{"a", FieldType::Count}, {"b", FieldType::Addr}, {"c", FieldType::String},
                          {"d", FieldType::Bool}, {"e", FieldType::Time}}};
  const Value v[5] = {Value{Unset{}}, Value{std::string_view("1.2.3.4")}, Value{uint64_t{7}}, Value{true},
                      Value{2.5}};
  std::string t;
  format_tsv(s, v, t);
  CHECK(t == "-\t-\t-\tT\t-\n");
  std::string j;
  format_json(s, v, j);
  CHECK(j == "{\"d\":true}\n");
  // Fewer values than fields: the rest unset.
  const Value w[1] = {Value{uint64_t{9}}};
  std::string t2;
  format_tsv(s, w, t2);
  CHECK(t2 == "9\t-\t-\t-\t-\n");
}

namespace {

// A record's value of field type `t` as the sinks get them: mostly of the type's own kind, sometimes
// unset or of another kind (written as unset), with strings that need every escape.
struct RecordValues {
  std::vector<std::string> texts;  // what the string views point into
  std::vector<std::vector<std::string_view>> lists;
  std::vector<std::vector<uint64_t>> counts;
  std::vector<Value> values;

  RecordValues() {
    // Views must not move: room for every record's backing text up front.
    texts.reserve(4096);
    lists.reserve(1024);
    counts.reserve(1024);
  }

  std::string_view text(std::mt19937_64& rng) {
    static const std::vector<std::string> kFixed = {"", "-", "(empty)", "#", "#x", ",", "\\", "ab", "a,b",
                                                    "abc", "REQ", "a\tb", "READ_COILS", "DT Data", "\xc3\xbc"};
    if (rng() % 3 == 0) {
      texts.push_back(kFixed[rng() % kFixed.size()]);
    } else {
      texts.push_back(random_text(rng, static_cast<size_t>(rng() % 6)));
    }
    return texts.back();
  }

  Value of_kind(std::mt19937_64& rng, size_t kind) {
    switch (kind) {
      case 0: return Unset{};
      case 1: return uint64_t{rng() >> (rng() % 64)};
      case 2: return static_cast<int64_t>(rng()) >> (rng() % 64);
      case 3: return static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) / 1024.0;
      case 4: return rng() % 2 == 0;
      case 5: return text(rng);
      case 6: {
        uint8_t b[16];
        for (auto& x : b) x = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : rng());
        return rng() % 2 ? IpAddr::v4(static_cast<uint32_t>(rng())) : IpAddr::v6(b);
      }
      case 7: {
        auto& l = lists.emplace_back();
        for (size_t n = rng() % 4; n > 0; --n) l.push_back(text(rng));
        return std::span<const std::string_view>(l);
      }
      default: {
        auto& c = counts.emplace_back();
        for (size_t n = rng() % 4; n > 0; --n) c.push_back(rng() >> (rng() % 64));
        return std::span<const uint64_t>(c);
      }
    }
  }

  // The kind field type t holds (as value_op takes it).
  static size_t own_kind(FieldType t) {
    switch (t) {
      case FieldType::Time:
      case FieldType::Port:
      case FieldType::Count: return 1;
      case FieldType::Interval:
      case FieldType::Int: return 2;
      case FieldType::Double: return 3;
      case FieldType::Bool: return 4;
      case FieldType::String:
      case FieldType::Enum:
      case FieldType::Subnet: return 5;
      case FieldType::Addr: return 6;
      case FieldType::SetString:
      case FieldType::SetEnum:
      case FieldType::VectorString: return 7;
      case FieldType::VectorCount: return 8;
    }
    return 0;
  }

  void fill(std::mt19937_64& rng, const LogSchema& s) {
    values.clear();
    for (const FieldDef& f : s.fields) {
      const uint64_t r = rng() % 10;
      values.push_back(of_kind(rng, r == 0 ? 0 : r == 1 ? static_cast<size_t>(rng() % 9) : own_kind(f.type)));
    }
  }
};

// Zeek's TSV rule for one value, through the append_* renderings and the byte-wise string rule.
std::string ref_tsv_value(FieldType t, const Value& v) {
  std::string out;
  const auto* u = std::get_if<uint64_t>(&v);
  const auto* i = std::get_if<int64_t>(&v);
  switch (t) {
    case FieldType::Time:
    case FieldType::Interval:
      if (u) {
        text::append_fixed6_ns(out, false, *u);
      } else if (i) {
        text::append_fixed6_ns(out, *i < 0, *i < 0 ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i));
      }
      break;
    case FieldType::Port:
    case FieldType::Count:
    case FieldType::Int:
      if (u) text::append_u64(out, *u);
      if (i) text::append_i64(out, *i);
      break;
    case FieldType::Double:
      if (const auto* d = std::get_if<double>(&v)) text::append_tsv_double(out, *d);
      break;
    case FieldType::Bool:
      if (const auto* b = std::get_if<bool>(&v)) out = *b ? "T" : "F";
      break;
    case FieldType::Addr:
      if (const auto* a = std::get_if<IpAddr>(&v)) text::append_addr(out, *a);
      break;
    case FieldType::String:
    case FieldType::Enum:
    case FieldType::Subnet:
      if (const auto* s = std::get_if<std::string_view>(&v)) out = ref_tsv_string(*s, false);
      break;
    case FieldType::SetString:
    case FieldType::SetEnum:
    case FieldType::VectorString:
      if (const auto* xs = std::get_if<std::span<const std::string_view>>(&v)) {
        if (xs->empty()) out = "(empty)";
        for (size_t k = 0; k < xs->size(); ++k) out += (k ? "," : "") + ref_tsv_string((*xs)[k], true);
      }
      break;
    case FieldType::VectorCount:
      if (const auto* xs = std::get_if<std::span<const uint64_t>>(&v)) {
        if (xs->empty()) out = "(empty)";
        for (size_t k = 0; k < xs->size(); ++k) out += (k ? "," : "") + std::to_string((*xs)[k]);
      }
      break;
  }
  return out.empty() ? "-" : out;
}

std::string ref_tsv_line(const LogSchema& s, std::span<const Value> v) {
  std::string line;
  for (size_t k = 0; k < s.fields.size(); ++k) {
    if (k) line += '\t';
    line += k < v.size() ? ref_tsv_value(s.fields[k].type, v[k]) : "-";
  }
  if (!line.empty() && line[0] == '#') line.replace(0, 1, "\\x23");
  return line + "\n";
}

constexpr FieldType kEveryType[] = {
    FieldType::Time,      FieldType::Interval, FieldType::String,       FieldType::Enum,
    FieldType::Addr,      FieldType::Subnet,   FieldType::Port,         FieldType::Count,
    FieldType::Int,       FieldType::Double,   FieldType::Bool,         FieldType::SetString,
    FieldType::SetEnum,   FieldType::VectorString, FieldType::VectorCount};

LogSchema random_schema(std::mt19937_64& rng) {
  LogSchema s{"x", {}};
  static const char* const kNames[] = {"ts", "uid", "id.orig_h", "a\"b", "back\\slash", "tab\there", "\xc3\xbc", "\x01",
                                       "a_field_name_longer_than_the_thirty_two_bytes_copied_at_once"};
  for (size_t n = 1 + rng() % 12; n > 0; --n) {
    s.fields.push_back({kNames[rng() % std::size(kNames)], kEveryType[rng() % std::size(kEveryType)]});
  }
  return s;
}

}  // namespace

TEST_CASE("tsv records of every field type equal the field-by-field reference", "[logwriter][text_out]") {
  std::mt19937_64 rng(17);
  for (int i = 0; i < 3000; ++i) {
    const LogSchema s = random_schema(rng);
    RecordValues r;
    r.fill(rng, s);
    // Sometimes fewer values than fields: the rest are unset.
    const size_t n = rng() % 8 == 0 ? static_cast<size_t>(rng() % (r.values.size() + 1)) : r.values.size();
    const std::span<const Value> v(r.values.data(), n);
    std::string out = "kept";
    format_tsv(s, v, out);
    INFO("case " << i);
    REQUIRE(out == "kept" + ref_tsv_line(s, v));
  }
}

TEST_CASE("json records with a schema's prepared keys equal the general writer", "[logwriter][text_out]") {
  std::mt19937_64 rng(19);
  text::TimeText ts;  // kept across records, as a sink keeps it
  for (int i = 0; i < 3000; ++i) {
    LogSchema s = random_schema(rng);
    // Mostly a ts first, as every log has, so that the kept seconds are used and renewed.
    if (rng() % 4 != 0) s.fields.insert(s.fields.begin(), FieldDef{"ts", FieldType::Time});
    const JsonKeys keys(s);
    RecordValues r;
    r.fill(rng, s);
    // Times within a few seconds of each other, whole seconds too: the kept seconds are reused.
    if (s.fields[0].type == FieldType::Time && rng() % 4 != 0) {
      r.values[0] = uint64_t{1'700'000'000'000'000'000ull + (rng() % 4) * 1'000'000'000ull + (rng() % 3) * (rng() % 1'000'000'000ull)};
    }
    const size_t n = rng() % 8 == 0 ? static_cast<size_t>(rng() % (r.values.size() + 1)) : r.values.size();
    const std::span<const Value> v(r.values.data(), n);
    std::string general = "kept";
    format_json(s, v, general);
    std::string prepared = "kept";
    format_json(s, keys, v, prepared, ts);
    INFO("case " << i);
    REQUIRE(prepared == general);
    // And each member as the general writer writes it alone.
    std::string members;
    for (size_t k = 0; k < n; ++k) {
      const LogSchema one{"x", {s.fields[k]}};
      std::string o;
      format_json(one, std::span<const Value>(&v[k], 1), o);
      if (o != "{}\n") members += (members.empty() ? "" : ",") + o.substr(1, o.size() - 3);
    }
    REQUIRE(general == "kept{" + members + "}\n");
  }
}

namespace {

// A schema with the connection columns the TSV cache keeps (ts, uid, id.*, and half the time ICSNPP's
// is_orig and source/destination pairs) before random fields.
LogSchema conn_like_schema(std::mt19937_64& rng) {
  LogSchema s{"c", {{"ts", FieldType::Time}, {"uid", FieldType::String}, {"id.orig_h", FieldType::Addr},
                    {"id.orig_p", FieldType::Port}, {"id.resp_h", FieldType::Addr}, {"id.resp_p", FieldType::Port}}};
  if (rng() % 2 == 0) {
    s.fields.insert(s.fields.end(), {{"is_orig", FieldType::Bool}, {"source_h", FieldType::Addr},
                                     {"source_p", FieldType::Port}, {"destination_h", FieldType::Addr},
                                     {"destination_p", FieldType::Port}});
  }
  const LogSchema more = random_schema(rng);
  s.fields.insert(s.fields.end(), more.fields.begin(), more.fields.end());
  return s;
}

// Values for a conn-like schema that mostly hit the cache: a few connections (uid and addresses), their
// records repeating, now and then an odd uid (short, long, with bytes to escape) or a value of another kind.
void fill_conn_like(std::mt19937_64& rng, const LogSchema& s, RecordValues& r) {
  // The fourth connection's uid differs from the first's in one byte of its middle, with the same
  // length, last eight characters (the cache's slot) and addresses: only the whole uid tells them apart.
  static const char* const kUids[] = {"CHhAvVGS1DHFjwGM9", "C4J4Th3PJpwUYZZ6gc", "Cabcdefgh", "CHhXvVGS1DHFjwGM9",
                                      "C1", "C#bad,uid\\x", "Caaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  r.fill(rng, s);
  const size_t conn = rng() % 4;
  const size_t ends = conn == 3 ? 0 : conn;
  r.values[0] = uint64_t{1'700'000'000'000'000'000ull + (rng() % 3) * 1'000'000'000ull + rng() % 1'000'000'000ull};
  if (r.values.size() > 1 && rng() % 8 != 0) r.values[1] = std::string_view(kUids[rng() % 8 == 0 ? 4 + rng() % 3 : conn]);
  for (size_t f = 2; f < std::min<size_t>(s.fields.size(), 12); ++f) {
    if (rng() % 16 == 0) continue;  // whatever fill chose
    switch (s.fields[f].type) {
      case FieldType::Addr: r.values[f] = IpAddr::v4(0x0a000001u + static_cast<uint32_t>(ends * 2 + f % 2)); break;
      case FieldType::Port: r.values[f] = uint64_t{502 + ends + f}; break;
      case FieldType::Bool: r.values[f] = ends % 2 == 0; break;
      default: break;
    }
  }
}

}  // namespace

TEST_CASE("packed records through one writer equal the field-by-field reference with the connection cache", "[logwriter][text_out][pack]") {
  std::mt19937_64 rng(23);
  TsvRecordCache cache;  // kept across records and schemas, as the log thread keeps it
  text::TimeText json_ts;
  PackedValues rec;
  for (int batch = 0; batch < 60; ++batch) {
    std::string tsv = "kept", json = "kept";
    std::string want_tsv = "kept", want_json = "kept";
    {
      text::TextOut to(tsv), jo(json);
      for (int i = 0; i < 50; ++i) {
        const LogSchema s = rng() % 4 == 0 ? random_schema(rng) : conn_like_schema(rng);
        const JsonKeys keys(s);
        RecordValues r;
        fill_conn_like(rng, s, r);
        // Sometimes fewer values than fields (the rest are unset) or more (the rest are not written).
        if (rng() % 8 == 0) r.values.resize(static_cast<size_t>(rng() % (r.values.size() + 1)));
        if (rng() % 16 == 0) r.values.push_back(Value{uint64_t{9}});
        std::string packed;
        pack_record(r.values, packed);
        INFO("batch " << batch << " record " << i);
        REQUIRE(rec.open(packed));
        REQUIRE(format_tsv(s, rec, to, cache, TsvRecordCache::columns_of(s)));
        REQUIRE(rec.open(packed));
        REQUIRE(format_json(s, keys, rec, jo, json_ts));
        want_tsv += ref_tsv_line(s, r.values);
        format_json(s, r.values, want_json);
      }
    }
    REQUIRE(tsv == want_tsv);
    REQUIRE(json == want_json);
  }
}

TEST_CASE("short tsv strings with a special byte at every position match the byte-wise rule", "[logwriter][text_out]") {
  // ("#" is left out: a line that starts with it gets the line rule, which the record test covers.)
  const std::string kSpecial[] = {",", "\\", "\t", "\x7f", "\x01", "\x80", "-", " ", "~"};
  for (size_t n = 1; n < 9; ++n) {
    for (size_t pos = 0; pos < n; ++pos) {
      for (const std::string& sp : kSpecial) {
        std::string s(n, 'q');
        s.replace(pos, 1, sp);
        INFO("length " << n << " special at " << pos);
        REQUIRE(tsv1(FieldType::String, Value{std::string_view(s)}) == ref_tsv_string(s, false));
        const std::string_view one[1] = {s};
        REQUIRE(tsv1(FieldType::SetString, Value{std::span<const std::string_view>(one)}) == ref_tsv_string(s, true));
        REQUIRE(json_val(FieldType::String, Value{std::string_view(s)}) == ref_json_string(s));
      }
    }
  }
  CHECK(json_val(FieldType::String, Value{std::string_view()}) == "\"\"");
  // A short string that is a prefix of a longer buffer: nothing past its end is read into the text.
  const std::string buf = "ab\\,\x01zzzz";
  for (size_t n = 2; n < 8; ++n) {
    const std::string_view s(buf.data(), n);
    REQUIRE(tsv1(FieldType::String, Value{s}) == ref_tsv_string(s, false));
    REQUIRE(json_val(FieldType::String, Value{s}) == ref_json_string(s));
  }
}

TEST_CASE("plain_run passes a run exactly when every byte of it would pass alone", "[logwriter][text_out]") {
  unsigned char buf[72];
  for (size_t n = 0; n <= 64; ++n) {
    for (size_t pos = 0; pos <= n; ++pos) {
      for (const unsigned b : {0x00u, 0x1fu, 0x22u, 0x2cu, 0x5cu, 0x7fu, 0x80u, 0xffu}) {
        for (unsigned char& c : buf) c = 'k';
        if (pos < n) buf[pos] = static_cast<unsigned char>(b);
        // A special byte just past the run must not count.
        buf[n] = '"';
        bool want = true;
        for (size_t i = 0; i < n; ++i) want = want && buf[i] >= 0x20 && buf[i] < 0x7f && buf[i] != '"' && buf[i] != '\\';
        INFO("length " << n << " byte " << b << " at " << pos);
        REQUIRE(text::plain_run(buf, n, '"', '\\') == want);
        char out[72] = {};
        text::copy_run(out, buf, n);
        REQUIRE(std::string(out, n) == std::string(reinterpret_cast<const char*>(buf), n));
        REQUIRE(out[n] == 0);
      }
    }
  }
}

TEST_CASE("writers into a byte buffer and into a string hold the text of every write cut and replaced byte", "[logwriter][text_out]") {
  std::mt19937_64 rng(29);
  for (int round = 0; round < 20; ++round) {
    ByteBuffer b;
    b.append("pre");
    std::string s = "pre";
    std::string ref = "pre";  // the same edits on a plain string
    {
      text::TextOut ob(b), os(s);
      for (int op = 0; op < 400; ++op) {
        switch (rng() % 5) {
          case 0: {
            const char c = static_cast<char>('a' + rng() % 26);
            ob.put(c);
            os.put(c);
            ref += c;
            break;
          }
          case 1: {  // longer than one room request now and then
            const std::string t(rng() % 8 == 0 ? 1 + rng() % 3000 : rng() % 40, static_cast<char>('A' + rng() % 26));
            ob.put(t);
            os.put(t);
            ref += t;
            break;
          }
          case 2: {  // room asked for, less of it used
            const size_t n = 1 + rng() % text::TextOut::kCap;
            const size_t used = rng() % (n + 1);
            for (text::TextOut* o : {&ob, &os}) {
              char* q = o->room(n);
              std::memset(q, 'r', used);
              o->commit(q + used);
            }
            ref.append(used, 'r');
            break;
          }
          case 3: {
            const size_t n = 3 + rng() % (ref.size() - 2);
            ob.truncate(n);
            os.truncate(n);
            ref.resize(n);
            break;
          }
          default: {
            const size_t i = rng() % ref.size();
            ob.replace_byte(i, "\\x23");
            os.replace_byte(i, "\\x23");
            ref.replace(i, 1, "\\x23");
            break;
          }
        }
        REQUIRE(ob.size() == ref.size());
        REQUIRE(os.size() == ref.size());
        REQUIRE(ob.at(ref.size() - 1) == ref.back());
        if (op % 100 == 99) {  // finishing midway leaves the text, and the writers go on after it
          ob.finish();
          os.finish();
          REQUIRE(b.view() == ref);
          REQUIRE(s == ref);
        }
      }
    }
    REQUIRE(b.view() == ref);
    REQUIRE(s == ref);
    REQUIRE(b.size() == ref.size());
  }
}

TEST_CASE("a byte buffer keeps its bytes through growth and leaves nothing behind when moved", "[logwriter][text_out]") {
  ByteBuffer b;
  CHECK(b.empty());
  b.append("abc");
  b.reserve(100000);
  CHECK(b.capacity() >= 100000);
  CHECK(b.view() == "abc");
  std::memcpy(b.data() + 3, "def", 3);
  b.set_size(6);
  CHECK(b.view() == "abcdef");
  b.shrink_to_fit();
  CHECK(b.capacity() == 6);
  CHECK(b.view() == "abcdef");
  b.set_size(1000);  // never past the capacity
  CHECK(b.size() == 6);
  ByteBuffer c = std::move(b);
  CHECK(c.view() == "abcdef");
  CHECK(b.size() == 0);  // NOLINT(bugprone-use-after-move): a moved-from buffer is empty
  CHECK(b.capacity() == 0);
  b = std::move(c);
  CHECK(b.view() == "abcdef");
  CHECK(c.empty());
}
