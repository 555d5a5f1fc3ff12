#include "inventory/asset_inventory.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

#include <fmt/format.h>

#include "capture/flow_key.hpp"
#include "dissectors/analyzer.hpp"

namespace ots {

namespace {

constexpr uint16_t role_bit(AssetRole r) { return static_cast<uint16_t>(1u << static_cast<unsigned>(r)); }

// Not a device: the unspecified address (DHCP, IPv6 duplicate address detection), broadcast, multicast.
bool is_asset_address(const IpAddr& ip) {
  if (ip.is_multicast_or_broadcast()) return false;
  const size_t from = ip.is_v4() ? 12 : 0;
  return std::any_of(ip.bytes.begin() + static_cast<std::ptrdiff_t>(from), ip.bytes.end(),
                     [](uint8_t b) { return b != 0; });
}

// A source MAC names a station: not a group address, not all zeros.
bool is_station_mac(const uint8_t* mac) {
  if (!mac || (mac[0] & 0x01)) return false;
  return std::any_of(mac, mac + 6, [](uint8_t b) { return b != 0; });
}

// Whether `cand` replaces `cur`: the later observation wins; at equal times the larger (source, value), so
// that the outcome does not depend on which of two simultaneous observations came first.
bool replaces(uint64_t cand_ts, Protocol cand_src, std::string_view cand, const Asset::Identity& cur) {
  if (cand.empty()) return false;
  if (cur.value.empty()) return true;
  return std::make_tuple(cand_ts, cand_src, cand) >
         std::make_tuple(cur.ts_ns, cur.source, std::string_view(cur.value));
}

void take_field(Asset::Identity& cur, uint64_t ts, Protocol src, std::string_view value) {
  if (!replaces(ts, src, value, cur)) return;
  cur.ts_ns = ts;
  cur.source = src;
  cur.value.assign(value);
}

}  // namespace

std::string_view asset_role_name(AssetRole r) {
  switch (r) {
    case AssetRole::ModbusClient: return "modbus_client";
    case AssetRole::ModbusServer: return "modbus_server";
    case AssetRole::Dnp3Master: return "dnp3_master";
    case AssetRole::Dnp3Outstation: return "dnp3_outstation";
    case AssetRole::S7Hmi: return "s7_hmi";
    case AssetRole::S7Plc: return "s7_plc";
    case AssetRole::CipScanner: return "cip_scanner";
    case AssetRole::CipAdapter: return "cip_adapter";
    case AssetRole::Count_: break;
  }
  return "unknown";
}

uint16_t asset_roles_of(unsigned module, bool is_orig) {
  const auto mods = dissector_modules();
  if (module >= mods.size()) return 0;
  switch (mods[module]->protocol) {
    case Protocol::Modbus: return role_bit(is_orig ? AssetRole::ModbusClient : AssetRole::ModbusServer);
    case Protocol::Dnp3: return role_bit(is_orig ? AssetRole::Dnp3Master : AssetRole::Dnp3Outstation);
    case Protocol::S7comm:
    case Protocol::S7commPlus: return role_bit(is_orig ? AssetRole::S7Hmi : AssetRole::S7Plc);
    case Protocol::Enip: return role_bit(is_orig ? AssetRole::CipScanner : AssetRole::CipAdapter);
    // CIP I/O (UDP 2222): either end may send first, so the flow's sides do not say which end opened the
    // connection; the Forward Open's session on TCP 44818 does.
    default: return 0;
  }
}

size_t AssetInventory::IpHash::operator()(const IpAddr& a) const {
  uint64_t hi, lo;
  std::memcpy(&hi, a.bytes.data(), 8);
  std::memcpy(&lo, a.bytes.data() + 8, 8);
  return static_cast<size_t>(flow::mix64(hi ^ flow::mix64(lo)));
}

AssetInventory::AssetInventory(const AssetInventoryConfig& cfg, WeirdSink* weirds) : cfg_(cfg), weirds_(weirds) {}

Asset* AssetInventory::find_or_add(const IpAddr& ip, uint64_t ts_ns) {
  if (!is_asset_address(ip)) return nullptr;
  if (const auto it = index_.find(ip); it != index_.end()) {
    Asset& a = assets_[it->second];
    a.first_seen_ns = std::min(a.first_seen_ns, ts_ns);
    a.last_seen_ns = std::max(a.last_seen_ns, ts_ns);
    return &a;
  }
  if (assets_.size() >= cfg_.max_assets) {
    if (refused_++ == 0 && weirds_) {
      WeirdEvent ev;
      ev.ts_ns = ts_ns;
      ev.name = "asset_inventory_full";
      ev.addl = fmt::format("{} addresses (max_assets): further new addresses are not in assets.log", cfg_.max_assets);
      ev.source = "inventory";
      weirds_->weird(ev);
    }
    return nullptr;
  }
  index_.emplace(ip, static_cast<uint32_t>(assets_.size()));
  Asset& a = assets_.emplace_back();
  a.ip = ip;
  a.first_seen_ns = a.last_seen_ns = ts_ns;
  return &a;
}

void AssetInventory::seen(const IpAddr& ip, uint64_t ts_ns, const uint8_t* mac) {
  Asset* a = find_or_add(ip, ts_ns);
  if (!a || !is_station_mac(mac)) return;
  std::array<uint8_t, 6> m;
  std::memcpy(m.data(), mac, 6);
  if (!a->has_mac || std::tie(ts_ns, m) > std::tie(a->mac_ts_ns, a->mac)) {
    a->mac = m;
    a->mac_ts_ns = ts_ns;
    a->has_mac = true;
  }
}

void AssetInventory::add_roles(const IpAddr& ip, uint64_t ts_ns, uint16_t roles, uint32_t protocols) {
  if (Asset* a = find_or_add(ip, ts_ns)) {
    a->roles |= roles;
    a->protocols |= protocols;
  }
}

void AssetInventory::first_packet(const DecodedPacket& p) { seen(p.src, p.ts_ns, p.src_mac); }

// Only an end that has sent packets is a device seen: a confirmed UDP flow to an address that never
// answers (a directed broadcast, a host that is down) gives its responder nothing.
void AssetInventory::service_confirmed(const Conn& c, unsigned module, uint64_t ts_ns) {
  const uint32_t proto = 1u << module;
  if (c.orig.pkts) add_roles(c.id().orig_h, ts_ns, asset_roles_of(module, true), proto);
  if (c.resp.pkts) add_roles(c.id().resp_h, ts_ns, asset_roles_of(module, false), proto);
}

void AssetInventory::flow_seen(const Conn& c) {
  uint16_t orig_roles = 0, resp_roles = 0;
  for (uint32_t s = c.services; s; s &= s - 1) {
    const auto m = static_cast<unsigned>(std::countr_zero(s));
    orig_roles |= asset_roles_of(m, true);
    resp_roles |= asset_roles_of(m, false);
  }
  if (c.orig.pkts) add_roles(c.id().orig_h, c.last_ts_ns, orig_roles, c.services);
  if (c.resp.pkts) add_roles(c.id().resp_h, c.last_ts_ns, resp_roles, c.services);
}

void AssetInventory::identity(const DeviceIdentity& id) {
  Asset* a = find_or_add(id.device, id.ts_ns);
  if (!a) return;
  if (a->identity.empty()) a->identity.resize(static_cast<size_t>(IdentityField::Count_));
  const std::string_view values[] = {id.vendor, id.model, id.product_code, id.firmware, id.serial, id.device_type};
  for (size_t f = 0; f < a->identity.size(); ++f) take_field(a->identity[f], id.ts_ns, id.protocol, values[f]);
}

std::vector<Asset> AssetInventory::snapshot() const {
  std::vector<Asset> out = assets_;
  std::sort(out.begin(), out.end(), [](const Asset& x, const Asset& y) { return x.ip < y.ip; });
  return out;
}

void AssetInventory::merge_into(Asset& into, const Asset& from) {
  into.first_seen_ns = std::min(into.first_seen_ns, from.first_seen_ns);
  into.last_seen_ns = std::max(into.last_seen_ns, from.last_seen_ns);
  if (from.has_mac && (!into.has_mac || std::tie(from.mac_ts_ns, from.mac) > std::tie(into.mac_ts_ns, into.mac))) {
    into.mac = from.mac;
    into.mac_ts_ns = from.mac_ts_ns;
    into.has_mac = true;
  }
  into.roles |= from.roles;
  into.protocols |= from.protocols;
  if (from.identity.empty()) return;
  if (into.identity.empty()) into.identity.resize(from.identity.size());
  for (size_t f = 0; f < from.identity.size(); ++f) {
    const Asset::Identity& v = from.identity[f];
    take_field(into.identity[f], v.ts_ns, v.source, v.value);
  }
}

std::vector<Asset> AssetInventory::merge(std::span<const std::vector<Asset>> parts) {
  std::vector<Asset> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::stable_sort(all.begin(), all.end(), [](const Asset& x, const Asset& y) { return x.ip < y.ip; });
  std::vector<Asset> out;
  for (Asset& a : all) {
    if (!out.empty() && out.back().ip == a.ip) {
      merge_into(out.back(), a);
    } else {
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace ots
