// The `conduits` section's loader (used by load_site_policy; YAML stays inside the loaders).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "conduits/conduit.hpp"
#include "zones/site_yaml.hpp"

namespace ots {

// Parses and validates the conduits against the zones of `model`. Zone names in `bad_zone_names` were
// already reported as invalid and are not reported again as unknown.
void parse_conduits_section(site_yaml::Reader& r, const site_yaml::Field& section, const SiteModel& model,
                            const std::set<std::string>& bad_zone_names, std::vector<Conduit>& out);

}  // namespace ots
