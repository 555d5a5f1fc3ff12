// Addresses and connection identifiers shared by every stage after capture.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace ots {

// An IPv4 or IPv6 address. IPv4 is held IPv4-mapped (::ffff:a.b.c.d) so one 16-byte compare and one
// hash cover both families, as Zeek's IPAddr does.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};

  static IpAddr v4(const uint8_t* p) {
    IpAddr a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, p, 4);
    return a;
  }
  static IpAddr v4(uint32_t host_order) {
    const uint8_t b[4] = {uint8_t(host_order >> 24), uint8_t(host_order >> 16), uint8_t(host_order >> 8),
                          uint8_t(host_order)};
    return v4(b);
  }
  static IpAddr v6(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
  }
  bool is_v4() const {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), kPrefix, 12) == 0;
  }
  // Multicast or broadcast (IPv4 255.255.255.255 and 224/4, IPv6 ff00::/8). Subnet-directed broadcast
  // needs the zone model and is decided there.
  bool is_multicast_or_broadcast() const {
    if (is_v4()) return bytes[12] >= 224;
    return bytes[0] == 0xff;
  }
  // Text form as Zeek writes it: dotted quad, or RFC 5952 compressed IPv6.
  std::string to_string() const;
  // Parses either family; false on bad text.
  static bool parse(const std::string& text, IpAddr& out);

  auto operator<=>(const IpAddr&) const = default;
  // Two word compares: the flow table compares addresses on every packet.
  bool operator==(const IpAddr& o) const {
    uint64_t a[2], b[2];
    std::memcpy(a, bytes.data(), 16);
    std::memcpy(b, o.bytes.data(), 16);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0;
  }
};

enum class Transport : uint8_t { Unknown = 0, Icmp = 1, Tcp = 6, Udp = 17, Icmp6 = 58 };

// Zeek's conn_id: originator and responder as the connection tracker decided them.
struct ConnId {
  IpAddr orig_h;
  IpAddr resp_h;
  uint16_t orig_p = 0;
  uint16_t resp_p = 0;
  Transport proto = Transport::Unknown;
  bool operator==(const ConnId&) const = default;
};

// A connection's uid as Zeek shows it: "C" followed by base62 of 96 bits. Ours is a hash of the
// connection's 5-tuple and first packet time, so a replay gives the same uids whatever the worker count.
// A uid's text without allocating: "C" and at most 17 base62 digits.
struct UidText {
  char buf[19] = {};
  uint8_t len = 0;
  std::string_view view() const { return {buf, len}; }
};

// Packed to 12 bytes at 4-byte alignment, so that it fills the hole after ConnId in a Conn.
struct __attribute__((packed, aligned(4))) Uid {
  uint64_t hi = 0;
  uint32_t lo = 0;
  bool is_set() const { return hi != 0 || lo != 0; }
  UidText text() const;           // "C" + base62, like Zeek's
  std::string to_string() const;  // the same, as a string
  auto operator<=>(const Uid&) const = default;
};

// Zeek writes "tcp", "udp", "icmp" (ICMPv6 too) and "unknown_transport" in the proto column.
const char* transport_name(Transport t);

// A MAC address as every log and SIEM payload writes it: six lower-case hex pairs joined by ':'
// ("00:1b:1b:7c:05:e1"), the form of Zeek's mac-logging.zeek, CEF's smac and LEEF's srcMAC.
std::string mac_text(std::span<const uint8_t, 6> mac);

}  // namespace ots
