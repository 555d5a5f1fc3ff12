// Renderings of single values shared by the TSV and JSON formatters: numbers, times, addresses and the
// UTF-8 check Zeek applies before it lets bytes through unescaped. Everything appends to the caller's
// string and allocates nothing of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "capture/net_types.hpp"

namespace ots::text {

// The writers below put their text at `p` and return its end; they write no terminating NUL and never
// more than the kMax* bytes named beside them, so a caller that has that much room needs no checks per
// byte. The append_* functions are the same renderings onto a std::string: the formatters of every log
// record use the writers (one room check per field instead of one capacity check per character).
inline constexpr size_t kMaxU64Text = 20;     // 18446744073709551615
inline constexpr size_t kMaxI64Text = 20;     // -9223372036854775808
inline constexpr size_t kMaxFixed6Text = 19;  // '-', 11 digits (UINT64_MAX ns in seconds), '.', 6 digits
inline constexpr size_t kMaxAddrText = 45;    // INET6_ADDRSTRLEN less the NUL (ours: at most 39)

char* write_u64(char* p, uint64_t v);
char* write_i64(char* p, int64_t v);
char* write_hex_escape(char* p, uint8_t byte);
char* write_fixed6_ns(char* p, bool negative, uint64_t magnitude_ns);
char* write_shortest_us_ns(char* p, bool negative, uint64_t magnitude_ns);
char* write_addr(char* p, const IpAddr& a);

// write_fixed6_ns(p, false, ns) for times that come in order: the times within one second share their
// integer digits (ten of the sixteen), which this keeps from the last call instead of converting them
// again. Thread-confined: one per formatter that owns it.
class TimeText {
 public:
  char* write(char* p, uint64_t ns);
  // write_shortest_us_ns(p, false, ns) (JSON's times) the same way.
  char* write_shortest(char* p, uint64_t ns);

 private:
  // The seconds' text and the '.', from the last call's when it is the same second.
  char* seconds(char* p, uint64_t sec);

  uint64_t sec_ = UINT64_MAX;  // no second has this many: UINT64_MAX ns is 1.8e10 s
  size_t len_ = 0;
  char text_[kMaxU64Text] = {};
};

void append_u64(std::string& out, uint64_t v);
void append_i64(std::string& out, int64_t v);

// Lower-case "\xHH", the escape Zeek writes for one byte (util::bytetohex is lower case).
void append_hex_escape(std::string& out, uint8_t byte);

// Seconds with exactly six decimals, from nanoseconds rounded to the nearest microsecond (half away from
// zero). Zeek holds times as double seconds taken from microsecond pcap stamps and renders time and
// interval with std::to_chars(fixed, 6): the same digits. A negative value keeps its sign even when it
// rounds to zero, as to_chars does for a small negative double ("-0.000000").
void append_fixed6_ns(std::string& out, bool negative, uint64_t magnitude_ns);

// The same value as rapidjson's Writer::Double writes the double Zeek holds: the microsecond digits with
// trailing zeros dropped and at least one decimal ("1362692526.0", "0.5", "-0.000054"). For microsecond
// values below 2^33 s the shortest round-trip digits of that double are exactly these.
void append_shortest_us_ns(std::string& out, bool negative, uint64_t magnitude_ns);

// Zeek's TSV rendering of a double (ODesc::Add(d, no_exp=true)): six decimals with trailing zeros and a
// bare '.' dropped, then ".0" when the value is within 1e-9 of an integer; "nan", "inf", "-inf".
void append_tsv_double(std::string& out, double d);

// rapidjson's Writer::Double as Zeek's NullDoubleWriter uses it: shortest round-trip digits laid out by
// rapidjson's Prettify ("100.0", "0.001234", "1e21", "1.5e-7"); null for NaN and infinities.
void append_json_double(std::string& out, double d);

// Dotted quad for IPv4 (IpAddr keeps IPv4 mapped), otherwise RFC 5952 text exactly as inet_ntop(3)
// writes it, including "::a.b.c.d" for IPv4-compatible addresses.
void append_addr(std::string& out, const IpAddr& a);

// Length of the UTF-8 character starting at s[0] if Zeek would let it through unescaped, else 0. Zeek
// (util.cc check_ok_utf8) accepts a well-formed sequence (no overlong forms, surrogates or code points
// past U+10FFFF) unless it encodes a C0/C1 control or DEL, the Private Use Area U+E000..U+F8FF, or
// U+FFF0..U+FFFF.
size_t utf8_ok_len(const unsigned char* s, size_t avail);

}  // namespace ots::text
