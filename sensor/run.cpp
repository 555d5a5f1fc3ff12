#include "sensor/run.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "capture/decode.hpp"
#include "capture/packet_source.hpp"
#include "conduits/site_policy.hpp"
#include "inventory/asset_inventory.hpp"
#include "output/log_manager.hpp"
#include "output/syslog_outputs.hpp"
#include "sensor/core_logs.hpp"
#include "sensor/notice_stage.hpp"
#include "sensor/sbom_writer.hpp"
#include "sensor/capture_loop.hpp"
#include "sensor/inventory_writer.hpp"
#include "sensor/signals.hpp"
#include "sensor/source_merge.hpp"
#include "sensor/site_config.hpp"
#include "sensor/stage_queue.hpp"
#include "sensor/thread_cpu.hpp"
#include "sensor/stats_logs.hpp"
#include "sensor/worker.hpp"

namespace ots {

namespace {

// The first name in `wanted` that no registered log has, with the list of those that exist; empty if none.
std::string unknown_logs(const LogManager& logs, const std::vector<std::string>& wanted) {
  const auto all = logs.counts();
  for (const std::string& w : wanted) {
    if (std::any_of(all.begin(), all.end(), [&](const LogManager::LogCount& c) { return c.path == w; })) continue;
    std::string known;
    for (const auto& c : all) known += (known.empty() ? "" : ",") + c.path;
    return fmt::format("no log named '{}' (known: {})", w, known);
  }
  return {};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int run_sensor(const RunOptions& opts) {
  install_reload_handler();
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<PacketSource>> sources;
  // Every DPDK port replays a capture file (net_pcap rx_pcap): time comes from the packets, as with -r.
  bool dpdk_replay = false;
  // Each worker polls its own RX queue of every DPDK port (symmetric RSS): no software dispatch.
  bool per_queue = false;
  if (opts.dpdk.enabled()) {
#ifdef OTS_HAVE_DPDK
    DpdkOptions dpdk = opts.dpdk;
    dpdk.queues = opts.workers == 0 ? 1 : opts.workers;
    std::string err;
    DpdkSources opened;
    if (!open_dpdk_sources(dpdk, opened, err)) {
      std::fprintf(stderr, "otsensor: error: %s\n", err.c_str());
      return 1;
    }
    for (const std::string& note : opened.notes) std::fprintf(stderr, "otsensor: DPDK %s\n", note.c_str());
    sources = std::move(opened.sources);
    per_queue = opened.per_queue;
    dpdk_replay = std::all_of(sources.begin(), sources.end(), [](const auto& s) { return is_dpdk_file_replay(*s); });
#else
    std::fprintf(stderr, "otsensor: error: --dpdk: this otsensor was built without DPDK (libdpdk-dev, -DOTS_DPDK=ON)\n");
    return 1;
#endif
  }
  for (size_t i = 0; i < opts.read_files.size(); ++i) {
    std::string err;
    auto src = open_pcap_file(opts.read_files[i], static_cast<uint16_t>(i), err);
    if (!src) {
      std::fprintf(stderr, "otsensor: error: %s\n", err.c_str());
      return 1;
    }
    sources.push_back(std::move(src));
  }
  // Live capture with libpcap; like DPDK ports, the loop takes their packets as they arrive.
  for (const LivePcapOptions& iface : opts.interfaces) {
    std::string err;
    auto src = open_live_pcap(iface, static_cast<uint16_t>(sources.size()), err);
    if (!src) {
      std::fprintf(stderr, "otsensor: error: %s\n", err.c_str());
      return 1;
    }
    sources.push_back(std::move(src));
  }
  if (sources.empty()) {
    std::fprintf(stderr, "otsensor: error: nothing to read: give a capture file with -r FILE or an interface with -i IFACE\n");
    return 1;
  }
  const bool live = opts.read_files.empty() && !dpdk_replay;
  const size_t nsources = sources.size();

  std::unique_ptr<LogManager> logs;
  try {
    LogManager::Options lo;
    lo.dir = opts.log_dir;
    lo.json = opts.json;
    lo.only = opts.only_logs;
    logs = std::make_unique<LogManager>(std::move(lo));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otsensor: error: %s\n", e.what());
    return 1;
  }
  const PipelineLogs ids = PipelineLogs::register_all(*logs);
  const StatsLogs::Ids stats_ids = StatsLogs::register_all(*logs);
  if (const std::string bad = unknown_logs(*logs, opts.only_logs); !bad.empty()) {
    std::fprintf(stderr, "otsensor: error: --logs: %s\n", bad.c_str());
    return 2;
  }
  auto main_sink = logs->make_sink();

  const unsigned nworkers = opts.workers == 0 ? 1 : opts.workers;
  // Every worker's notices meet here, on this thread, in one order whatever the number of workers.
  const uint64_t suppress_ns = notice_suppress_ns(opts.policy);
  if (opts.syslog) opts.syslog->set_suppress_ns(suppress_ns);
  // With a site model the stage exists even while its attestation section is absent: a SIGHUP may add one.
  const bool attest_stage = opts.attestation && (opts.attestation->present || !opts.site_file.empty());
  // Outboxes: one per worker, the attestation stage's, and the run loop's (capture loss and drops).
  const size_t loop_outbox = nworkers + (attest_stage ? 1 : 0);
  NoticeStage notices(loop_outbox + 1, *logs, ids.notice, suppress_ns,
                      opts.notice_forwarder ? opts.notice_forwarder : opts.syslog, opts.rules);

  // AQAT datagrams and OT participation from every worker meet in one attestation stage, whose notices
  // join the notice stage as one more outbox.
  std::unique_ptr<AttestStage> attest;
  if (attest_stage) {
    attest = std::make_unique<AttestStage>(nworkers, *opts.attestation, opts.policy, *logs, ids.attest,
                                           notices.outbox(nworkers),
                                           opts.attest_queue_ticks.value_or(AttestStage::kDefaultQueueTicks));
  }

  // The run loop (sensor/capture_loop.cpp): files merged by time, or live sources as packets arrive.
  CaptureLoopSetup setup;
  setup.workers = nworkers;
  // DPDK sources hand over their own mbufs: a ring would copy them, so its one worker stays inline.
  setup.reader_thread = opts.reader_thread && !opts.dpdk.enabled() && std::thread::hardware_concurrency() >= 2;
  setup.make_worker = [&](size_t i, NoticeOutbox& outbox) {
    const AttestTap tap = attest ? AttestTap{&attest->outbox(i), attest->port(), attest->enabled()} : AttestTap{};
    return std::make_unique<Worker>(opts.pipeline, *logs, ids, opts.policy, outbox, opts.rules, tap);
  };
  setup.attest = attest.get();
  setup.logs = logs.get();
  setup.ids = &ids;
  setup.policy = opts.policy;
  setup.notices = &notices;
  setup.main_sink = main_sink.get();
  const double stats_interval_s = opts.stats_interval_s.value_or(live ? 300.0 : 0.0);
  if (stats_interval_s > 0) {
    setup.stats = stats_ids;
    setup.stats_interval_ns = static_cast<uint64_t>(stats_interval_s * 1e9);
    setup.syslog = opts.syslog;
  }
  setup.site_file = opts.site_file;
  setup.extra_rule_files = opts.extra_rule_files;
  setup.restart_sections = opts.restart_sections;
  setup.workers_poll = per_queue && live && opts.interfaces.empty();
  setup.own_notices = &notices.outbox(loop_outbox);
  setup.health = opts.capture_health;
  // Both inventories every sensor.inventory_interval_s of packet time: assets.log (issue 8,
  // sensor/inventory_writer.hpp) and, with attestation, sbom.sqlite.
  const double every_s = opts.inventory_interval_s.value_or(live ? 60.0 : 0.0);
  InventoryWriter inventory(*main_sink, ids.assets);
  setup.inventory_interval_ns = static_cast<uint64_t>(every_s * 1e9);
  setup.write_assets = [&inventory](std::span<const std::vector<Asset>> parts, const SitePolicy* policy,
                                     uint64_t now_ns) { inventory.write(parts, policy, now_ns, false); };
  // The attested SBOM inventory (issue 6): written every interval by a thread of its own from snapshots the
  // loop takes after its ticks, and at the end (sensor/sbom_writer.hpp); only while attestation is in force.
  std::unique_ptr<SbomWriter> sbom_writer;
  if (attest) {
    sbom_writer = std::make_unique<SbomWriter>(
        (std::filesystem::path(opts.log_dir) / "sbom.sqlite").string(), static_cast<uint64_t>(every_s * 1e9),
        [&a = *attest](const sbom::SbomOmitComponents& omit) { return a.sbom_records(omit); });
    // On the attestation stage's thread, which owns the devices, after each tick it consumed.
    attest->set_after_tick([&a = *attest, &w = *sbom_writer](uint64_t now_ns) {
      if (a.section_in_force()) w.tick(now_ns);
    });
  }
  install_signal_handlers();
  CaptureLoop loop(setup);
  bool source_failed = false;
  if (live && per_queue && opts.interfaces.empty()) {
    source_failed = !loop.run_queues(sources);
  } else if (live) {
    source_failed = !loop.run_live(sources);
  } else {
    SourceMerge merge(std::move(sources));
    source_failed = !loop.run_files(merge);
  }
  const double loop_cpu_s = thread_cpu_seconds();  // this thread's: reading, dispatch, the stages' hand-offs
  const std::vector<WorkerStats>& wstats = loop.worker_stats();
  const unsigned warnings = loop.warnings();
  inventory.write(loop.assets(), loop.policy(), loop.now_ns(), true);
  main_sink->handoff();
  logs->close();
  // The attested SBOM inventory (issue 6), after the logs are closed: a database that cannot be written
  // costs a warning, never the logs or the exit status. Written when attestation is in force at the end.
  if (attest && attest->section_in_force()) {
    if (std::string err; !sbom_writer->finish(err)) {
      std::fprintf(stderr, "otsensor: warning: SBOM inventory not updated: %s\n", err.c_str());
    }
  }

  // Totals.
  WorkerStats total;
  for (const WorkerStats& s : wstats) {
    total.packets += s.packets;
    total.bytes += s.bytes;
    total.weirds += s.weirds;
    total.weirds_logged += s.weirds_logged;
    total.operations += s.operations;
    total.notices += s.notices;
    total.flows_peak += s.flows_peak;
    total.flow_memory_peak += s.flow_memory_peak;
    total.flows.created += s.flows.created;
    total.decode.malformed += s.decode.malformed;
    total.decode.non_ip += s.decode.non_ip;
    total.rule_streams += s.rule_streams;  // the peak: the largest worker's
  }
  if (attest) total.notices += attest->stats().notices;
  const double wall = seconds_since(t0);
  // The SIEM outputs send what they still hold for a bounded time (not counted in wall_seconds, the packet
  // path's time); what is left waits in their spools for the next run.
  std::string syslog_text, syslog_json;
  if (opts.syslog) {
    opts.syslog->close(std::chrono::seconds(10));
    syslog_text = "; " + opts.syslog->summary_text();
    syslog_json = ", \"syslog\": " + opts.syslog->stats_json();
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

  std::string logs_text;
  std::string logs_json;
  for (const auto& lc : logs->counts()) {
    if (lc.records == 0) continue;
    logs_text += fmt::format("{}{} {}", logs_text.empty() ? "" : ", ", lc.path, lc.records);
    logs_json += fmt::format("{}\"{}\": {}", logs_json.empty() ? "" : ", ", lc.path, lc.records);
  }
  // Repeated weirds are counted, not logged (sensor/weird_filter.hpp): say how many, so none goes unseen.
  const std::string weirds_text =
      total.weirds > total.weirds_logged
          ? fmt::format("; {} weirds, {} logged (repeats within sensor.weird_repeat_s are counted only)", total.weirds,
                        total.weirds_logged)
          : std::string();
  if (!opts.quiet) {
    std::fprintf(stderr,
                 "otsensor: %llu packets (%.1f MB) from %zu %s in %.2f s; %llu connections; logs in %s: %s; "
                 "%llu notices%s%s\n",
                 static_cast<unsigned long long>(total.packets), static_cast<double>(total.bytes) / 1e6,
                 nsources, live ? "live source(s)" : "file(s)", wall, static_cast<unsigned long long>(total.flows.created),
                 opts.log_dir.c_str(), logs_text.empty() ? "none" : logs_text.c_str(),
                 static_cast<unsigned long long>(total.notices), weirds_text.c_str(), syslog_text.c_str());
  }
  if (!opts.stats_json.empty()) {
    // Per worker thread (null where the worker ran on the reading thread): the benchmark's CPU per packet.
    std::string worker_cpu_json;
    for (const WorkerStats& s : loop.worker_stats()) {
      if (!worker_cpu_json.empty()) worker_cpu_json += ", ";
      worker_cpu_json += s.thread_cpu_s < 0 ? std::string("null") : fmt::format("{:.6f}", s.thread_cpu_s);
    }
    // The attestation stage's thread and hand-off queue (sensor/attest_stage.hpp): full_waits counts the
    // times the loop waited for room, wait_seconds how long in all.
    std::string attest_json;
    if (attest) {
      const StageQueueStats q = attest->queue_stats();
      const double acpu = attest->cpu_seconds();
      attest_json = fmt::format(
          ", \"attest\": {{\"datagrams\": {}, \"cpu_seconds\": {}, \"queue_capacity\": {}, \"queue_peak\": {}, "
          "\"queue_full_waits\": {}, \"queue_wait_seconds\": {:.6f}}}",
          attest->stats().datagrams, acpu < 0 ? std::string("null") : fmt::format("{:.6f}", acpu), q.capacity, q.peak,
          q.full_waits, static_cast<double>(q.wait_ns) / 1e9);
    }
    std::ofstream f(opts.stats_json);
    f << fmt::format(
        "{{\"packets\": {}, \"bytes\": {}, \"wall_seconds\": {:.6f}, \"cpu_seconds\": {:.6f}, \"workers\": {}, "
        "\"flows_created\": {}, \"flows_peak\": {}, \"flow_memory_bytes_peak\": {}, \"weirds\": {}, \"weirds_logged\": {}, "
        "\"operations\": {}, \"notices\": {}, \"non_ip\": {}, \"malformed\": {}, \"max_rss_kb\": {}, \"warnings\": {}, "
        "\"worker_cpu_seconds\": [{}], \"loop_cpu_seconds\": {:.6f}, \"rule_streams\": {{\"opened\": {}, \"peak\": {}, \"depth_reached\": {}, "
        "\"limit_reached\": {}, \"gaps\": {}, \"reload_closed\": {}, \"errors\": {}}}, \"logs\": {{{}}}{}{}}}\n",
        total.packets, total.bytes, wall, cpu, nworkers, total.flows.created, total.flows_peak,
        total.flow_memory_peak, total.weirds, total.weirds_logged, total.operations, total.notices, total.decode.non_ip, total.decode.malformed,
        ru.ru_maxrss, warnings, worker_cpu_json, loop_cpu_s, total.rule_streams.opened, total.rule_streams.peak,
        total.rule_streams.depth_reached, total.rule_streams.limit_reached, total.rule_streams.gaps,
        total.rule_streams.reload_closed, total.rule_streams.errors, logs_json, attest_json, syslog_json);
    if (!f) {
      std::fprintf(stderr, "otsensor: error: cannot write %s\n", opts.stats_json.c_str());
      return 1;
    }
  }
  return source_failed ? 1 : 0;
}

}  // namespace ots
