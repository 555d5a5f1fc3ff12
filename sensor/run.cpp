#include "sensor/run.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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
#include "sensor/packet_ring.hpp"
#include "sensor/source_merge.hpp"
#include "sensor/worker.hpp"

namespace ots {

namespace {

constexpr size_t kRingBytes = 16u << 20;

// A worker on its own thread, fed through a ring by the dispatcher.
struct ThreadedWorker {
  std::unique_ptr<Worker> worker;
  std::unique_ptr<PacketRing> ring;
  std::thread thread;

  void run() {
    PacketRing::Batch b;
    for (;;) {
      ring->read(b);
      worker->process(b.burst.pkts, b.burst.count);
      ring->release();
      if (b.tick) worker->advance(b.tick_ns);
      worker->maybe_handoff();
      if (b.end) break;
    }
    worker->finish();
  }
};

// Records the main thread reports itself: problems of the capture files (truncation), as weirds.
void report_problems(SourceMerge& merge, LogSink& sink, LogId weird_log, uint64_t now_ns, unsigned& warnings) {
  for (const std::string& p : merge.take_problems()) {
    std::fprintf(stderr, "otsensor: warning: %s\n", p.c_str());
    ++warnings;
    WeirdEvent ev;
    ev.ts_ns = now_ns;
    ev.name = "capture_file_problem";
    ev.addl = p;
    ev.source = "capture";
    write_weird(sink, weird_log, ev);
  }
}

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

// assets.log: the workers' inventories merged (the same records whatever the number of workers), each
// address placed in its zone when there is a site model.
void write_inventory(LogSink& sink, LogId log, std::span<const std::vector<Asset>> parts, const SitePolicy* policy) {
  AssetZoneOf zone_of;
  if (policy && policy->enabled()) {
    zone_of = [policy](const IpAddr& ip) { return policy->zone_name(policy->model().zone_of(ip).zone); };
  }
  write_assets(sink, log, AssetInventory::merge(parts), zone_of);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int run_sensor(const RunOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<PacketSource>> sources;
  for (size_t i = 0; i < opts.read_files.size(); ++i) {
    std::string err;
    auto src = open_pcap_file(opts.read_files[i], static_cast<uint16_t>(i), err);
    if (!src) {
      std::fprintf(stderr, "otsensor: error: %s\n", err.c_str());
      return 1;
    }
    sources.push_back(std::move(src));
  }
  if (sources.empty()) {
    std::fprintf(stderr, "otsensor: error: nothing to read: give a capture file with -r FILE\n");
    return 1;
  }

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
  if (const std::string bad = unknown_logs(*logs, opts.only_logs); !bad.empty()) {
    std::fprintf(stderr, "otsensor: error: --logs: %s\n", bad.c_str());
    return 2;
  }
  auto main_sink = logs->make_sink();

  const unsigned nworkers = opts.workers == 0 ? 1 : opts.workers;
  SourceMerge merge(std::move(sources));
  PacketBurst burst;
  uint64_t now_ns = 0;
  unsigned warnings = 0;
  std::vector<WorkerStats> wstats;
  std::vector<std::vector<Asset>> assets;  // each worker's inventory
  // Every worker's notices meet here, on this thread, in one order whatever the number of workers.
  const bool zones = opts.policy && opts.policy->enabled();
  const uint64_t suppress_ns = zones ? opts.policy->defaults().notice_suppress_ns : SiteDefaults{}.notice_suppress_ns;
  if (opts.syslog) opts.syslog->set_suppress_ns(suppress_ns);
  NoticeStage notices(nworkers, *logs, ids.notice, suppress_ns,
                      opts.notice_forwarder ? opts.notice_forwarder : opts.syslog);

  if (nworkers == 1) {
    // One worker runs on the reading thread: no copy, no hand-over.
    Worker w(opts.pipeline, *logs, ids, opts.policy, notices.outbox(0));
    while (merge.next(burst)) {
      w.process(burst.pkts, burst.count);
      for (size_t i = 0; i < burst.count; ++i) now_ns = std::max(now_ns, burst.pkts[i].ts_ns);
      w.advance(now_ns);
      notices.tick(now_ns);
      notices.poll();
      report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    }
    report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    w.finish();
    notices.finish();
    wstats.push_back(w.stats());
    assets.push_back(w.assets().snapshot());
  } else {
    std::vector<ThreadedWorker> workers(nworkers);
    for (size_t i = 0; i < nworkers; ++i) {
      workers[i].worker = std::make_unique<Worker>(opts.pipeline, *logs, ids, opts.policy, notices.outbox(i));
      workers[i].ring = std::make_unique<PacketRing>(kRingBytes);
    }
    for (auto& tw : workers) tw.thread = std::thread([&tw] { tw.run(); });
    while (merge.next(burst)) {
      for (size_t i = 0; i < burst.count; ++i) {
        const PacketView& p = burst.pkts[i];
        now_ns = std::max(now_ns, p.ts_ns);
        // Both directions of every flow between two hosts (and every fragment) reach the same worker.
        const uint64_t h = symmetric_host_pair_hash(p);
        workers[h % nworkers].ring->push_packet(p);
      }
      // Every worker's clock advances at the same points of the input as a single worker's would.
      for (auto& tw : workers) {
        tw.ring->push_tick(now_ns);
        tw.ring->publish();
      }
      notices.tick(now_ns);
      notices.poll();  // the ticks every worker has finished
      report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    }
    report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    for (auto& tw : workers) tw.ring->push_end();
    for (auto& tw : workers) tw.thread.join();
    notices.finish();
    for (auto& tw : workers) wstats.push_back(tw.worker->stats());
    for (auto& tw : workers) assets.push_back(tw.worker->assets().snapshot());
  }
  write_inventory(*main_sink, ids.assets, assets, opts.policy);
  main_sink->handoff();
  logs->close();

  // Totals.
  WorkerStats total;
  for (const WorkerStats& s : wstats) {
    total.packets += s.packets;
    total.bytes += s.bytes;
    total.weirds += s.weirds;
    total.operations += s.operations;
    total.notices += s.notices;
    total.flows_peak += s.flows_peak;
    total.flow_memory_peak += s.flow_memory_peak;
    total.flows.created += s.flows.created;
    total.decode.malformed += s.decode.malformed;
    total.decode.non_ip += s.decode.non_ip;
  }
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
  if (!opts.quiet) {
    std::fprintf(stderr,
                 "otsensor: %llu packets (%.1f MB) from %zu file(s) in %.2f s; %llu connections; logs in %s: %s; "
                 "%llu notices%s\n",
                 static_cast<unsigned long long>(total.packets), static_cast<double>(total.bytes) / 1e6,
                 opts.read_files.size(), wall, static_cast<unsigned long long>(total.flows.created),
                 opts.log_dir.c_str(), logs_text.empty() ? "none" : logs_text.c_str(),
                 static_cast<unsigned long long>(total.notices), syslog_text.c_str());
  }
  if (!opts.stats_json.empty()) {
    std::ofstream f(opts.stats_json);
    f << fmt::format(
        "{{\"packets\": {}, \"bytes\": {}, \"wall_seconds\": {:.6f}, \"cpu_seconds\": {:.6f}, \"workers\": {}, "
        "\"flows_created\": {}, \"flows_peak\": {}, \"flow_memory_bytes_peak\": {}, \"weirds\": {}, "
        "\"operations\": {}, \"notices\": {}, \"non_ip\": {}, \"malformed\": {}, \"max_rss_kb\": {}, \"warnings\": {}, "
        "\"logs\": {{{}}}{}}}\n",
        total.packets, total.bytes, wall, cpu, nworkers, total.flows.created, total.flows_peak,
        total.flow_memory_peak, total.weirds, total.operations, total.notices, total.decode.non_ip, total.decode.malformed,
        ru.ru_maxrss, warnings, logs_json, syslog_json);
    if (!f) {
      std::fprintf(stderr, "otsensor: error: cannot write %s\n", opts.stats_json.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace ots
