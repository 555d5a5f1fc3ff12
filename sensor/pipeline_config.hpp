// Settings of the packet path, from the command line and the site model's `sensor:` section.
#pragma once

#include <cstdint>

#include "capture/decode.hpp"
#include "capture/flow.hpp"
#include "inventory/asset_inventory.hpp"
#include "rules/rule_streams.hpp"
#include "sensor/weird_filter.hpp"

namespace ots {

struct PipelineConfig {
  DecodeConfig decode;
  FlowTableConfig flows;
  AssetInventoryConfig inventory;
  WeirdFilterConfig weirds;
  rules::StreamLimits rule_streams;  // stream rules' bounds (sensor.rule_stream_depth_kb, rule_streams_max)
};

}  // namespace ots
