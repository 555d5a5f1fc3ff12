#include "zones/cidr.hpp"

#include <charconv>

#include <fmt/format.h>

namespace ots {

namespace {

// Clears the bits after the first `bits` bits of the 16-byte address.
IpAddr masked(IpAddr a, unsigned bits) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first = i * 8;
    if (bits >= first + 8) continue;
    const unsigned keep = bits > first ? bits - first : 0;
    a.bytes[i] = static_cast<uint8_t>(keep ? a.bytes[i] & (0xff << (8 - keep)) : 0);
  }
  return a;
}

// The prefix length over all 128 bits of the (IPv4-mapped) address.
unsigned full_len(const Cidr& c) { return c.is_v4() ? 96u + c.len : c.len; }

}  // namespace

bool Cidr::contains(const IpAddr& a) const {
  if (a.is_v4() != is_v4()) return false;
  return masked(a, full_len(*this)) == addr;
}

std::string Cidr::to_string() const { return fmt::format("{}/{}", addr.to_string(), len); }

bool parse_cidr(std::string_view text, Cidr& out, std::string& why) {
  const size_t slash = text.find('/');
  const std::string addr_text(text.substr(0, slash));
  IpAddr a;
  if (addr_text.empty() || !IpAddr::parse(addr_text, a)) {
    why = fmt::format("network '{}' is not a CIDR, expected ADDRESS/LENGTH such as 10.1.0.0/16 or fd00:10::/64",
                      text);
    return false;
  }
  const bool v4_text = addr_text.find(':') == std::string::npos;
  const unsigned max_len = v4_text ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view len_text = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len_text.empty() || ec != std::errc{} || end != len_text.data() + len_text.size() || len > max_len) {
      why = fmt::format("network '{}' has prefix length '{}', expected 0 to {} for {}", text, len_text, max_len,
                        v4_text ? "IPv4" : "IPv6");
      return false;
    }
  }
  unsigned bits = v4_text ? 96 + len : len;
  Cidr c;
  c.addr = masked(a, bits);
  if (c.addr != a) {
    Cidr fixed{c.addr, static_cast<uint8_t>(len)};
    if (!v4_text && a.is_v4() && len >= 96) fixed.len = static_cast<uint8_t>(len - 96);
    why = fmt::format("host bits set in {}, did you mean {}?", text, fixed.to_string());
    return false;
  }
  // IPv6 text naming IPv4-mapped space (a /96 or longer keeps the ::ffff: bits) is the IPv4 prefix.
  if (!v4_text && c.addr.is_v4()) len -= 96;
  c.len = static_cast<uint8_t>(len);
  out = c;
  return true;
}

}  // namespace ots
