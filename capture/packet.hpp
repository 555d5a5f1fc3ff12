// What a packet source hands to the pipeline: zero-copy views, in bursts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots {

// DLT_* / LINKTYPE_* values (tcpdump.org/linktypes.html) of the link layers we decode.
enum class LinkType : uint16_t {
  Null = 0,         // BSD loopback: 4-byte address family in the capturing host's byte order
  Ethernet = 1,
  Raw = 101,        // LINKTYPE_RAW: bare IPv4 or IPv6
  Loop = 108,       // OpenBSD loopback: address family in network byte order
  LinuxSll = 113,
  Ipv4 = 228,
  Ipv6 = 229,
  LinuxSll2 = 276,
};

// One captured packet. `data` points into memory the source owns: valid until the source's next
// next_burst() call, never longer. Stages that must keep bytes (reassembly) copy them.
struct PacketView {
  uint64_t ts_ns = 0;       // capture time, nanoseconds since the Unix epoch
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;      // bytes present at data
  uint32_t wirelen = 0;     // bytes the packet had on the wire (>= caplen when the snaplen cut it)
  uint16_t ingress = 0;     // index of the interface or file it came from
  LinkType link = LinkType::Ethernet;

  std::span<const uint8_t> bytes() const { return {data, caplen}; }
};

// Sources fill bursts, the pipeline processes them as a batch (DPDK's rx_burst model).
struct PacketBurst {
  static constexpr size_t kMaxPackets = 32;
  PacketView pkts[kMaxPackets];
  size_t count = 0;
};

}  // namespace ots
