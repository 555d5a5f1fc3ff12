// The run loop: packets from the sources to the workers, the clock, the notice stage (and the hand-off to
// the attestation stage's thread), stats.log and capture_loss.log every interval, and the signals (stop,
// reopen and reload). One loop for files (merged by time, as Zeek merges several -r) and one for live
// sources of any kind (libpcap, DPDK): packets are taken as they arrive, and the clock moves on by wall time
// while every source is quiet. With DPDK queues that a port spreads by a symmetric hash, the workers poll
// their own queues instead (run_queues).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"
#include "inventory/asset_inventory.hpp"
#include "output/log_manager.hpp"
#include "sensor/attest_stage.hpp"
#include "sensor/capture_health.hpp"
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
  const SyslogOutputs* syslog = nullptr;  // the SIEM outputs: a stats.log row per destination, or none
  std::string site_file;               // reloaded on SIGHUP with its rules; empty: no model to reload
  std::string restart_sections;        // the model's sensor: and outputs: at start-up: read once, not reloaded
  std::vector<std::string> extra_rule_files;  // --rules: reloaded on SIGHUP too, after the model's rules:
  // Several workers, each polling capture sources of its own (run_queues) rather than fed by the loop.
  bool workers_poll = false;
  // The loop's own notices (sensor/capture_health.hpp): an outbox of `notices` beside the workers', and
  // the thresholds. Null: none.
  NoticeOutbox* own_notices = nullptr;
  CaptureHealthConfig health;
  // assets.log during the run (sensor/inventory_writer.hpp): every this much packet time each worker
  // copies its inventory on its own thread at one tick, and `write_assets` gets the copies on the loop's
  // thread, with the model in force. 0 or empty: only the caller's write at the end.
  uint64_t inventory_interval_ns = 0;
  std::function<void(std::span<const std::vector<Asset>> parts, const SitePolicy* policy, uint64_t now_ns)>
      write_assets;
};

class CaptureLoop {
 public:
  explicit CaptureLoop(const CaptureLoopSetup& setup);
  ~CaptureLoop();
  CaptureLoop(const CaptureLoop&) = delete;
  CaptureLoop& operator=(const CaptureLoop&) = delete;

  // Replays files until they end or a stop signal arrives, then ends every flow. False when the logs could
  // not be written while a FIFO or pipe paused (the error is on stderr).
  bool run_files(SourceMerge& merge);
  // Captures until a stop signal arrives or no source is left, then ends every flow. False when a source
  // failed (its error is on stderr and in weird.log).
  bool run_live(std::vector<std::unique_ptr<PacketSource>>& sources);
  // Live capture where source i belongs to worker i % workers (with workers_poll: DPDK RX queues that
  // spread flows by a symmetric hash, queue q of every port to worker q). Each worker polls its sources
  // on its own thread, with no copy and no ring; this thread keeps the clock, the stages, the stats and
  // the signals (sensor/capture_loop_queues.cpp). As run_live otherwise.
  bool run_queues(std::vector<std::unique_ptr<PacketSource>>& sources);

  // After a run: every worker's figures and inventory, the model in force, the problems reported.
  const std::vector<WorkerStats>& worker_stats() const { return final_stats_; }
  const std::vector<std::vector<Asset>>& assets() const { return final_assets_; }
  const SitePolicy* policy() const { return current_policy_; }
  unsigned warnings() const { return warnings_; }
  uint64_t now_ns() const { return now_ns_; }  // the packet time reached
  bool stopped_by_signal() const { return stopped_; }

 private:
  struct Slot;

