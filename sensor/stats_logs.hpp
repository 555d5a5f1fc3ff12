// stats.log, capture_loss.log and weird_stats.log: the sensor's health every interval (Zeek's
// policy/misc/stats.zeek, capture-loss.zeek and weird-stats.zeek, as of Zeek 7.2; see docs/LOGS.md).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"
#include "output/log_manager.hpp"
#include "output/syslog_outputs.hpp"
#include "sensor/capture_health.hpp"
#include "sensor/worker.hpp"

namespace ots {

const LogSchema& stats_schema();
const LogSchema& capture_loss_schema();
const LogSchema& weird_stats_schema();

// One capture source's counters at a measurement.
struct SourceSample {
  std::string name;  // interface or file
  SourceStats stats;
};

class StatsLogs {
 public:
  struct Ids {
    LogId stats = 0, capture_loss = 0, weird_stats = 0;
  };
  static Ids register_all(LogManager& logs);

  // `live`: the sources are interfaces (stats.log's link, drop and lag columns apply). `syslog`: the SIEM
  // outputs, one row per destination, or none.
  StatsLogs(Ids ids, bool live, const SyslogOutputs* syslog = nullptr);

  // Writes the figures since the previous call (the first: since the start): one stats.log record per
  // worker (peer worker-N), per capture source (peer: its name) and per SIEM destination (peer
  // syslog:NAME, its counters as they are now: the sender threads run on the wall clock), one
  // capture_loss.log record per worker.
  // `ts_ns` is packet time, `wall_ns` the wall clock (pkt_lag). Returns the interval's figures summed
  // over the workers and the sources, for the capture health notices.
  CaptureInterval write(LogSink& sink, uint64_t ts_ns, uint64_t wall_ns, std::span<const WorkerStats> workers,
             std::span<const SourceSample> sources);

  // The packet time the run's clock began at: the first capture_loss.log ts_delta counts from it.
  void set_start(uint64_t start_ns) {
    if (!last_ts_ns_) last_ts_ns_ = start_ns;
  }

 private:
  void write_syslog(LogSink& sink, uint64_t ts_ns);
  // weird_stats.log: per weird name, how many were seen in the interval (logged or not: weird.log
  // writes a repeat once per sensor.weird_repeat_s).
  void write_weird_stats(LogSink& sink, uint64_t ts_ns, std::span<const WorkerStats> workers);

  Ids ids_;
  bool live_;
  const SyslogOutputs* syslog_;
  std::vector<SyslogCounters> last_syslog_;
  uint64_t last_ts_ns_ = 0;
  std::vector<WorkerStats> last_workers_;
  std::map<std::string, uint64_t, std::less<>> weird_seen_;  // per name, at the last measurement
  std::vector<SourceStats> last_sources_;
};

}  // namespace ots
