#include "output/value_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace ots::text {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// "00" ... "99": two digits per division, half the divisions of one digit at a time.
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
    t[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// An IPv4 octet's decimal text, padded to four bytes so that one 4-byte copy writes it (the length says
// how much of it counts): addresses are in most rows of every log.
struct Octet {
  char text[4];
  uint32_t len;
};
constexpr auto kOctets = [] {
  std::array<Octet, 256> t{};
  for (unsigned v = 0; v < 256; ++v) {
    Octet& o = t[v];
    uint32_t n = 0;
    if (v >= 100) o.text[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) o.text[n++] = static_cast<char>('0' + v / 10 % 10);
    o.text[n++] = static_cast<char>('0' + v % 10);
    o.len = n;
  }
  return t;
}();

// Microseconds, rounded half away from zero, without overflowing near UINT64_MAX.
uint64_t ns_to_us(uint64_t ns) { return ns / 1000 + (ns % 1000 >= 500 ? 1 : 0); }

unsigned decimal_digits(uint64_t v) {
  unsigned n = 1;
  for (;;) {
    if (v < 10) return n;
    if (v < 100) return n + 1;
    if (v < 1000) return n + 2;
    if (v < 10000) return n + 3;
    v /= 10000;
    n += 4;
  }
}

// `v` < 10^n, written as exactly n digits (leading zeros kept).
void put_digits(char* p, uint64_t v, unsigned n) {
  char* q = p + n;
  while (n >= 2) {
    q -= 2;
    std::memcpy(q, &kDigitPairs[static_cast<size_t>(v % 100) * 2], 2);
    v /= 100;
    n -= 2;
  }
  if (n) *--q = static_cast<char>('0' + v);
}

// Six digits of v < 10^6 in 32-bit arithmetic: the decimals of every time.
char* write_6_digits(char* p, uint32_t v) {
  std::memcpy(p + 4, &kDigitPairs[(v % 100) * 2], 2);
  v /= 100;
  std::memcpy(p + 2, &kDigitPairs[(v % 100) * 2], 2);
  v /= 100;
  std::memcpy(p, &kDigitPairs[v * 2], 2);
  return p + 6;
}

char* write_hex_word(char* p, uint16_t w) {
  for (int shift = 12; shift >= 0; shift -= 4) {
    // No leading zeros (RFC 5952 section 4.1); a zero word is one "0".
    if (shift != 0 && (w >> shift) == 0) continue;
    *p++ = kHex[(w >> shift) & 0xfu];
  }
  return p;
}

char* write_dotted_quad(char* p, const uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    const Octet& o = kOctets[b[i]];
    std::memcpy(p, o.text, 4);
    p += o.len;
    if (i < 3) *p++ = '.';
  }
  return p;
}

}  // namespace

char* write_u64(char* p, uint64_t v) {
  // Most counts in a record (unit ids, function codes, lengths, quantities) are below 100: one pair.
  if (v < 100) {
    if (v < 10) {
      *p = static_cast<char>('0' + v);
      return p + 1;
    }
    std::memcpy(p, &kDigitPairs[static_cast<size_t>(v) * 2], 2);
    return p + 2;
  }
  // Most of the rest (register addresses, ports, byte counts) are below a million: a leading digit or
  // pair and two or four digits below it, in 32-bit arithmetic and without counting digits first
  // (about half the instructions of the general path below).
  if (v < 1'000'000) {
    const auto x = static_cast<uint32_t>(v);
    const uint32_t low = x < 10'000 ? x % 100 : x % 10'000;
    const uint32_t top = x < 10'000 ? x / 100 : x / 10'000;
    if (top < 10) {
      *p++ = static_cast<char>('0' + top);
    } else {
      std::memcpy(p, &kDigitPairs[top * 2], 2);
      p += 2;
    }
    if (x < 10'000) {
      std::memcpy(p, &kDigitPairs[low * 2], 2);
      return p + 2;
    }
    std::memcpy(p, &kDigitPairs[low / 100 * 2], 2);
    std::memcpy(p + 2, &kDigitPairs[low % 100 * 2], 2);
    return p + 4;
  }
  const unsigned n = decimal_digits(v);
  put_digits(p, v, n);
  return p + n;
}

