#include "sensor/inventory_writer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "conduits/site_policy.hpp"

namespace ots {

size_t InventoryWriter::write(std::span<const std::vector<Asset>> parts, const SitePolicy* policy, uint64_t now_ns,
                              bool final) {
  AssetZoneOf zone_of;
  if (policy && policy->enabled()) {
    zone_of = [policy](const IpAddr& ip) { return policy->zone_name(policy->model().zone_of(ip).zone); };
  }
  std::vector<Asset> changed;
  std::vector<uint64_t> ts;
  for (Asset& a : AssetInventory::merge(parts)) {
    std::string state = fmt::format("{}|{}|{}|{}|{}|{}", a.first_seen_ns, a.has_mac ? mac_text(a.mac) : "",
                                    a.roles, a.protocols, zone_of ? zone_of(a.ip) : std::string_view(),
                                    a.identity.size());
    for (const Asset::Identity& f : a.identity) {
      state += fmt::format("|{}:{}", static_cast<int>(f.source), f.value);
    }
    Written& w = written_[a.ip.to_string()];
    const bool news = w.state != state || (final && w.last_seen_ns != a.last_seen_ns);
    if (!news) continue;
    ts.push_back(w.state.empty() ? a.first_seen_ns : std::max(now_ns, a.first_seen_ns));
    w.state = std::move(state);
    w.last_seen_ns = a.last_seen_ns;
    changed.push_back(std::move(a));
  }
  write_assets(sink_, log_, changed, zone_of, ts);
  return changed.size();
}

}  // namespace ots
