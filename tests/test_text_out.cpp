// The pointer writers of output/value_text and the staged, eight-bytes-at-a-time escaping of the TSV and
// JSON formatters, against plain byte-at-a-time references of Zeek's rules: every special byte at every
// position of a word and of a chunk, strings and lines longer than the staging buffer, and numbers at
// every digit-count boundary.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "log_format_support.hpp"
#include "output/log_format.hpp"
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
