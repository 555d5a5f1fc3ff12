// Notices about the capture itself, from each interval of stats.log and capture_loss.log:
// - CaptureLoss::Too_Much_Loss, as Zeek's policy/misc/capture-loss.zeek raises it: the ACKs of the
//   interval that acknowledged data the sensor never saw (gaps), as a percentage of all ACKs, reached the
//   threshold (Zeek's CaptureLoss::too_much_loss, 10%). Loss anywhere between the wire and the sensor
//   (an overloaded SPAN port, the kernel, the NIC) shows here.
// - PacketFilter::Dropped_Packets, as Zeek's base/frameworks/packet-filter/netstats.zeek raises it: the
//   capture layer itself counted drops (libpcap ps_drop and ps_ifdrop, DPDK imissed, ierrors and
//   rx_nombuf), above a share of the packets (Zeek: any drop). Live capture only, as in Zeek.
// One notice per interval for the whole sensor, not per worker: the figures are summed over the workers
// and the capture sources, so notice.log is the same whatever -w is.
#pragma once

#include <cstdint>
#include <vector>

#include "output/notice.hpp"

namespace ots {

inline constexpr std::string_view kTooMuchLossNote = "CaptureLoss::Too_Much_Loss";
inline constexpr std::string_view kDroppedPacketsNote = "PacketFilter::Dropped_Packets";

// The site model's `sensor:` thresholds (sensor/sensor_section.hpp).
struct CaptureHealthConfig {
  double too_much_loss_percent = 10.0;  // Too_Much_Loss when gaps / ACKs * 100 reaches this
  double dropped_packets_percent = 0.0;  // Dropped_Packets when drops exceed this share of the packets seen
};

// One stats interval, summed over the workers (capture_loss.log) and the capture sources (stats.log).
struct CaptureInterval {
  uint64_t ts_ns = 0;
  uint64_t length_ns = 0;  // since the previous measurement (capture_loss.log's ts_delta)
  uint64_t acks = 0, gaps = 0;
  uint64_t packets = 0;       // delivered to the sensor by its sources
  uint64_t dropped = 0;       // dropped by the kernel or the interface
  uint64_t link = 0;          // seen by the capture layer (ps_recv, ipackets); 0 when not counted
  bool live = false;          // live sources: their drop counters mean something
};

// Appends the notices the interval deserves to `out`.
void capture_health_notices(const CaptureInterval& in, const CaptureHealthConfig& cfg, std::vector<Notice>& out);

}  // namespace ots
