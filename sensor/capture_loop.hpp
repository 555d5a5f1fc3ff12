// The run loop: packets from the sources to the workers, the clock, the notice stage, stats.log and
// capture_loss.log every interval, and the signals (stop, reopen and reload). One loop for files (merged
// by time, as Zeek merges several -r) and one for live sources of any kind (libpcap, DPDK): packets are
// taken as they arrive, and the clock moves on by wall time while every source is quiet.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"
#include "inventory/asset_inventory.hpp"
#include "output/log_manager.hpp"
#include "sensor/attest_stage.hpp"
#include "sensor/notice_stage.hpp"
#include "sensor/source_merge.hpp"
#include "sensor/stats_logs.hpp"
#include "sensor/worker.hpp"

namespace ots {

class SitePolicy;

struct CaptureLoopSetup {
  unsigned workers = 1;
  // One worker on a thread of its own, fed by the loop's (reading) thread through a ring as several
  // workers are: reading the capture and analysing it overlap on two cores. Always so for workers > 1.
  bool reader_thread = false;
  // Builds worker i, raising its notices into `notices` (the run knows the workers' other inputs).
  std::function<std::unique_ptr<Worker>(size_t i, NoticeOutbox& notices)> make_worker;
  LogManager* logs = nullptr;
  const PipelineLogs* ids = nullptr;
  const SitePolicy* policy = nullptr;  // the model at the start (the caller keeps it alive), or none
  NoticeStage* notices = nullptr;
  AttestStage* attest = nullptr;       // the attestation stage (its notices go to `notices`), or none
  LogSink* main_sink = nullptr;        // the loop's own records: capture problems, stats logs
  std::optional<StatsLogs::Ids> stats;  // write stats.log and capture_loss.log with these ids
  uint64_t stats_interval_ns = 0;      // every this much packet time (with `stats`)
  std::string site_file;               // reloaded on SIGHUP; empty: no model to reload
};

class CaptureLoop {
 public:
  explicit CaptureLoop(const CaptureLoopSetup& setup);
  ~CaptureLoop();
  CaptureLoop(const CaptureLoop&) = delete;
  CaptureLoop& operator=(const CaptureLoop&) = delete;

  // Replays files until they end or a stop signal arrives, then ends every flow.
  void run_files(SourceMerge& merge);
  // Captures until a stop signal arrives or no source is left, then ends every flow. False when a source
  // failed (its error is on stderr and in weird.log).
  bool run_live(std::vector<std::unique_ptr<PacketSource>>& sources);

  // After a run: every worker's figures and inventory, the model in force, the problems reported.
  const std::vector<WorkerStats>& worker_stats() const { return final_stats_; }
  const std::vector<std::vector<Asset>>& assets() const { return final_assets_; }
  const SitePolicy* policy() const { return current_policy_; }
  unsigned warnings() const { return warnings_; }
  bool stopped_by_signal() const { return stopped_; }

 private:
  struct Slot;

  void dispatch(const PacketBurst& burst);
  void tick(uint64_t now_ns);
  void on_worker_tick(Slot& s, uint64_t k, uint64_t now_ns);
  void collect(bool wait);
  std::vector<SourceSample> sample_sources();
  bool handle_signals();  // true: stop
  void reload();
  void report(const std::string& problem, const char* weird_name);
  void finish();

  CaptureLoopSetup setup_;
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t now_ns_ = 0;
  uint64_t first_ts_ns_ = 0;  // the first packet's time
  uint64_t tick_seq_ = 0;  // ticks issued so far: the index of the next one
  unsigned warnings_ = 0;
  bool stopped_ = false;
  bool finished_ = false;

  // Requests to the workers, for the tick with the index they hold (kNever: none). The dispatcher
  // stores them before it issues that tick; the rings order the stores before the workers' reads.
  static constexpr uint64_t kNever = ~uint64_t{0};
  // stats measurements: a ring of the tick indices asked for (a replay runs ahead of its workers, so
  // several may be outstanding); stats_asked_ counts them.
  static constexpr size_t kMaxMeasurements = 16;
  std::array<std::atomic<uint64_t>, kMaxMeasurements> stats_at_{};
  std::atomic<uint64_t> stats_asked_{0};
  std::atomic<uint64_t> policy_at_{kNever};
  std::atomic<const SitePolicy*> next_policy_{nullptr};

  // stats.log / capture_loss.log
  std::optional<StatsLogs> stats_logs_;
  uint64_t next_stats_ns_ = 0;
  struct Measurement {
    uint64_t ts_ns = 0;
    std::vector<SourceSample> sources;  // taken when it was asked for
  };
  std::deque<Measurement> measurements_;  // asked for, not yet written (in order)
  uint64_t stats_written_ = 0;
  uint64_t last_measured_ns_ = 0;  // ts of the last measurement asked for
  std::vector<PacketSource*> sources_;  // the run's sources, for their counters
  bool live_ = false;

  // Site model reloads: the models this loop loaded; the one in force and the one it replaced stay
  // until every worker has moved past the tick of the swap.
  const SitePolicy* current_policy_ = nullptr;
  std::vector<std::unique_ptr<SitePolicy>> owned_policies_;
  std::unique_ptr<SitePolicy> staged_policy_;
  bool policy_pending_ = false;

  std::vector<WorkerStats> final_stats_;
  std::vector<std::vector<Asset>> final_assets_;
};

}  // namespace ots
