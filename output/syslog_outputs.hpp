// The SIEM outputs of a run (issue 7): every notice written to notice.log becomes one RFC 5424 message
// to each destination of the site model's `outputs: syslog:` section. forward() formats and enqueues on the
// notice stage's thread and never blocks; each destination has its own sender thread (syslog_sender.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "output/notice.hpp"
#include "output/syslog_config.hpp"
#include "output/syslog_message.hpp"
#include "output/syslog_sender.hpp"

namespace ots {

class SyslogOutputs final : public NoticeForwarder {
 public:
  struct Options {
    std::string sensor_id;     // empty: the host name
    std::string version;       // CEF/LEEF product version
    uint64_t suppress_ns = 0;  // the run's notice suppression interval (notice.log's suppress_for)
    SyslogTiming timing;
  };

  // Opens every destination (spool, certificates) and starts its sender; throws std::runtime_error
  // "syslog output 'NAME': reason" when one cannot be used.
  SyslogOutputs(const SyslogSection& section, Options options);
  ~SyslogOutputs() override;

  // The run's suppression interval, for the JSON payload's suppress_for (the run sets it before notices come).
  void set_suppress_ns(uint64_t ns) override { suppress_ns_ = ns; }
  void forward(const Notice& n, uint64_t suppressed_count) override;
  // Syslog::Spool_Full once a destination's spool has dropped messages since the last one.
  bool take_notice(Notice& out) override;
  // Every destination's sender takes in what it was handed (at most 5 s in all, in parallel).
  void drain() override;

  // End of the run: every destination sends what it can within `budget` (in parallel), then stops; what
  // is not delivered stays in its spool for the next run.
  void close(std::chrono::milliseconds budget);

  struct DestinationStats {
    const SyslogDestination* destination;
    SyslogCounters counters;
  };
  std::vector<DestinationStats> stats() const;
  // "syslog soc: 12 sent, 0 spooled, 0 dropped, 0 reconnects[, 3 left in the spool]; syslog siem2: ..."
  std::string summary_text() const;
  // "{"soc": {"transport": "tls", "sent": 12, ...}, ...}"
  std::string stats_json() const;

  const SyslogIdentity& identity() const { return id_; }

 private:
  std::vector<std::unique_ptr<SyslogSender>> senders_;
  std::vector<uint64_t> reported_drops_;
  SyslogIdentity id_;
  uint64_t suppress_ns_;
  uint64_t last_ts_ns_ = 0;
  bool closed_ = false;
  std::string msg_;
};

}  // namespace ots
