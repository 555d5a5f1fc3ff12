// The attestation stage: AQAT datagrams and "this address takes part in OT traffic" facts, picked up by
// the workers, meet on one thread in packet-time order; one DeviceRegistry verifies them; the stage writes
// attest.log and raises the `Attest::*` notices, `Attest::Unattested_Device` included (issue 6).
//
// Why one stage and not per-worker registries: a device's hash chain, its clones (one device_id from two
// addresses) and the binding of an identity to an address span flows, and flows of one device can be on
// different workers. Datagrams are rare next to the packet path (a few per device per minute), so copying
// them to this thread costs little; the crypto runs here, off the workers, so it never stalls the packet
// path. Built on OrderedStage: the same ticks with 1 or N workers, so the same attest.log and notices.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "attest_tap/device_registry.hpp"
#include "conduits/site_policy.hpp"
#include "inventory/sbom_db.hpp"
#include "output/log_manager.hpp"
#include "sensor/notice_stage.hpp"
#include "sensor/ordered_stage.hpp"

namespace ots {

struct AttestEvent {
  enum class Kind : uint8_t { OtPeer, Datagram };
  Kind kind = Kind::Datagram;
  uint64_t seq = 0;  // the worker's own counter: wire order among one connection's events (same worker)
  // Datagram: the UDP datagram to the AQAT port.
  attest::DatagramMeta meta;        // meta.ts_ns and meta.uid are the event's time and connection
  std::vector<uint8_t> payload;
  // OtPeer: `addr`, in a zone that requires attestation, took part in an OT connection (id, meta.uid)
  // whose first packet was at meta.ts_ns.
  IpAddr addr;
  ConnId id;
};

struct AttestEventLess {
  bool operator()(const AttestEvent& a, const AttestEvent& b) const;
};

using AttestOutbox = StageOutbox<AttestEvent>;

// What a worker needs to feed the stage.
struct AttestTap {
  AttestOutbox* outbox = nullptr;  // null: no attestation stage (no site model), nothing to pick up
  uint16_t port = 0;               // UDP destination port of AQAT datagrams
  bool enabled = false;            // the attestation section is in force: feed the stage
};

const LogSchema& attest_schema();

class AttestStage {
 public:
  struct Stats {
    uint64_t datagrams = 0;
    uint64_t ot_addresses = 0;  // addresses checked for an identity binding
    uint64_t unattested = 0;
    uint64_t records = 0;       // attest.log records
    uint64_t notices = 0;       // raised (before suppression)
  };

  // Notices go into `notices` (an outbox of the run's NoticeStage that this stage closes at every tick
  // it consumes, as a worker would). `policy` (may be null) places addresses in zones: which need a
  // hardware root, which need attestation, and the notices' zone columns. Writes through a sink of its
  // own; used on the run loop's thread. A `config` without the section (present = false) verifies
  // nothing until a reload brings one.
  AttestStage(size_t workers, attest::AttestationConfig config, const SitePolicy* policy, LogManager& logs,
              LogId attest_log, NoticeOutbox& notices);
  ~AttestStage();
  AttestStage(const AttestStage&) = delete;
  AttestStage& operator=(const AttestStage&) = delete;

  AttestOutbox& outbox(size_t worker) { return stage_.outbox(worker); }
  uint16_t port() const { return registry_->config().port; }
  bool enabled() const { return registry_->config().present; }

  // SIGHUP: the reloaded model's attestation section and zones apply after the workers' tick `tick`
  // (the tick at which they switched too), so attest.log does not depend on -w. Kept across the switch:
  // devices, hash chains, sources and bindings (DeviceRegistry::reconfigure). A section that disappears
  // stops verification and drops that state, undecided addresses included: records missed while it is
  // off would otherwise read as deleted ones, and silence as staleness, when a later reload brings it
  // back, which then starts as at start-up. One switch at a time (the run loop waits for ticks_done()).
  void switch_config(uint64_t tick, attest::AttestationConfig config, const SitePolicy* policy);
  // Ticks consumed so far.
  uint64_t ticks_done() const { return ticks_done_; }

  void tick(uint64_t now_ns) { stage_.tick(now_ns); }
  void poll();
  // Every worker has finished: the rest, then end of input (held records, pending addresses).
  void finish();

  const attest::DeviceRegistry& registry() const { return *registry_; }
  // The registry's devices as records of the SBOM inventory (inventory/sbom_db.hpp), each address placed in
  // its zone; a device's components unless `omit` (if given) leaves them out (sensor/sbom_writer.hpp writes
  // the records, periodically and at the end).
  std::vector<sbom::SbomDeviceRecord> sbom_records(const sbom::SbomOmitComponents& omit = {}) const;
  const Stats& stats() const { return stats_; }

 private:
  struct Pending {
    uint64_t first_ns = 0;  // first packet of the address's first OT connection
    Uid uid;
    ConnId id;
  };

  void consume(std::span<AttestEvent> events, const uint64_t* tick_ns);
  void apply_switch();
  // Decides every pending address whose grace ended before `now_ns` (all of them when `all`).
  void decide_due(uint64_t now_ns, bool all);
  void decide(const IpAddr& addr, const Pending& p, uint64_t now_ns);
  // `conn`: the connection of an `unattested_device` record (null: the datagram's UDP flow).
  void emit(const attest::VerdictRecord& r, const ConnId* conn = nullptr);
  void notice(const attest::VerdictRecord& r, attest::Verdict v, std::string_view detail, const ConnId* conn);
  const Zone* zone_of(const IpAddr& a) const;
  std::string_view zone_name(const IpAddr& a) const;

  OrderedStage<AttestEvent, AttestEventLess> stage_;
  std::unique_ptr<attest::DeviceRegistry> registry_;
  const SitePolicy* policy_;
  // A reload waiting for the stage to consume tick `at`.
  struct Switch {
    uint64_t at = 0;
    attest::AttestationConfig config;
    const SitePolicy* policy = nullptr;
  };
  std::optional<Switch> switch_;
  uint64_t ticks_done_ = 0;
  std::unique_ptr<LogSink> sink_;
  LogId log_;
  NoticeOutbox& notices_;
  std::vector<attest::VerdictRecord> out_;
  std::map<IpAddr, Pending> pending_;
  std::multimap<uint64_t, IpAddr> deadlines_;  // first_ns + grace → address (entries may be stale)
  std::set<IpAddr> decided_;
  uint64_t now_ns_ = 0;
  Stats stats_;
};

}  // namespace ots