  void dispatch(const PacketBurst& burst);
  void decode_to(Slot& s, const PacketView& p);
  // `idle`: the loop waits for input next (the stages get what they have at once).
  void tick(uint64_t now_ns, bool idle = false);
  void pump_stages(bool idle = false);
  void on_worker_tick(Slot& s, uint64_t k, uint64_t now_ns);
  void collect(bool wait);
  void collect_assets();
  void write_stats(uint64_t ts_ns, std::span<const WorkerStats> workers, std::span<const SourceSample> sources);
  void close_own_ticks();
  bool flush_live(std::chrono::steady_clock::time_point& last_flush);  // false: the logs cannot be written
  void poll_queues(Slot& s, std::vector<PacketSource*> mine);
  void report_poll_problems();
  std::vector<SourceSample> sample_sources();
  bool handle_signals();  // true: stop
  void reload();
  void issue_reload(uint64_t k);
  void settle_reload(bool wait);
  void report(const std::string& problem, const char* weird_name);
  void finish();

  CaptureLoopSetup setup_;
  std::vector<std::unique_ptr<Slot>> slots_;
  bool inline_worker_ = true;  // the one worker runs on the loop's thread (no reading thread)
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
  struct Reload;
  std::atomic<uint64_t> assets_at_{kNever};  // the tick of the last inventory snapshot asked for
  bool assets_pending_ = false;              // asked for, not yet written
  uint64_t assets_ns_ = 0;                   // the packet time of that tick
  uint64_t next_assets_ns_ = 0;
  std::atomic<uint64_t> swap_at_{kNever};  // the tick of the last reload issued
  std::atomic<Reload*> next_{nullptr};     // what it brings

  // stats.log / capture_loss.log
  std::optional<StatsLogs> stats_logs_;
  uint64_t next_stats_ns_ = 0;
  struct Measurement {
    uint64_t ts_ns = 0;
    uint64_t tick = 0;                  // the tick it was asked for at
    std::vector<SourceSample> sources;  // taken when it was asked for
  };
  std::deque<Measurement> measurements_;  // asked for, not yet written (in order)
  uint64_t stats_written_ = 0;
  uint64_t last_measured_ns_ = 0;  // ts of the last measurement asked for
  std::vector<PacketSource*> sources_;  // the run's sources, for their counters
  bool live_ = false;
  // The loop's own notice outbox closes each tick once the measurement taken at it (if any) is written,
  // so that the notices of a measurement fall into its tick whatever -w is.
  uint64_t own_closed_ = 0;
  std::vector<Notice> own_notices_;

  // run_queues: the ticks issued so far and the packet time of the last, which the polling workers
  // follow; their stop; how many still have a source; what went wrong on their threads.
  std::atomic<uint64_t> ticks_issued_{0};
  std::atomic<uint64_t> tick_ns_{0};
  std::atomic<bool> stop_polling_{false};
  std::atomic<size_t> polling_{0};
  std::mutex poll_problems_mutex_;
  std::vector<std::pair<std::string, const char*>> poll_problems_;  // (problem, weird name)
  bool poll_failed_ = false;

  // SIGHUP reloads (issue 8): the site model with its rules, validated in full and compiled (one
  // matcher, so one Hyperscan scratch, per worker) before anything changes; then staged, issued to every
  // worker and stage at the next tick, and complete once all of them are past that tick. One is in flight
  // at a time. The rule databases of a replaced configuration are freed when it completes; its model is
  // kept to the end of the run, since notices already raised (queued, or held by a suppression window
  // for its summary) point at its zone names.
  const SitePolicy* current_policy_ = nullptr;  // the model of the last configuration issued
  std::unique_ptr<Reload> staged_;    // validated, waiting for the next tick
  std::unique_ptr<Reload> issued_;    // issued at swap_at_, not yet complete
  std::unique_ptr<Reload> in_force_;  // the last complete one (null: the start-up configuration, the caller's)
  std::vector<std::unique_ptr<SitePolicy>> retired_policies_;
  uint64_t swap_ns_ = 0;              // packet time of the tick of issued_
  bool announced_ = false;            // issued_ reached every worker and stderr says so

  std::vector<WorkerStats> final_stats_;
  std::vector<std::vector<Asset>> final_assets_;
};

}  // namespace ots
