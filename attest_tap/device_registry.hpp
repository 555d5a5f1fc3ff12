// The attestation verifier's state: every device seen (its IDENTITY, hash chain, sources, SBOM), the
// records held for devices whose IDENTITY has not come yet, and the time-driven verdicts (`stale`,
// `unknown_device`). Plain structs in, verdict records out: no logging, no I/O, no global state, no
// dependency on the zone model (the caller says whether the source's zone needs a hardware root).
//
// Deterministic: the records depend only on the sequence of calls. Feed datagrams in packet-time order
// (the pipeline's central time-ordered stage does); process() first runs the time events due before the
// datagram, so how often advance() is called changes nothing. Single-threaded: one registry per run.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "attest_tap/aqat_parser.hpp"
#include "attest_tap/attestation_config.hpp"
#include "attest_tap/chain.hpp"
#include "attest_tap/crypto.hpp"
#include "attest_tap/cyclonedx.hpp"
#include "attest_tap/device_id.hpp"
#include "attest_tap/sbom_assembly.hpp"
#include "attest_tap/verdict.hpp"
#include "capture/net_types.hpp"

namespace ots::attest {

// Memory bounds. Each tracked device costs about 41 KiB once it sends TELEMETRY (the 1,024-record ring)
// plus its verified SBOM's components.
struct RegistryLimits {
  uint32_t max_devices = 4096;           // beyond it a new device_id gets `device_limit` and is not tracked
  uint64_t hold_ns = 120'000'000'000ull; // how long TELEMETRY/SBOM of an unknown device_id wait for its IDENTITY
  uint32_t max_held_per_device = 64;     // beyond either, a record of an unknown device is `unknown_device` at once
  uint32_t max_held_total = 4096;
  uint32_t max_sources_per_device = 8;   // (address, MAC) pairs remembered per device for clones and bindings
  uint32_t sbom_assemblies_per_device = 2;
  uint64_t sbom_assembly_budget_bytes = 64ull << 20;  // chunk data of all incomplete SBOMs
};

// One UDP datagram to the AQAT port, as the packet path saw it.
struct DatagramMeta {
  uint64_t ts_ns = 0;
  Uid uid;  // the UDP connection's, copied into the records
  IpAddr src, dst;
  uint16_t src_port = 0, dst_port = 0;
  std::array<uint8_t, 6> src_mac{};
  bool has_src_mac = false;
  bool src_requires_hardware_root = false;  // the source address's zone has require_hardware_root
};

// What the registry knows of a device: for the SBOM/identity inventory and for notices.
struct DeviceInfo {
  DeviceId device_id;
  Ed25519PublicKey public_key;
  // From the latest IDENTITY whose datagram signature verified (accepted or not).
  std::string name;
  std::string fw_version;
  RootKind root_kind = RootKind::Software;
  uint64_t not_before = 0, not_after = 0;  // unix seconds
  std::string ca_name;  // the trust anchor's name; empty when untrusted
  // Attested: its latest IDENTITY was accepted. Otherwise identity_verdict says why not (untrusted_ca,
  // bad_certificate, certificate_expired or not_hardware_rooted).
  bool attested = false;
  Verdict identity_verdict = Verdict::Ok;
  uint64_t first_seen_ns = 0;
  uint64_t identity_ns = 0;        // latest IDENTITY
  uint64_t last_telemetry_ns = 0;  // latest fresh (not replayed) TELEMETRY; 0: none yet
  uint64_t last_attested_ns = 0;   // latest fresh TELEMETRY while attested
  uint64_t last_seq = 0;           // the chain's head
  // Source of the latest valid record.
  IpAddr address;
  std::array<uint8_t, 6> mac{};
  bool has_mac = false;
  // From the latest fresh TELEMETRY.
  Blake2b256 fw_digest, config_digest, sbom_digest;
  uint16_t status = 0;
  // The latest SBOM whose reassembled digest verified and that parsed as CycloneDX.
  bool has_sbom = false;
  Blake2b256 verified_sbom;
  uint64_t sbom_ns = 0;
  std::vector<SbomComponent> components;
};

struct RegistryStats {
  uint64_t datagrams = 0;
  uint64_t devices = 0;
  uint64_t devices_refused = 0;   // `device_limit` verdicts
  uint64_t held = 0;              // held now
  uint64_t held_refused = 0;      // `unknown_device` at once because the hold was full
  uint64_t sboms_verified = 0;
  uint64_t sbom_assemblies_evicted = 0;
  uint64_t sbom_incomplete_at_end = 0;
  std::array<uint64_t, kVerdictCount> verdicts{};  // records by verdict (also-findings not counted)
};

// An identity bound to an address: a device with an accepted IDENTITY and at least one valid TELEMETRY
// (fresh, not a clone's) both sent from that address.
struct Binding {
  DeviceId device_id;
  std::string_view name;
  uint64_t since_ns = 0;  // when the second of the two arrived
};

class DeviceRegistry {
 public:
  explicit DeviceRegistry(AttestationConfig config, RegistryLimits limits = {});

  // A reloaded attestation section (SIGHUP): its trust anchors, golden firmware, port and times apply to
  // the datagrams from now on; devices, hash chains, sources and bindings stay. Each device's next
  // IDENTITY is checked in full, as the repeat cache holds the old trust anchors' verdict; a binding made
  // under an anchor that is gone lasts until then. Stale deadlines already set keep their time.
  void reconfigure(AttestationConfig config);

