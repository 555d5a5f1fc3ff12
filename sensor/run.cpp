#include "sensor/run.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "capture/decode.hpp"
#include "capture/packet_source.hpp"
#include "output/log_manager.hpp"
#include "sensor/core_logs.hpp"
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
    logs = std::make_unique<LogManager>(LogManager::Options{opts.log_dir, opts.json});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otsensor: error: %s\n", e.what());
    return 1;
  }
  const PipelineLogs ids = PipelineLogs::register_all(*logs);
  auto main_sink = logs->make_sink();

  const unsigned nworkers = opts.workers == 0 ? 1 : opts.workers;
  SourceMerge merge(std::move(sources));
  PacketBurst burst;
  uint64_t now_ns = 0;
  unsigned warnings = 0;
  std::vector<WorkerStats> wstats;

  if (nworkers == 1) {
    // One worker runs on the reading thread: no copy, no hand-over.
    Worker w(opts.pipeline, *logs, ids, opts.policy);
    while (merge.next(burst)) {
      w.process(burst.pkts, burst.count);
      for (size_t i = 0; i < burst.count; ++i) now_ns = std::max(now_ns, burst.pkts[i].ts_ns);
      w.advance(now_ns);
      report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    }
    report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    w.finish();
    wstats.push_back(w.stats());
  } else {
    std::vector<ThreadedWorker> workers(nworkers);
    for (auto& tw : workers) {
      tw.worker = std::make_unique<Worker>(opts.pipeline, *logs, ids, opts.policy);
      tw.ring = std::make_unique<PacketRing>(kRingBytes);
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
      report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    }
    report_problems(merge, *main_sink, ids.weird, now_ns, warnings);
    for (auto& tw : workers) tw.ring->push_end();
    for (auto& tw : workers) tw.thread.join();
    for (auto& tw : workers) wstats.push_back(tw.worker->stats());
  }
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
                 "%llu notices\n",
                 static_cast<unsigned long long>(total.packets), static_cast<double>(total.bytes) / 1e6,
                 opts.read_files.size(), wall, static_cast<unsigned long long>(total.flows.created),
                 opts.log_dir.c_str(), logs_text.empty() ? "none" : logs_text.c_str(),
                 static_cast<unsigned long long>(total.notices));
  }
  if (!opts.stats_json.empty()) {
    std::ofstream f(opts.stats_json);
    f << fmt::format(
        "{{\"packets\": {}, \"bytes\": {}, \"wall_seconds\": {:.6f}, \"cpu_seconds\": {:.6f}, \"workers\": {}, "
        "\"flows_created\": {}, \"flows_peak\": {}, \"flow_memory_bytes_peak\": {}, \"weirds\": {}, "
        "\"operations\": {}, \"notices\": {}, \"non_ip\": {}, \"malformed\": {}, \"max_rss_kb\": {}, \"warnings\": {}, "
        "\"logs\": {{{}}}}}\n",
        total.packets, total.bytes, wall, cpu, nworkers, total.flows.created, total.flows_peak,
        total.flow_memory_peak, total.weirds, total.operations, total.notices, total.decode.non_ip, total.decode.malformed,
        ru.ru_maxrss, warnings, logs_json);
    if (!f) {
      std::fprintf(stderr, "otsensor: error: cannot write %s\n", opts.stats_json.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace ots
