// The `sensor:` section of the site model (tuning of the packet path). The other sections (zones,
// conduits, attestation, outputs, rules) are validated by their own libraries.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sensor/pipeline_config.hpp"

namespace ots {

struct SensorSection {
  unsigned workers = 0;  // 0: not set in the file (the command line or the default decides)
  PipelineConfig pipeline;
  // stats_interval_s: stats.log and capture_loss.log every this many seconds; unset: the run decides
  // (300 s live, as Zeek's Stats::report_interval; none for a replay unless asked).
  std::optional<double> stats_interval_s;
};

// Loads FILE; on problems returns false and fills `errors` with "FILE:LINE:COL: what is wrong" lines
// (all of them, not only the first).
bool load_sensor_section(const std::string& path, SensorSection& out, std::vector<std::string>& errors);

}  // namespace ots
