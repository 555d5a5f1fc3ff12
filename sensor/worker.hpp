// One worker: decoder, flow table, analyzers and log sink of its own (shared-nothing). Runs on one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "capture/decode.hpp"
#include "capture/flow.hpp"
#include "capture/packet.hpp"
#include "dissectors/analyzer.hpp"
#include "inventory/asset_inventory.hpp"
#include "output/log_manager.hpp"
#include "output/notice.hpp"
#include "sensor/attest_stage.hpp"
#include "sensor/core_logs.hpp"
#include "sensor/notice_stage.hpp"
#include "sensor/pipeline_config.hpp"

namespace ots::rules {
class RuleDatabase;
class RuleMatcher;
enum class RuleProtocol : uint8_t;
struct FlowZones;
}  // namespace ots::rules

namespace ots {

class SitePolicy;
struct FlowPolicy;

// LogIds of every log, registered once with the LogManager before workers start.
struct PipelineLogs {
  LogId conn = 0, conn_long = 0, weird = 0, notice = 0;
  LogId assets = 0;  // written by the run loop from the workers' merged inventories
  LogId attest = 0;  // written by the attestation stage
  // Per dissector module (registry order): its logs' ids, in DissectorModule::logs order.
  std::vector<std::vector<LogId>> modules;

  static PipelineLogs register_all(LogManager& logs);
};

struct WorkerStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;          // captured bytes
  uint64_t weirds = 0;         // seen (every weird, logged or not)
  uint64_t weirds_logged = 0;  // written to weird.log (sensor/weird_filter.hpp)
  // Per weird name, since the start (filled by Worker::stats(), not on the packet path).
  std::vector<WeirdFilter::NameCount> weird_names;
  uint64_t operations = 0;
  uint64_t notices = 0;          // raised (before suppression)
  uint64_t flows_peak = 0;
  uint64_t flow_memory_peak = 0;
  // stats.log: connections tracked now, and created since the start, by transport (ICMP counts ICMPv6).
  uint64_t active_tcp = 0, active_udp = 0, active_icmp = 0;
  uint64_t tcp_conns = 0, udp_conns = 0, icmp_conns = 0;
  Decoder::Stats decode;
  FlowTable::Stats flows;
  rules::StreamStats rule_streams;  // stream rules (docs/RULES.md), since the start, across reloads
  // CPU time of the worker's own thread at the end of the run (user + system); negative when the worker
  // shared the reading thread, so its time cannot be told apart.
  double thread_cpu_s = -1;
};

class Worker final : private FlowEvents, private WeirdSink, private OperationSink, private IdentitySink {
 public:
  // `policy` (may be null: no zone model) is shared by every worker and immutable while they run.
  // Notices go, unsuppressed, to `notices` (this worker's outbox of the run's NoticeStage).
  // `rules` (may be null) is shared too; the worker matches with a Hyperscan scratch of its own.
  Worker(const PipelineConfig& cfg, LogManager& logs, const PipelineLogs& ids, const SitePolicy* policy,
         NoticeOutbox& notices, const rules::RuleDatabase* rules = nullptr, AttestTap attest = {});
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Decodes and tracks a batch of packets (in capture order).
  void process(const PacketView* pkts, size_t n);
  // The same, for packets the dispatcher decoded (sensor/ring_records.hpp): a decoded packet, one that
  // decoded to nothing to track (counted only), a weird of the decoding, and the dispatcher's decoder
  // counters for this worker (which stats() then reports instead of the worker's unused decoder).
  void process_decoded(const DecodedPacket& p, uint32_t caplen);
  void count(uint32_t caplen) {
    ++stats_.packets;
    stats_.bytes += caplen;
  }
  void decode_weird(const WeirdEvent& ev) { weird(ev); }
  void set_decode_stats(const Decoder::Stats& s) {
    decoded_elsewhere_ = true;
    decode_stats_ = s;
  }
  const DecodeConfig& decode_config() const { return decode_config_; }
  // Packet time reached now_ns across the whole input: expire flows and fragments, and close the tick's
  // batch of notices. Called at the same points of the input whatever the number of workers, which
  // keeps the logs identical.
  void advance(uint64_t now_ns);
  // End of input: end every connection, close the last batch of notices and hand the logs over.
  void finish();
  // Hands buffered log records to the manager if it asked for them.
  void maybe_handoff();
  // A reloaded site model (SIGHUP), called on the worker's thread at a tick boundary: every tracked flow
  // is placed again in the new model's zones and conduits (a verdict that became a violation raises its
  // notice at `now_ns`), and new flows are classified by it. The old model may be freed once every
  // worker has returned from this.
  void set_policy(const SitePolicy* policy, uint64_t now_ns);
  // A reloaded rule set (SIGHUP; null: none), at the same tick boundary: `matcher` is this worker's for
  // it, with a Hyperscan scratch of its own that the run loop allocated (so a failure refuses the reload
  // instead of stopping a worker); the old matcher and its scratch are freed here. Tracked UDP flows of
  // port-only protocols follow the new rules. The streams of stream rules are closed here; the new
  // rules' streams open on the next bytes.
  void set_rules(const rules::RuleDatabase* rules, std::unique_ptr<rules::RuleMatcher> matcher);
  // A reloaded attestation section: whether AQAT datagrams and OT participation go to the stage, and
  // the AQAT port.
  void set_attestation(bool on, uint16_t port);

