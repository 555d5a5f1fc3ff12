// The IEC 62443 site model: zones (with their security level targets and networks) and the site's
// defaults, parsed once from YAML into these plain structs. Conduits live in conduits/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/net_types.hpp"
#include "zones/cidr.hpp"
#include "zones/zone_lookup.hpp"

namespace ots {

// Where an item was written (1-based), for check-config and for messages that point at a first definition.
struct SourcePos {
  int line = 0;
  int column = 0;
};

enum class IntraZonePolicy : uint8_t { Allow, Deny };
enum class UnknownHostPolicy : uint8_t { Alert, Ignore };

struct SiteDefaults {
  IntraZonePolicy intra_zone = IntraZonePolicy::Allow;
  UnknownHostPolicy unknown_hosts = UnknownHostPolicy::Alert;
  uint64_t notice_suppress_ns = 3600'000'000'000ull;  // notice_suppress_s; 0: no suppression
};

struct Zone {
  std::string name;               // [a-z0-9_-]+, unique
  int security_level = 1;         // SL-T, 1..4
  std::vector<Cidr> networks;     // at least one
  std::vector<uint16_t> vlans;    // empty: any VLAN (or none); otherwise the flow must carry one of these
  bool require_attestation = false;    // default: security_level >= 2
  bool require_hardware_root = false;  // default: security_level >= 3 (and only with attestation)
  IntraZonePolicy intra_zone = IntraZonePolicy::Allow;  // traffic between two of its hosts; default: defaults.intra_zone
  SourcePos pos;

  bool vlan_allowed(uint16_t vlan, uint16_t inner_vlan) const {
    if (vlans.empty()) return true;
    for (const uint16_t v : vlans)
      if (v == vlan || (inner_vlan != 0 && v == inner_vlan)) return true;
    return false;
  }
};

struct SiteModel {
  std::string site;          // free text
  SiteDefaults defaults;
  bool has_zones = false;    // false: the file has no `zones` section, so no zone policy at all
  std::vector<Zone> zones;   // in file order; a zone's index is its id (int16_t) everywhere else
  ZoneLookup lookup;         // built from the zones' networks

  // Index of the zone named `name`, or -1.
  int16_t zone_index(std::string_view name) const;
  // The zone the address belongs to by its networks alone (VLANs are the caller's to check).
  ZoneMatch zone_of(const IpAddr& a) const { return lookup.find(a); }
};

// Loads `site`, `defaults` and `zones` of FILE (the other sections are accepted and left to their
// owners). On problems returns false and appends "FILE:LINE:COL: what is wrong, what was expected"
// lines to `errors`, all of them.
bool load_site_model(const std::string& path, SiteModel& out, std::vector<std::string>& errors);

// Puts errors[from..] in file order (by the LINE:COL after "PATH:"; messages without one first),
// keeping the order of messages at one position. Loaders check section by section; people read top down.
void order_by_position(const std::string& path, std::vector<std::string>& errors, size_t from = 0);

}  // namespace ots
