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
