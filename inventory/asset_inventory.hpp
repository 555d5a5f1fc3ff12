// The passive asset inventory: one record per IP address that sent packets. Its MAC (and the MAC's
// vendor), what the device says about itself in identification exchanges (Modbus Read Device
// Identification, EtherNet/IP ListIdentity, S7 SZL module identification), the ICS roles it plays and the
// protocols it speaks on flows a dissector confirmed, when it was first and last seen.
//
// Shared-nothing: each worker keeps its own inventory, fed by flow events (a connection's first packet
// each way, a service confirmation, interim and end records) and identity events, never one lookup per
// packet. Every rule that combines two observations is a maximum, a minimum or a union, so merging the
// workers' snapshots gives the same records whatever the number of workers and whichever worker saw what.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/decode.hpp"
#include "capture/flow.hpp"
#include "capture/net_types.hpp"
#include "capture/weird.hpp"
#include "dissectors/identity.hpp"
#include "output/log_manager.hpp"

namespace ots {

// What a host does on a confirmed flow: the client/master side or the server/outstation side.
enum class AssetRole : uint8_t {
  ModbusClient, ModbusServer,
  Dnp3Master, Dnp3Outstation,
  S7Hmi, S7Plc,             // S7: the client (HMI, engineering station) and the PLC
  CipScanner, CipAdapter,   // EtherNet/IP: ODVA's originator and target of explicit messaging
  Count_,
};
std::string_view asset_role_name(AssetRole r);  // "modbus_client", ...

// The identity fields, each kept from the latest identification that gave it (so a Modbus basic read and
// a later regular read add up).
enum class IdentityField : uint8_t { Vendor, Model, ProductCode, Firmware, Serial, DeviceType, Count_ };

struct Asset {
  struct Identity {
    uint64_t ts_ns = 0;
    Protocol source = Protocol::Modbus;  // the identification it came from
    std::string value;                   // empty: not known
  };

  IpAddr ip;
  uint64_t first_seen_ns = 0;
  uint64_t last_seen_ns = 0;
  std::array<uint8_t, 6> mac{};        // the latest source MAC of its packets (a router's, if it is remote)
  uint64_t mac_ts_ns = 0;
  bool has_mac = false;
  uint16_t roles = 0;                  // bit per AssetRole
  uint32_t protocols = 0;              // bit per dissector module (conn.log service order), as Conn::services
  std::vector<Identity> identity;      // empty, or one per IdentityField

  bool has_role(AssetRole r) const { return roles & (1u << static_cast<unsigned>(r)); }
  std::string_view field(IdentityField f) const {
    return identity.empty() ? std::string_view() : std::string_view(identity[static_cast<size_t>(f)].value);
  }
};

struct AssetInventoryConfig {
  // Addresses kept per worker; further new addresses are not tracked (one weird asset_inventory_full per
  // worker, and refused() counts them), so a scan of a /8 cannot grow the sensor's memory.
  uint32_t max_assets = 65536;
};

class AssetInventory {
 public:
  // `weirds` (may be null) hears asset_inventory_full.
  explicit AssetInventory(const AssetInventoryConfig& cfg = {}, WeirdSink* weirds = nullptr);

  // ---- pipeline events (the worker's thread) ----
  // A packet that is the first its sender sent on a connection: its source address is a device, with
  // that source MAC.
  void first_packet(const DecodedPacket& p);
  // Dissector module `module` (dissector_modules() order) confirmed c's protocol: the protocol for both
  // ends and a role for each end that has sent packets.
  void service_confirmed(const Conn& c, unsigned module, uint64_t ts_ns);
  // c ends, or writes an interim record: each end that sent packets was seen until c's last packet, with
  // the roles of c's confirmed services.
  void flow_seen(const Conn& c);
  void identity(const DeviceIdentity& id);

  // ---- the same, by address (tests, and the events above) ----
  // `mac` may be null. Unspecified, broadcast and multicast addresses are not assets.
  void seen(const IpAddr& ip, uint64_t ts_ns, const uint8_t* mac = nullptr);
  void add_roles(const IpAddr& ip, uint64_t ts_ns, uint16_t roles, uint32_t protocols);

  size_t size() const { return index_.size(); }
  uint64_t refused() const { return refused_; }

  // A copy of every record, sorted by address. At the end of a run the run loop takes it after the
  // workers have stopped; every sensor.inventory_interval_s each worker takes it on its own thread and
  // hands it over (sensor/capture_loop.cpp), so that merge() and write_assets() never read an inventory
  // that is being written. Snapshots are cumulative (first_seen stays).
  std::vector<Asset> snapshot() const;

  // The workers' snapshots as one: per address the earliest first_seen, the latest last_seen, the union
  // of roles and protocols, the latest MAC and each identity field's latest value (ties broken by the
  // values, so the result does not depend on the order of `parts`). Sorted by address.
  static std::vector<Asset> merge(std::span<const std::vector<Asset>> parts);
  // Folds `from` (the same address) into `into` by those rules.
  static void merge_into(Asset& into, const Asset& from);

 private:
  struct IpHash {
    size_t operator()(const IpAddr& a) const;
  };
  Asset* find_or_add(const IpAddr& ip, uint64_t ts_ns);

  AssetInventoryConfig cfg_;
  WeirdSink* weirds_;
  std::vector<Asset> assets_;
  std::unordered_map<IpAddr, uint32_t, IpHash> index_;
  uint64_t refused_ = 0;
};

// roles: the roles of a confirmed module's client (is_orig) or server end; 0 for modules without roles.
uint16_t asset_roles_of(unsigned module, bool is_orig);

// assets.log (docs/LOGS.md): one record per asset, ts = first_seen, or ts[i] for assets[i] when `ts` is
// given (an address's later records: when the change was written, sensor/inventory_writer.hpp).
const LogSchema& assets_schema();
// The zone of an address by the site model, empty for none.
using AssetZoneOf = std::function<std::string_view(const IpAddr&)>;
void write_assets(LogSink& sink, LogId log, std::span<const Asset> assets, const AssetZoneOf& zone_of = {},
                  std::span<const uint64_t> ts = {});

}  // namespace ots
