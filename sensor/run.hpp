// Runs the sensor over packet sources: dispatch to workers, logs, summary and statistics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "capture/dpdk_source.hpp"
#include "capture/live_pcap_source.hpp"
#include "sensor/capture_health.hpp"
#include "sensor/pipeline_config.hpp"

namespace ots {

class NoticeForwarder;
class SitePolicy;
namespace attest {
struct AttestationConfig;
}
namespace rules {
class RuleDatabase;
}
class SyslogOutputs;

struct RunOptions {
  std::vector<std::string> read_files;  // -r, in the order given; packets are merged by timestamp
  DpdkOptions dpdk;                     // --dpdk: DPDK ports in place of files (queues: one per worker)
  std::vector<LivePcapOptions> interfaces;  // -i: live capture with libpcap (ingress = the index here)
  std::string log_dir = ".";           // -l (Zeek writes into the current directory by default)
  bool json = false;                   // --json
  unsigned workers = 1;                // -w
  // With one worker: read on the main thread and analyse on a worker thread (a ring between them), so
  // reading and analysis overlap on two cores. Off (--inline-worker) or on a one-CPU machine, the one
  // thread does both. Several workers always have threads of their own.
  bool reader_thread = true;
  std::string stats_json;              // --stats-json FILE: run statistics for benchmarks and tests
  bool quiet = false;                  // no summary line
  std::vector<std::string> only_logs;  // --logs: write only these logs (paths: conn, weird, ...); empty: all
  PipelineConfig pipeline;
  // stats.log and capture_loss.log every this many seconds of packet time; unset: every 300 s live (Zeek's
  // default), none for a replay.
  std::optional<double> stats_interval_s;
  // LOGDIR/sbom.sqlite every this many seconds of packet time (0: only at the end); unset: every 60 s live,
  // only at the end for a replay (sensor/sbom_writer.hpp).
  std::optional<double> inventory_interval_s;
  CaptureHealthConfig capture_health;  // when stats intervals raise the capture loss and drop notices
  // The attestation stage's hand-off queue, in ticks (sensor.attest_queue_ticks; 0: no thread of its own);
  // unset: AttestStage::kDefaultQueueTicks.
  std::optional<uint32_t> attest_queue_ticks;
  std::string site_file;  // -c: read again on SIGHUP, with its rules
  std::string restart_sections;  // its sensor: and outputs: sections at start-up (SiteConfig::restart_sections)
  const SitePolicy* policy = nullptr;  // the zone/conduit model (-c), or none
  const attest::AttestationConfig* attestation = nullptr;  // the model's attestation section, or none
  const rules::RuleDatabase* rules = nullptr;  // the detection rules (site model's rules:, --rules), or none
  std::vector<std::string> extra_rule_files;  // --rules: read again on SIGHUP, after the model's rules:
  NoticeForwarder* notice_forwarder = nullptr;  // gets every notice written (default: `syslog`), or none
  SyslogOutputs* syslog = nullptr;  // the SIEM outputs: closed at the end, counters in the summary and stats
};

// Returns the process exit code: 0 on success (also when a capture was truncated: what was readable is
// processed, a weird is logged, a warning printed), 1 with a one-line reason on stderr otherwise.
int run_sensor(const RunOptions& opts);

}  // namespace ots