  WorkerStats stats() const;
  // The devices this worker saw (read it once the worker has stopped; sensor/run.cpp merges them).
  const AssetInventory& assets() const { return assets_; }

 private:
  // FlowEvents
  void on_new_flow(Conn& c, const DecodedPacket& first) override;
  void on_packet(Conn& c, bool is_orig, const DecodedPacket& p) override;
  void on_payload(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) override;
  void on_gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) override;
  void on_interim(Conn& c, uint64_t now_ns) override;
  void on_flow_end(Conn& c, FlowEnd why) override;
  // WeirdSink
  void weird(const WeirdEvent& ev) override;
  RepeatHint weird_hinted(const WeirdEvent& ev) override;
  bool weird_repeated(const RepeatHint& h, std::string_view name, uint64_t ts_ns) override {
    if (!weird_filter_.repeated(h, name, ts_ns)) return false;
    ++stats_.weirds;
    return true;
  }
  // OperationSink
  void on_operation(const OperationEvent& ev) override;
  // IdentitySink
  void on_identity(const DeviceIdentity& id) override;

  // on_payload but its common case (not inline: see on_payload).
  [[gnu::noinline]] void on_payload_general(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns);
  [[gnu::noinline]] bool settle(Conn& c, uint8_t i, uint64_t ts_ns);
  void drop_detached(Conn& c);
  void refresh_consumers();
  void track_peaks();
  AppState& app_of(Conn& c);
  // Zone/conduit policy: a notice when a flow's verdict is (or became) a violation.
  void flow_notice(const Conn& c, const FlowPolicy& fp, uint64_t ts_ns);
  void raise(Notice&& n);
  // on_packet for the first packet of an end (not inline: see on_packet).
  [[gnu::noinline]] void on_first_packet(Conn& c, const DecodedPacket& p);
  bool is_aqat(const DecodedPacket& p) const {
    return p.l4 == Transport::Udp && p.dport == aqat_port_ && p.payload_len;
  }
  [[gnu::noinline]] void aqat_datagram(Conn& c, const DecodedPacket& p);  // a UDP datagram to the AQAT port
  void attest_datagram(const Conn& c, const DecodedPacket& p);
  void attest_ot_peers(const Conn& c);
  ConnZones zones_of(const Conn& c) const;

  const PipelineLogs& ids_;
  const SitePolicy* policy_;  // null or disabled: no zone model
  std::unique_ptr<LogSink> sink_;
  UidTextCache weird_uid_;  // weird.log rows' uid text, per worker (no shared state)
  WeirdFilter weird_filter_;
  NoticeOutbox& notices_;
  AttestTap attest_;
  bool attesting_;      // feed the attestation stage (it exists and its section is in force)
  uint16_t aqat_port_;  // AQAT datagrams go to this UDP port (the attestation section's, or the default)
  uint64_t attest_seq_ = 0;
  DecodeConfig decode_config_;
  Decoder decoder_;
  bool decoded_elsewhere_ = false;  // the dispatcher decodes: its counters, not decoder_'s
  Decoder::Stats decode_stats_;
  std::unique_ptr<FlowTable> flows_;
  std::vector<AnalyzerContext> module_ctx_;  // per module
  WorkerStats stats_;
  DecodedPacket pkt_;
  AssetInventory assets_;
  // Detection rules (issue 9): hits are Rule::Match notices; thresholds apply in the notice stage.
  const rules::RuleDatabase* rules_ = nullptr;
  std::unique_ptr<rules::RuleMatcher> matcher_;
  void match_rules(const OperationEvent& ev);
  void match_rules_datagram(const Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns);
  // Stream rules: the flow's bytes to its streams, gaps, and their end.
  void match_rules_stream(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns);
  void close_rule_streams(Conn& c, rules::RuleProtocol p, uint64_t ts_ns, bool reload = false);
  void raise_stream_hits(const Conn& c, std::span<const rules::StreamHit> hits, const rules::FlowZones& z,
                         uint64_t ts_ns);
  void set_notice_zones(Notice& n, const rules::FlowZones& z) const;
  bool streamed(const Conn& c) const;  // a TCP flow with an analyzer of a protocol that has stream rules
  rules::FlowZones rule_zones(const Conn& c) const;
  rules::StreamLimits stream_limits_;
  rules::StreamStats stream_stats_before_;  // of the matchers a reload replaced
  uint8_t port_rules_of(const Conn& c) const;  // rules::RuleProtocol of the flow's port-only rules, or Count_
  AppState* apps_ = nullptr;  // every AppState of this worker (a list through them), for set_policy()
  std::vector<bool> module_needed_;  // per module: something consumes its analyzers' work after confirmation
  bool ops_consumers_ = false;       // operation events go somewhere besides the zone policy (rules)
};

}  // namespace ots
