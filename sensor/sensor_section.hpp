// The `sensor:` section of the site model (tuning of the packet path). The other sections (zones,
// conduits, attestation, outputs, rules) are validated by their own libraries.
#pragma once

#include <string>
#include <vector>

#include "sensor/pipeline_config.hpp"

namespace ots {

struct SensorSection {
  unsigned workers = 0;  // 0: not set in the file (the command line or the default decides)
  PipelineConfig pipeline;
};

// Loads FILE; on problems returns false and fills `errors` with "FILE:LINE:COL: what is wrong" lines
// (all of them, not only the first).
bool load_sensor_section(const std::string& path, SensorSection& out, std::vector<std::string>& errors);

}  // namespace ots
