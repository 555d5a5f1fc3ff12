#include "capture/net_types.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

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

namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Two base62 digits for each value below 62^2: a chunk's five digits in three steps, not five.
constexpr std::array<char, 2 * 62 * 62> make_base62_pairs() {
  std::array<char, 2 * 62 * 62> t{};
  for (size_t i = 0; i < 62 * 62; ++i) {
    t[2 * i] = kBase62[i / 62];
    t[2 * i + 1] = kBase62[i % 62];
  }
  return t;
}
constexpr std::array<char, 2 * 62 * 62> kBase62Pairs = make_base62_pairs();

}  // namespace

UidText Uid::text() const {
  // 96 bits in base62 (at most 17 digits), by long division of the three 32-bit limbs; Zeek writes
  // the digits after a one-letter prefix. Each pass divides by 62^5 (under 2^32) and yields five digits
  // from the remainder, two at a time from a table, written from the right so that they need no
  // reversing: every log row of every connection writes a uid, and weird.log's and conn.log's rows have
  // no per-connection cache.
  constexpr uint32_t k62p2 = 62u * 62u;
  constexpr uint32_t k62p5 = 62u * 62u * 62u * 62u * 62u;
  uint32_t limbs[3] = {static_cast<uint32_t>(hi >> 32), static_cast<uint32_t>(hi), lo};
  char tmp[20];  // four passes of five digits at most, right-aligned
  char* const end = tmp + sizeof tmp;
  char* p = end;
  for (;;) {
    uint64_t rem = 0;
    for (uint32_t& l : limbs) {
      const uint64_t cur = (rem << 32) | l;
      l = static_cast<uint32_t>(cur / k62p5);
      rem = cur % k62p5;
    }
    auto r = static_cast<uint32_t>(rem);
    if (limbs[0] == 0 && limbs[1] == 0 && limbs[2] == 0) {
      // The most significant chunk has no leading zeros (at least one digit, as for a zero uid).
      do {
        *--p = kBase62[r % 62];
        r /= 62;
      } while (r != 0);
      break;
    }
    const uint32_t low = r % k62p2, mid = (r / k62p2) % k62p2;
    p -= 5;
    p[0] = kBase62[r / (k62p2 * k62p2)];
    std::memcpy(p + 1, &kBase62Pairs[2 * mid], 2);
    std::memcpy(p + 3, &kBase62Pairs[2 * low], 2);
  }
  UidText t;
  t.buf[0] = 'C';
  const auto n = static_cast<size_t>(end - p);
  std::memcpy(t.buf + 1, p, n);
  t.len = static_cast<uint8_t>(1 + n);
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
