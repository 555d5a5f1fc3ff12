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

std::string Uid::to_string() const {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  // 96 bits in base62: at most 17 digits; Zeek writes the digits after a one-letter prefix.
  unsigned __int128 v = (static_cast<unsigned __int128>(hi) << 32) | lo;
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = kDigits[static_cast<unsigned>(v % 62)];
    v /= 62;
  } while (v != 0);
  std::string s = "C";
  while (n > 0) s.push_back(tmp[--n]);
  return s;
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
