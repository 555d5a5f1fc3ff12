#include "capture/net_types.hpp"

#include <arpa/inet.h>

namespace ots {

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);  // glibc follows RFC 5952, as Zeek's output does
  }
  return buf;
}

bool IpAddr::parse(const std::string& text, IpAddr& out) {
  uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) {
    out = v4(b);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), b) == 1) {
    out = v6(b);
    return true;
  }
  return false;
}

UidText Uid::text() const {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  // 96 bits in base62 (at most 17 digits), by long division of the three 32-bit limbs; Zeek writes
  // the digits after a one-letter prefix. Each pass divides by 62^5 (under 2^32) and yields five digits
  // from the remainder: a quarter of the wide divisions of one pass per digit (every log row of every
  // connection writes a uid, and weird.log's rows have no per-connection cache).
  constexpr uint32_t k62p5 = 62u * 62u * 62u * 62u * 62u;
  uint32_t limbs[3] = {static_cast<uint32_t>(hi >> 32), static_cast<uint32_t>(hi), lo};
  char tmp[20];
  int n = 0;
  for (;;) {
    uint64_t rem = 0;
    for (uint32_t& l : limbs) {
      const uint64_t cur = (rem << 32) | l;
      l = static_cast<uint32_t>(cur / k62p5);
      rem = cur % k62p5;
    }
    auto r = static_cast<uint32_t>(rem);
    const bool last = limbs[0] == 0 && limbs[1] == 0 && limbs[2] == 0;
    // The most significant chunk has no leading zeros (at least one digit, as for a zero uid).
    for (int d = 0; d < 5; ++d) {
      tmp[n++] = kDigits[r % 62];
      r /= 62;
      if (last && r == 0) break;
    }
    if (last) break;
  }
  UidText t;
  t.buf[t.len++] = 'C';
  while (n > 0) t.buf[t.len++] = tmp[--n];
  return t;
}

std::string Uid::to_string() const { return std::string(text().view()); }

std::string mac_text(std::span<const uint8_t, 6> mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(17, ':');
  for (size_t i = 0; i < 6; ++i) {
    out[3 * i] = kHex[mac[i] >> 4];
    out[3 * i + 1] = kHex[mac[i] & 0xf];
  }
  return out;
}

const char* transport_name(Transport t) {
  switch (t) {
    case Transport::Tcp: return "tcp";
    case Transport::Udp: return "udp";
    case Transport::Icmp:
    case Transport::Icmp6: return "icmp";
    default: return "unknown_transport";
  }
}

}  // namespace ots
