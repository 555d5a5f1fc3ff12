// Live capture from a network interface through libpcap (otsensor -i IFACE).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_source.hpp"

namespace ots {

struct LivePcapOptions {
  std::string iface;
  int snaplen = 65535;              // bytes kept of each packet (Ethernet + the largest IP datagram)
  int buffer_bytes = 64 << 20;      // the kernel ring (pcap_set_buffer_size)
  std::string filter;               // BPF expression (-f), empty: everything
  // Immediate mode: each packet is readable as soon as it arrives. libpcap 1.10 on Linux then uses the
  // TPACKET_V2 ring (fixed-size frames); without it, TPACKET_V3 (variable-size frames in blocks, handed
  // over when a block fills or `block_timeout_ms` passes): fewer wake-ups at high rates, for a busy SPAN port.
  bool immediate = true;
  int block_timeout_ms = 10;        // TPACKET_V3 block timeout (pcap_set_timeout), without immediate mode
  int idle_wait_ms = 20;            // poll(2) timeout of next_burst() when nothing is waiting (set_idle_wait)
  bool promiscuous = true;
};

// Opens and activates the capture; on failure returns nullptr and a one-line reason in `err` ("eth9: no
// such network interface", "eth0: permission denied (needs CAP_NET_RAW and CAP_NET_ADMIN, or root)",
// "bad capture filter 'tcp port': ..."). `ingress` tags the packets. Warnings (promiscuous mode not
// supported) come out of take_warnings().
std::unique_ptr<PacketSource> open_live_pcap(const LivePcapOptions& opts, uint16_t ingress, std::string& err);

}  // namespace ots
