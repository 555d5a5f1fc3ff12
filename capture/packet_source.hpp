// The one interface every capture back end implements: pcap files, live libpcap, DPDK ports.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/packet.hpp"

namespace ots {

enum class SourceStatus {
  Ok,     // the burst holds at least one packet
  Idle,   // live sources: nothing arrived within the poll interval; call again
  End,    // no more packets (end of file, or capture stopped)
  Error,  // unrecoverable; error() says why
};

struct SourceStats {
  uint64_t received = 0;         // live: seen by the capture layer (pcap_stats ps_recv, DPDK ipackets); files: 0
  uint64_t packets = 0;          // delivered to the pipeline
  uint64_t bytes = 0;            // captured bytes delivered
  uint64_t dropped_kernel = 0;   // pcap_stats ps_drop, DPDK imissed
  uint64_t dropped_iface = 0;    // pcap_stats ps_ifdrop, DPDK ierrors + rx_nombuf
  uint64_t damaged = 0;          // files: reads that ended the file early (truncated or damaged record); 0 or 1
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;

  // Fills `out` with up to PacketBurst::kMaxPackets views. The previous burst's views are invalid from
  // this call on (a DPDK source frees its mbufs here, in bulk).
  virtual SourceStatus next_burst(PacketBurst& out) = 0;

  // Human-readable name: the file path or the interface.
  virtual const std::string& name() const = 0;
  virtual SourceStats stats() const = 0;

  // Why the last call returned Error.
  virtual std::string error() const = 0;

  // Live sources: how long next_burst() may wait (poll(2)) for a packet before it returns Idle. The run
  // loop sets 0 while another source has packets, so a quiet interface never holds up a busy one, and a
  // short wait when all are quiet, so an idle sensor does not spin. Sources that cannot wait (files,
  // polled DPDK queues) ignore it.
  virtual void set_idle_wait(int milliseconds) { (void)milliseconds; }

  // Per-queue capture (sensor/capture_loop_queues.cpp): from now on a worker's thread, not the one that
  // opened the source, calls next_burst(), and stats() is called from the run loop's thread meanwhile
  // (sources that allow this keep their counters atomic). A source whose library keeps per-thread state
  // (DPDK: an lcore id, which gives the thread its own mempool cache) sets it up here and releases it in
  // leave_thread(), both called on the polling thread.
  virtual void enter_thread() {}
  virtual void leave_thread() {}

  // Problems that did not stop the source (a truncated last record, a bad block in a pcapng file):
  // each becomes a weird record and a warning on stderr. Returns and clears them.
  virtual std::vector<std::string> take_warnings() = 0;
};

// Opens a pcap or pcapng file: classic pcap with our reader (capture/pcap_classic_source.cpp), the rest
// (pcapng, pipes and FIFOs) through libpcap. On failure returns nullptr and sets `err` to a one-line
// reason ("not a capture file", "unsupported link type 147 (USER0)", ...). `ingress` tags its packets.
std::unique_ptr<PacketSource> open_pcap_file(const std::string& path, uint16_t ingress, std::string& err);

}  // namespace ots
