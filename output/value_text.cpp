#include "output/value_text.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

namespace ots::text {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Microseconds, rounded half away from zero, without overflowing near UINT64_MAX.
uint64_t ns_to_us(uint64_t ns) { return ns / 1000 + (ns % 1000 >= 500 ? 1 : 0); }

void append_6_digits(std::string& out, uint32_t v) {
  char b[6];
  for (int i = 5; i >= 0; --i) {
    b[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(b, 6);
}

void append_hex_word(std::string& out, uint16_t w) {
  char b[4];
  int n = 0;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned nib = (w >> shift) & 0xfu;
    if (n == 0 && nib == 0 && shift != 0) continue;
    b[n++] = kHex[nib];
  }
  out.append(b, static_cast<size_t>(n));
}

void append_dotted_quad(std::string& out, const uint8_t* p) {
  char b[15];
  size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    if (i) b[n++] = '.';
    const unsigned v = p[i];
    if (v >= 100) b[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) b[n++] = static_cast<char>('0' + v / 10 % 10);
    b[n++] = static_cast<char>('0' + v % 10);
  }
  out.append(b, n);
}

}  // namespace

void append_u64(std::string& out, uint64_t v) {
  char b[20];
  const auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, static_cast<size_t>(r.ptr - b));
}

void append_i64(std::string& out, int64_t v) {
  char b[20];
  const auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, static_cast<size_t>(r.ptr - b));
}

void append_hex_escape(std::string& out, uint8_t byte) {
  const char b[4] = {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
  out.append(b, 4);
}

void append_fixed6_ns(std::string& out, bool negative, uint64_t magnitude_ns) {
  const uint64_t us = ns_to_us(magnitude_ns);
  if (negative) out.push_back('-');
  append_u64(out, us / 1000000);
  out.push_back('.');
  append_6_digits(out, static_cast<uint32_t>(us % 1000000));
}

void append_shortest_us_ns(std::string& out, bool negative, uint64_t magnitude_ns) {
  const uint64_t us = ns_to_us(magnitude_ns);
  if (negative) out.push_back('-');
  append_u64(out, us / 1000000);
  out.push_back('.');
  uint32_t frac = static_cast<uint32_t>(us % 1000000);
  if (frac == 0) {
    out.push_back('0');
    return;
  }
  int digits = 6;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  char b[6];
  for (int i = digits - 1; i >= 0; --i) {
    b[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out.append(b, static_cast<size_t>(digits));
}

void append_tsv_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out.append("nan");
    return;
  }
  if (std::isinf(d)) {
    out.append(d < 0 ? "-inf" : "inf");
    return;
  }
  // DBL_MAX in fixed notation is 309 integer digits plus ".000000".
  char b[330];
  const auto r = std::to_chars(b, b + sizeof b, std::fabs(d), std::chars_format::fixed, 6);
  char* end = r.ptr;
  while (end[-1] == '0') --end;
  if (end[-1] == '.') --end;
  if (d < 0) out.push_back('-');
  out.append(b, static_cast<size_t>(end - b));
  // ODesc::Add appends ".0" to "disambiguate from integer" whenever d is within 1e-9 of one.
  if (std::fabs(d - std::nearbyint(d)) < 1e-9) out.append(".0");
}

void append_json_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out.append("null");
    return;
  }
  if (d == 0) {
    out.append(std::signbit(d) ? "-0.0" : "0.0");
    return;
  }
  if (d < 0) {
    out.push_back('-');
    d = -d;
  }
  // Shortest round-trip digits and decimal exponent, from to_chars' scientific form "d.ddde+XX".
  char sci[32];
  const auto r = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
  char digits[20];
  int length = 0;
  const char* p = sci;
  for (; p < r.ptr && *p != 'e'; ++p) {
    if (*p != '.') digits[length++] = *p;
  }
  int exp10 = 0;
  std::from_chars(p + (p[1] == '+' ? 2 : 1), r.ptr, exp10);
  // value = digits * 10^k; the value lies in [10^(kk-1), 10^kk). The branches follow rapidjson's
  // Prettify (internal/dtoa.h) with its default maxDecimalPlaces, which never truncates a double.
  const int kk = exp10 + 1;
  const int k = kk - length;
  const auto ulen = static_cast<size_t>(length);
  if (k >= 0 && kk <= 21) {
    out.append(digits, ulen);
    out.append(static_cast<size_t>(kk - length), '0');
    out.append(".0");
  } else if (kk > 0 && kk <= 21) {
    out.append(digits, static_cast<size_t>(kk));
    out.push_back('.');
    out.append(digits + kk, static_cast<size_t>(length - kk));
  } else if (kk > -6 && kk <= 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-kk), '0');
    out.append(digits, ulen);
  } else {
    out.push_back(digits[0]);
    if (length > 1) {
      out.push_back('.');
      out.append(digits + 1, ulen - 1);
    }
    out.push_back('e');
    append_i64(out, kk - 1);  // rapidjson writes no '+' and no leading zeros
  }
}

void append_addr(std::string& out, const IpAddr& a) {
  const uint8_t* b = a.bytes.data();
  if (a.is_v4()) {
    append_dotted_quad(out, b + 12);
    return;
  }
  uint16_t w[8];
  for (int i = 0; i < 8; ++i) w[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  // The first longest run of two or more zero words becomes "::" (RFC 5952 section 4.2).
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) out.push_back(':');
      continue;
    }
    if (i != 0) out.push_back(':');
    // inet_ntop keeps the deprecated IPv4-compatible form ::a.b.c.d.
    if (i == 6 && best == 0 && best_len == 6) {
      append_dotted_quad(out, b + 12);
      return;
    }
    append_hex_word(out, w[i]);
  }
  if (best >= 0 && best + best_len == 8) out.push_back(':');
}

size_t utf8_ok_len(const unsigned char* s, size_t avail) {
  const unsigned c0 = s[0];
  if (c0 < 0x80) return (c0 >= 0x20 && c0 != 0x7f) ? 1 : 0;
  size_t n;
  unsigned lo = 0x80, hi = 0xbf;  // bounds of the second byte (Unicode 3.9 table 3-7)
  if (c0 < 0xc2) return 0;
  if (c0 < 0xe0) {
    n = 2;
  } else if (c0 < 0xf0) {
    n = 3;
    if (c0 == 0xe0) lo = 0xa0;
    if (c0 == 0xed) hi = 0x9f;
  } else if (c0 <= 0xf4) {
    n = 4;
    if (c0 == 0xf0) lo = 0x90;
    if (c0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (n > avail) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (s[i] < 0x80 || s[i] > 0xbf) return 0;
  }
  uint32_t cp = c0 & (0xffu >> (n + 1));
  for (size_t i = 1; i < n; ++i) cp = cp << 6 | (s[i] & 0x3fu);
  if (cp <= 0x9f) return 0;                     // C1 controls U+0080..U+009F
  if (cp >= 0xe000 && cp <= 0xf8ff) return 0;  // Private Use Area
  if (cp >= 0xfff0 && cp <= 0xffff) return 0;  // Specials
  return n;
}

}  // namespace ots::text
