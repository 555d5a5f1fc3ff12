// The attestation stage: AQAT datagrams and "this address takes part in OT traffic" facts, picked up by
// the workers, meet in packet-time order; one DeviceRegistry verifies them; the stage writes attest.log
// and raises the `Attest::*` notices, `Attest::Unattested_Device` included (issue 6).
//
// Why one stage and not per-worker registries: a device's hash chain, its clones (one device_id from two
// addresses) and the binding of an identity to an address span flows, and flows of one device can be on
// different workers. Datagrams are rare next to the packet path (a few per device per minute), so copying
// them to the stage costs little. Built on OrderedStage: the same ticks with 1 or N workers, so the same
// attest.log and notices.
//
// Threads (issue 6: "the crypto must not stall the packet path"). The run loop's thread takes each tick
// once every worker has closed it (OrderedStage: gather and sort, no crypto) and pushes it, with the
// tick's packet time and a reload due at it, into a bounded queue (sensor/stage_queue.hpp); the stage's
// own thread takes the ticks in order and does the rest: Ed25519 and BLAKE2b, the registry, the time-driven
// verdicts (stale, unknown_device, unattested_device: at each tick's packet time, as before), attest.log,
// its notices (its outbox of the notice stage, closed at every tick as a worker's) and the SBOM
// inventory's snapshots (the after-tick hook). Everything the verification touches is that thread's
// alone; the queue is the only hand-off. Ticks wake the thread in batches (every kPublishEvery ticks, at
// once for a tick with events or a reload, and whenever the loop waits for input), so an idle stage is
// not woken for every burst. Full queue (the thread is queue_ticks ticks behind): the loop waits, and so
// in turn do the workers and the capture; nothing is dropped, and the waits are counted (queue_stats(),
// --stats-json). finish() hands over the rest and the end of input, then joins the thread.
// queue_ticks 0 keeps the stage on the loop's thread (sensor.attest_queue_ticks: 0, for debugging).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "attest_tap/device_registry.hpp"
#include "conduits/site_policy.hpp"
#include "inventory/sbom_db.hpp"
#include "output/log_manager.hpp"
#include "sensor/notice_stage.hpp"
#include "sensor/ordered_stage.hpp"
#include "sensor/stage_queue.hpp"

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
  // How far the loop may run ahead of the stage's thread, in ticks (one per burst of packets): 1,024
  // ticks are some 32,000 packets; a tick's events are bounded by its packets (one datagram or two
  // addresses each), so is the queue's memory.
  static constexpr size_t kDefaultQueueTicks = 1024;
  // Empty ticks are handed over in batches of this many (sooner when the loop waits for input).
  static constexpr size_t kPublishEvery = 64;

  // Notices go into `notices` (an outbox of the run's NoticeStage that this stage closes at every tick
  // it consumes, as a worker would). `policy` (may be null) places addresses in zones: which need a
  // hardware root, which need attestation, and the notices' zone columns. Writes through a sink of its
  // own. A `config` without the section (present = false) verifies nothing until a reload brings one.
  // `queue_ticks`: the hand-off queue's capacity; 0: no thread, the stage runs on the caller's.
  AttestStage(size_t workers, attest::AttestationConfig config, const SitePolicy* policy, LogManager& logs,
              LogId attest_log, NoticeOutbox& notices, size_t queue_ticks = kDefaultQueueTicks);
  ~AttestStage();  // finish() not called (an exception at start-up): the thread is stopped and joined
  AttestStage(const AttestStage&) = delete;
  AttestStage& operator=(const AttestStage&) = delete;

  AttestOutbox& outbox(size_t worker) { return stage_.outbox(worker); }
  // The configuration at start-up: for the workers, before the first tick.
  uint16_t port() const { return start_port_; }
  bool enabled() const { return start_enabled_; }

  // Called after every tick the stage consumed, with its packet time, on the stage's thread (the periodic
  // SBOM inventory, sensor/sbom_writer.hpp, snapshots sbom_records() there); and with the last one again
  // when the loop waits for input and nothing is queued (a periodic write that found the writer busy is
  // retried while the input pauses). Set before the first tick.
  void set_after_tick(std::function<void(uint64_t now_ns)> f) { after_tick_ = std::move(f); }

  // The run loop's thread from here to finish().
  //
  // SIGHUP: the reloaded model's attestation section and zones apply after the workers' tick `tick`
  // (the tick at which they switched too), so attest.log does not depend on -w. Kept across the switch:
  // devices, hash chains, sources and bindings (DeviceRegistry::reconfigure). A section that disappears
  // stops verification and drops that state, undecided addresses included: records missed while it is
  // off would otherwise read as deleted ones, and silence as staleness, when a later reload brings it
  // back, which then starts as at start-up. One switch at a time (the run loop waits for ticks_done()).
  void switch_config(uint64_t tick, attest::AttestationConfig config, const SitePolicy* policy);
  // Ticks the stage's thread has consumed (a reload due at one of them is applied): any thread.
  uint64_t ticks_done() const { return ticks_done_.load(std::memory_order_acquire); }

  void tick(uint64_t now_ns) { stage_.tick(now_ns); }
  // Hands over the ticks every worker has finished (never waits for a worker; waits for room in a full
  // queue). `idle`: the loop is about to wait for input: the stage's thread gets everything now.
  void poll(bool idle = false);
  // Every worker has finished: the rest, then end of input (held records, pending addresses); the stage's
  // thread ends and is joined. An exception the thread met is rethrown here.
  void finish();

  // After finish() (or on the stage's thread, through the after-tick hook).
  const attest::DeviceRegistry& registry() const { return v_.registry(); }
  // The registry's devices as records of the SBOM inventory (inventory/sbom_db.hpp), each address placed in
  // its zone; a device's components unless `omit` (if given) leaves them out (sensor/sbom_writer.hpp writes
  // the records, periodically and at the end).
  std::vector<sbom::SbomDeviceRecord> sbom_records(const sbom::SbomOmitComponents& omit = {}) const {
    return v_.sbom_records(omit);
  }
  bool section_in_force() const { return v_.registry().config().present; }
  const Stats& stats() const { return v_.stats(); }
  // Any thread.
  StageQueueStats queue_stats() const;
  double cpu_seconds() const { return thread_cpu_s_; }  // the stage thread's CPU time, after finish(); -1: no thread

 private:
  // A reload due at a tick.
  struct Switch {
    uint64_t at = 0;
    attest::AttestationConfig config;
    const SitePolicy* policy = nullptr;
  };
  // What the loop hands to the stage's thread.
  struct Handoff {
    enum class Kind : uint8_t { Tick, Final, Retry } kind = Kind::Tick;  // Final: a tick closed at the end
    uint64_t tick_ns = 0;
    std::vector<AttestEvent> events;
    std::optional<Switch> then;  // applied after the tick
  };

  // The verification: the stage's thread's state (the caller's with queue_ticks 0).
  class Verifier {
   public:
    Verifier(attest::AttestationConfig config, const SitePolicy* policy, LogManager& logs, LogId attest_log,
             NoticeOutbox& notices);
    void consume(std::span<AttestEvent> events, const uint64_t* tick_ns);
    void apply_switch(Switch s);
    void end_of_input();
    const attest::DeviceRegistry& registry() const { return *registry_; }
    std::vector<sbom::SbomDeviceRecord> sbom_records(const sbom::SbomOmitComponents& omit) const;
    const Stats& stats() const { return stats_; }
    LogSink& sink() { return *sink_; }
    uint64_t now_ns() const { return now_ns_; }

   private:
    struct Pending {
      uint64_t first_ns = 0;  // first packet of the address's first OT connection
      Uid uid;
      ConnId id;
    };
    // Decides every pending address whose grace ended before `now_ns` (all of them when `all`).
    void decide_due(uint64_t now_ns, bool all);
    void decide(const IpAddr& addr, const Pending& p, uint64_t now_ns);
    // `conn`: the connection of an `unattested_device` record (null: the datagram's UDP flow).
    void emit(const attest::VerdictRecord& r, const ConnId* conn = nullptr);
    void notice(const attest::VerdictRecord& r, attest::Verdict v, std::string_view detail, const ConnId* conn);
    const Zone* zone_of(const IpAddr& a) const;
    std::string_view zone_name(const IpAddr& a) const;

    std::unique_ptr<attest::DeviceRegistry> registry_;
    const SitePolicy* policy_;
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

  // The loop's side.
  void take(std::span<AttestEvent> events, const uint64_t* tick_ns);
  // The stage's side: one tick (and the reload due after it).
  void run_tick(std::span<AttestEvent> events, const uint64_t* tick_ns, std::optional<Switch>& then);
  void run();  // the stage's thread

  OrderedStage<AttestEvent, AttestEventLess> stage_;
  const uint16_t start_port_;
  const bool start_enabled_;
  Verifier v_;
  std::function<void(uint64_t)> after_tick_;
  uint64_t last_tick_ns_ = 0;  // the stage's side: the last tick's packet time, for the after-tick hook
  bool ticked_ = false;        // the stage's side: a tick was consumed
  std::atomic<uint64_t> ticks_done_{0};
  // The loop's side: the reload waiting for its tick, the ticks taken from `stage_`, and how many of them
  // were pushed since the last publish.
  std::optional<Switch> switch_;
  uint64_t ticks_taken_ = 0;
  size_t unpublished_ = 0;
  std::unique_ptr<StageQueue<Handoff>> queue_;  // null: no thread
  std::thread thread_;
  std::exception_ptr failure_;  // the thread's, read after join
  double thread_cpu_s_ = -1;    // the thread's, read after join
};

}  // namespace ots