char* write_i64(char* p, int64_t v) {
  if (v < 0) {
    *p++ = '-';
    return write_u64(p, 0 - static_cast<uint64_t>(v));
  }
  return write_u64(p, static_cast<uint64_t>(v));
}

char* write_hex_escape(char* p, uint8_t byte) {
  p[0] = '\\';
  p[1] = 'x';
  p[2] = kHex[byte >> 4];
  p[3] = kHex[byte & 0xf];
  return p + 4;
}

char* write_fixed6_ns(char* p, bool negative, uint64_t magnitude_ns) {
  const uint64_t us = ns_to_us(magnitude_ns);
  if (negative) *p++ = '-';
  p = write_u64(p, us / 1000000);
  *p++ = '.';
  return write_6_digits(p, static_cast<uint32_t>(us % 1000000));
}

char* TimeText::seconds(char* p, uint64_t sec) {
  if (sec != sec_) {
    len_ = static_cast<size_t>(write_u64(text_, sec) - text_);
    sec_ = sec;
  }
  // A fixed-size copy (the seconds have at most 11 digits): no call for a variable length. What it
  // writes past len_ is overwritten by the caller or left beyond the returned end, within
  // kMaxFixed6Text.
  static_assert(kMaxFixed6Text >= 12 && sizeof text_ >= 12);
  std::memcpy(p, text_, 12);
  p += len_;
  *p++ = '.';
  return p;
}

char* TimeText::write(char* p, uint64_t ns) {
  const uint64_t us = ns_to_us(ns);
  p = seconds(p, us / 1000000);
  return write_6_digits(p, static_cast<uint32_t>(us % 1000000));
}

namespace {

// The decimals of write_shortest_us_ns for frac < 10^6 microseconds: trailing zeros dropped, at least one.
char* write_shortest_frac(char* p, uint32_t frac) {
  if (frac == 0) {
    *p++ = '0';
    return p;
  }
  unsigned digits = 6;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  put_digits(p, frac, digits);
  return p + digits;
}

}  // namespace

char* write_shortest_us_ns(char* p, bool negative, uint64_t magnitude_ns) {
  const uint64_t us = ns_to_us(magnitude_ns);
  if (negative) *p++ = '-';
  p = write_u64(p, us / 1000000);
  *p++ = '.';
  return write_shortest_frac(p, static_cast<uint32_t>(us % 1000000));
}

char* TimeText::write_shortest(char* p, uint64_t ns) {
  const uint64_t us = ns_to_us(ns);
  p = seconds(p, us / 1000000);
  return write_shortest_frac(p, static_cast<uint32_t>(us % 1000000));
}

char* write_addr(char* p, const IpAddr& a) {
  const uint8_t* b = a.bytes.data();
  if (a.is_v4()) return write_dotted_quad(p, b + 12);
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
      if (i == best) *p++ = ':';
      continue;
    }
    if (i != 0) *p++ = ':';
    // inet_ntop keeps the deprecated IPv4-compatible form ::a.b.c.d.
    if (i == 6 && best == 0 && best_len == 6) return write_dotted_quad(p, b + 12);
    p = write_hex_word(p, w[i]);
  }
  if (best >= 0 && best + best_len == 8) *p++ = ':';
  return p;
}

void append_u64(std::string& out, uint64_t v) {
  char b[kMaxU64Text];
  out.append(b, static_cast<size_t>(write_u64(b, v) - b));
}

void append_i64(std::string& out, int64_t v) {
  char b[kMaxI64Text];
  out.append(b, static_cast<size_t>(write_i64(b, v) - b));
}

void append_hex_escape(std::string& out, uint8_t byte) {
  char b[4];
  out.append(b, static_cast<size_t>(write_hex_escape(b, byte) - b));
}

void append_fixed6_ns(std::string& out, bool negative, uint64_t magnitude_ns) {
  char b[kMaxFixed6Text];
  out.append(b, static_cast<size_t>(write_fixed6_ns(b, negative, magnitude_ns) - b));
}

void append_shortest_us_ns(std::string& out, bool negative, uint64_t magnitude_ns) {
  char b[kMaxFixed6Text];
  out.append(b, static_cast<size_t>(write_shortest_us_ns(b, negative, magnitude_ns) - b));
}

void append_addr(std::string& out, const IpAddr& a) {
  char b[kMaxAddrText];
  out.append(b, static_cast<size_t>(write_addr(b, a) - b));
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
