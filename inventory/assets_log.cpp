// assets.log: the inventory's records as the run writes them (docs/LOGS.md).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "dissectors/analyzer.hpp"
#include "inventory/asset_inventory.hpp"
#include "inventory/oui.hpp"

namespace ots {

const LogSchema& assets_schema() {
  using F = FieldType;
  static const LogSchema s{"assets",
                           {{"ts", F::Time},
                            {"ip", F::Addr},
                            {"mac", F::String},
                            {"mac_vendor", F::String},
                            {"vendor", F::String},
                            {"model", F::String},
                            {"product_code", F::String},
                            {"firmware", F::String},
                            {"serial", F::String},
                            {"device_type", F::String},
                            {"roles", F::SetString},
                            {"protocols", F::SetString},
                            {"first_seen", F::Time},
                            {"last_seen", F::Time},
                            {"zone", F::String},
                            {"identity_source", F::SetString}}};
  return s;
}

void write_assets(LogSink& sink, LogId log, std::span<const Asset> assets, const AssetZoneOf& zone_of,
                  std::span<const uint64_t> ts) {
  const auto mods = dissector_modules();
  const auto opt = [](std::string_view t) { return t.empty() ? Value{Unset{}} : Value{t}; };
  const auto set = [](std::vector<std::string_view>& xs) {
    // Zeek prints a set in its own order; sorted, a record reads the same in every run.
    std::sort(xs.begin(), xs.end());
    xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
    return xs.empty() ? Value{Unset{}} : Value{std::span<const std::string_view>(xs)};
  };
  std::vector<std::string_view> roles, protocols, sources;
  for (size_t i = 0; i < assets.size(); ++i) {
    const Asset& a = assets[i];
    const uint64_t ts_ns = ts.empty() ? a.first_seen_ns : ts[i];
    const std::string mac = a.has_mac ? mac_text(a.mac) : std::string();
    roles.clear();
    for (unsigned r = 0; r < static_cast<unsigned>(AssetRole::Count_); ++r) {
      if (a.has_role(static_cast<AssetRole>(r))) roles.push_back(asset_role_name(static_cast<AssetRole>(r)));
    }
    protocols.clear();
    for (size_t m = 0; m < mods.size(); ++m) {
      if (a.protocols & (1u << m)) protocols.push_back(mods[m]->service);
    }
    sources.clear();
    for (const Asset::Identity& f : a.identity) {
      if (!f.value.empty()) sources.push_back(protocol_name(f.source));
    }
    const auto field = [&](IdentityField f) { return opt(a.field(f)); };
    const std::array<Value, 16> v = {
        Value{ts_ns},
        Value{a.ip},
        opt(mac),
        opt(a.has_mac ? oui_vendor(a.mac.data()) : std::string_view()),
        field(IdentityField::Vendor),
        field(IdentityField::Model),
        field(IdentityField::ProductCode),
        field(IdentityField::Firmware),
        field(IdentityField::Serial),
        field(IdentityField::DeviceType),
        set(roles),
        set(protocols),
        Value{a.first_seen_ns},
        Value{a.last_seen_ns},
        opt(zone_of ? zone_of(a.ip) : std::string_view()),
        set(sources),
    };
    sink.write(log, ts_ns, Uid{}, v);
  }
}

}  // namespace ots
