// The `sensor:` section of the site model (tuning of the packet path). The other sections (zones,
// conduits, attestation, outputs, rules) are validated by their own libraries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sensor/capture_health.hpp"
#include "sensor/pipeline_config.hpp"

namespace ots {

struct SensorSection {
  unsigned workers = 0;  // 0: not set in the file (the command line or the default decides)
  PipelineConfig pipeline;
  // stats_interval_s: stats.log and capture_loss.log every this many seconds; unset: the run decides
  // (300 s live, as Zeek's Stats::report_interval; none for a replay unless asked).
  std::optional<double> stats_interval_s;
  // inventory_interval_s: LOGDIR/sbom.sqlite every this many seconds of packet time (0: only at the end);
  // unset: the run decides (60 s live; only at the end for a replay). docs/SBOM.md.
  std::optional<double> inventory_interval_s;
  // too_much_loss_percent, dropped_packets_percent: when each interval raises CaptureLoss::Too_Much_Loss
  // and PacketFilter::Dropped_Packets (sensor/capture_health.hpp).
  CaptureHealthConfig health;
  // attest_queue_ticks: ticks the run loop may hand to the attestation stage's thread ahead of it (then it
  // waits: sensor/attest_stage.hpp); 0: the stage runs on the loop's thread (debugging). Unset: the default.
  std::optional<uint32_t> attest_queue_ticks;
};

// Loads FILE; on problems returns false and fills `errors` with "FILE:LINE:COL: what is wrong" lines
// (all of them, not only the first).
bool load_sensor_section(const std::string& path, SensorSection& out, std::vector<std::string>& errors);

}  // namespace ots
