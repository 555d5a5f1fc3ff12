// What classic pcap and pcapng files share: fields in either byte order, libpcap's snapshot-length
// rules, and the LINKTYPE_ values we decode.
#pragma once

#include <cstdint>
#include <cstring>

#include "capture/packet.hpp"

namespace ots {

// libpcap's MAXIMUM_SNAPLEN: the largest record it reads for the link types we decode.
inline constexpr uint32_t kLibpcapMaxSnaplen = 262144;

// A file's snapshot length as libpcap uses it (pcap_adjust_snapshot): 0 and values over its maximum
// mean the maximum.
inline uint32_t libpcap_snaplen(uint32_t snaplen) {
  return snaplen == 0 || snaplen > kLibpcapMaxSnaplen ? kLibpcapMaxSnaplen : snaplen;
}

inline uint16_t load16(const uint8_t* p, bool swapped) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap16(v) : v;
}

inline uint32_t load32(const uint8_t* p, bool swapped) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap32(v) : v;
}

inline uint64_t load64(const uint8_t* p, bool swapped) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap64(v) : v;
}

// LINKTYPE_ values (tcpdump.org/linktypes.html) as files carry them; 12 and 14 are the DLT_RAW values of
// other systems, which libpcap also reads as raw IP.
inline bool link_from_linktype(uint32_t linktype, LinkType& out) {
  switch (linktype) {
    case 0: out = LinkType::Null; return true;
    case 1: out = LinkType::Ethernet; return true;
    case 12:
    case 14:
    case 101: out = LinkType::Raw; return true;
    case 108: out = LinkType::Loop; return true;
    case 113: out = LinkType::LinuxSll; return true;
    case 276: out = LinkType::LinuxSll2; return true;
    case 228: out = LinkType::Ipv4; return true;
    case 229: out = LinkType::Ipv6; return true;
    default: return false;
  }
}

}  // namespace ots
