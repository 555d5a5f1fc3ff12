// DPDK ports as packet sources: one source per (port, RX queue), zero-copy views over mbufs.
//
// This header has no DPDK include, so the command line and RunOptions can carry DpdkOptions in every
// build; open_dpdk_sources() exists only when the build found DPDK (OTS_HAVE_DPDK, CMake OTS_DPDK).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"

namespace ots {

struct DpdkOptions {
  // EAL arguments as one string, split like a shell would (spaces, 'single' and "double" quotes, \).
  // E.g. "--no-huge --no-pci --no-shconf -l 0 --vdev=net_pcap0,rx_pcap=/tmp/x.pcap".
  std::string eal_args;
  std::vector<uint16_t> ports;  // port ids; empty: every port the EAL found
  unsigned queues = 1;          // RX queues wanted per port (one per worker); fewer when the port cannot
  unsigned mbufs = 0;           // mbufs in the pool shared by all ports; 0: a default sized from the queues
  unsigned rx_descriptors = 1024;  // per RX queue (the driver may adjust it to its limits)

  bool enabled() const { return !eal_args.empty(); }
};

// Splits an argument string as a POSIX shell would for words: blanks separate, '...' is literal,
// "..." keeps blanks and honours \" \\ \$ \`, a backslash outside quotes escapes the next character.
// No expansion of any kind. False with `err` set on an unterminated quote or a trailing backslash.
bool split_shell_words(const std::string& text, std::vector<std::string>& out, std::string& err);

// Initialises the EAL (once per process; a second call must give the same arguments), configures each
// port (RSS with the symmetric Toeplitz key over one RX queue per worker where the port offers RSS and
// that many queues, otherwise one queue), starts it, and returns one source per RX queue. Port i of
// `ports` tags its packets with ingress i. On failure returns nothing and sets `err` to one line.
std::vector<std::unique_ptr<PacketSource>> open_dpdk_sources(const DpdkOptions& opts, std::string& err);

// True for a source of open_dpdk_sources() that replays a capture file (net_pcap rx_pcap, without
// infinite_rx): it ends, and its packets carry the file's times, so a run treats it like -r FILE
// (packet time only from packets) rather than as a live port (packet time follows the wall clock).
bool is_dpdk_file_replay(const PacketSource& src);

}  // namespace ots
