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
#include "sensor/core_logs.hpp"
#include "sensor/notice_stage.hpp"
#include "sensor/pipeline_config.hpp"

namespace ots {

class SitePolicy;
struct FlowPolicy;

// LogIds of every log, registered once with the LogManager before workers start.
struct PipelineLogs {
  LogId conn = 0, conn_long = 0, weird = 0, notice = 0;
  LogId assets = 0;  // written by the run loop from the workers' merged inventories
  // Per dissector module (registry order): its logs' ids, in DissectorModule::logs order.
  std::vector<std::vector<LogId>> modules;

  static PipelineLogs register_all(LogManager& logs);
};

struct WorkerStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;          // captured bytes
  uint64_t weirds = 0;
  uint64_t operations = 0;
  uint64_t notices = 0;          // raised (before suppression)
  uint64_t flows_peak = 0;
  uint64_t flow_memory_peak = 0;
  Decoder::Stats decode;
  FlowTable::Stats flows;
};

class Worker final : private FlowEvents, private WeirdSink, private OperationSink, private IdentitySink {
 public:
  // `policy` (may be null: no zone model) is shared by every worker and immutable while they run.
  // Notices go, unsuppressed, to `notices` (this worker's outbox of the run's NoticeStage).
  Worker(const PipelineConfig& cfg, LogManager& logs, const PipelineLogs& ids, const SitePolicy* policy,
         NoticeOutbox& notices);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Decodes and tracks a batch of packets (in capture order).
  void process(const PacketView* pkts, size_t n);
  // Packet time reached now_ns across the whole input: expire flows and fragments, and close the tick's
  // batch of notices. Called at the same points of the input whatever the number of workers, which
  // keeps the logs identical.
  void advance(uint64_t now_ns);
  // End of input: end every connection, close the last batch of notices and hand the logs over.
  void finish();
  // Hands buffered log records to the manager if it asked for them.
  void maybe_handoff();

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
  // OperationSink
  void on_operation(const OperationEvent& ev) override;
  // IdentitySink
  void on_identity(const DeviceIdentity& id) override;

  void drop_rejected(Conn& c);
  void track_peaks();
  AppState& app_of(Conn& c);
  // Zone/conduit policy: a notice when a flow's verdict is (or became) a violation.
  void flow_notice(const Conn& c, const FlowPolicy& fp, uint64_t ts_ns);
  void raise(Notice&& n);
  ConnZones zones_of(const Conn& c) const;

  const PipelineLogs& ids_;
  const SitePolicy* policy_;  // null or disabled: no zone model
  std::unique_ptr<LogSink> sink_;
  NoticeOutbox& notices_;
  Decoder decoder_;
  std::unique_ptr<FlowTable> flows_;
  std::vector<AnalyzerContext> module_ctx_;  // per module
  WorkerStats stats_;
  DecodedPacket pkt_;
  AssetInventory assets_;
};

}  // namespace ots