  // One datagram: appends its record to `out` (and, before it, the time events due by meta.ts_ns; after
  // it, for an IDENTITY that makes a device known, the verdicts of that device's held records).
  void process(std::span<const uint8_t> payload, const DatagramMeta& meta, std::vector<VerdictRecord>& out);
  void process(const ParseResult& parsed, const DatagramMeta& meta, std::vector<VerdictRecord>& out);

  // Packet time reached now_ns: appends the `stale` and expired held `unknown_device` records due, in
  // order of their time.
  void advance(uint64_t now_ns, std::vector<VerdictRecord>& out);
  // End of input at now_ns: advance(now_ns), then every record still held is `unknown_device`.
  void finish(uint64_t now_ns, std::vector<VerdictRecord>& out);

  // The identity bound to `addr` now (for `unattested_device`), or nullopt. Ask after feeding every
  // datagram up to the time in question.
  std::optional<Binding> binding(const IpAddr& addr) const;
  bool identity_bound(const IpAddr& addr) const { return binding(addr).has_value(); }

  const DeviceInfo* device(const DeviceId& id) const;
  size_t device_count() const { return devices_.size(); }
  const DeviceInfo& device_at(size_t i) const { return devices_[i].info; }  // in order of first IDENTITY
  // The verified SBOM components of an attested device; nullptr for an unknown or unattested device or one
  // without a verified SBOM.
  const std::vector<SbomComponent>* sbom_components(const DeviceId& id) const;

  const RegistryStats& stats() const { return stats_; }
  const AttestationConfig& config() const { return config_; }

 private:
  struct Source {
    IpAddr addr;
    std::array<uint8_t, 6> mac{};
    bool has_mac = false;
    uint64_t last_ns = 0;      // latest valid record from here
    uint64_t identity_ns = 0;  // accepted IDENTITY from here (0: none)
    uint64_t telemetry_ns = 0; // fresh, non-clone TELEMETRY from here (0: none)
  };
  struct Device {
    DeviceInfo info;
    Blake2b256 identity_digest;           // the last IDENTITY datagram whose signatures were checked...
    Finding identity_static;              // ...and its finding that does not depend on time or address
    bool identity_cached = false;
    TelemetryChain chain;
    std::vector<Source> sources;
    uint64_t stale_deadline = 0;  // in stale_queue_ when non-zero
    bool stale_armed = false;     // by an IDENTITY or a TELEMETRY at least once
  };
  struct Held {
    std::vector<uint8_t> datagram;
    DatagramMeta meta;
    DeviceId device_id;
  };

  // identity_check.cpp
  void on_identity(const Message& m, const IdentityView& v, const DatagramMeta& meta, std::vector<VerdictRecord>& out);
  // telemetry_check.cpp
  void on_telemetry(Device& d, const Message& m, const TelemetryView& v, const DatagramMeta& meta,
                    uint64_t decided_ns, std::vector<VerdictRecord>& out);
  // sbom_check.cpp
  void on_sbom(Device& d, const Message& m, const SbomView& v, const DatagramMeta& meta, uint64_t decided_ns,
               std::vector<VerdictRecord>& out);
  // held_records.cpp
  void hold(const Message& m, const DeviceId& id, const DatagramMeta& meta, std::vector<VerdictRecord>& out);
  void release_held(Device& d, uint64_t decided_ns, std::vector<VerdictRecord>& out);
  void expire_held(std::deque<Held>::iterator it, uint64_t decided_ns, std::string_view why,
                   std::vector<VerdictRecord>& out);
  // device_registry.cpp
  void on_device_record(Device& d, const Message& m, const DatagramMeta& meta, uint64_t decided_ns,
                        std::vector<VerdictRecord>& out);
  Device* find(const DeviceId& id);
  // The datagram signature with the device's IDENTITY key; when it fails, emits `r` as bad_signature.
  bool signed_by_device(const Device& d, const Message& m, VerdictRecord& r, std::vector<VerdictRecord>& out);
  // Records a valid record's source; adds `identity_clone` to `findings` when another source sent valid
  // records within clone_window_ns. Returns the source.
  Source& note_source(Device& d, const DatagramMeta& meta, std::vector<Finding>& findings);
  void set_stale_deadline(Device& d, uint64_t deadline_ns);
  void emit(VerdictRecord r, std::vector<Finding> findings, std::vector<VerdictRecord>& out);
  VerdictRecord record_for(const DatagramMeta& meta, MessageType type, uint64_t decided_ns) const;
  static void describe_device(const Device& d, VerdictRecord& r);

  AttestationConfig config_;
  RegistryLimits limits_;
  std::vector<Device> devices_;                 // by index, in order of registration
  std::map<DeviceId, uint32_t> index_;
  std::map<IpAddr, std::vector<uint32_t>> by_address_;  // devices with a remembered source at the address
  std::set<std::pair<uint64_t, uint32_t>> stale_queue_;  // (deadline, device)
  std::deque<Held> held_;                       // in arrival order
  std::map<DeviceId, uint32_t> held_count_;
  SbomAssembler sboms_;
  uint64_t now_ns_ = 0;
  RegistryStats stats_;
};

}  // namespace ots::attest
