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

// How the RX queues of a port divide its traffic between the workers.
enum class DpdkQueueHash : uint8_t {
  // RSS with the symmetric Toeplitz key where the port offers RSS over IP addresses and that many queues,
  // and reports the key in force after the start; otherwise one queue, dispatched in software.
  Auto,
  // --dpdk-queue-hash symmetric: the device spreads flows over its queues by a hash of its own that is
  // symmetric (both directions of a flow reach one queue), without reporting RSS; trust it. True of
  // net_af_packet, whose queues are the sockets of a PACKET_FANOUT_HASH group: the kernel's fanout hash is
  // __skb_get_hash_symmetric() (docs/DPDK.md, and tests/test_dpdk_queues.cpp checks it on a veth).
  Symmetric,
};

struct DpdkOptions {
  // EAL arguments as one string, split like a shell would (spaces, 'single' and "double" quotes, \).
  // E.g. "--no-huge --no-pci --no-shconf -l 0 --vdev=net_pcap0,rx_pcap=/tmp/x.pcap".
  std::string eal_args;
  std::vector<uint16_t> ports;  // port ids; empty: every port the EAL found
  unsigned queues = 1;          // RX queues wanted per port (one per worker); fewer when the port cannot
  unsigned mbufs = 0;           // mbufs in the pool shared by all ports; 0: a default sized from the queues
  unsigned rx_descriptors = 1024;  // per RX queue (the driver may adjust it to its limits)
  DpdkQueueHash queue_hash = DpdkQueueHash::Auto;

  bool enabled() const { return !eal_args.empty(); }
};

// Splits an argument string as a POSIX shell would for words: blanks separate, '...' is literal,
// "..." keeps blanks and honours \" \\ \$ \`, a backslash outside quotes escapes the next character.
// No expansion of any kind. False with `err` set on an unterminated quote or a trailing backslash.
bool split_shell_words(const std::string& text, std::vector<std::string>& out, std::string& err);

// What open_dpdk_sources() opened.
struct DpdkSources {
  // One source per (port, RX queue), port by port, queues in order.
  std::vector<std::unique_ptr<PacketSource>> sources;
  // Every port has DpdkOptions::queues (more than one) RX queues over which it spreads its traffic by a
  // symmetric hash (RSS with the symmetric key, confirmed, or the device trusted with
  // DpdkQueueHash::Symmetric): worker q may poll queue q of every port itself (sources[port * queues + q]),
  // and both directions of each flow reach it. False: the run loop reads every queue and dispatches.
  bool per_queue = false;
  // One line per port on how its queues are used, for stderr.
  std::vector<std::string> notes;
};

// Initialises the EAL (once per process; a second call must give the same arguments), configures each
// port (see DpdkQueueHash; net_af_packet always gets all its queues, since the kernel gives each a share
// of the traffic whether it is read or not), starts it, and returns one source per RX queue. Port i of
// `ports` tags its packets with ingress i. On failure returns false and sets `err` to one line.
bool open_dpdk_sources(const DpdkOptions& opts, DpdkSources& out, std::string& err);

// True for a source of open_dpdk_sources() that replays a capture file (net_pcap rx_pcap, without
// infinite_rx): it ends, and its packets carry the file's times, so a run treats it like -r FILE
// (packet time only from packets) rather than as a live port (packet time follows the wall clock).
bool is_dpdk_file_replay(const PacketSource& src);

}  // namespace ots
