// Per-queue capture (issue 8's DPDK fast path): each worker polls the RX queues that the port's
// symmetric hash gives it, on its own thread, and decodes the mbufs where they lie; the run loop's thread
// only keeps time and coordinates.
//
// Time. A polling worker's clock is the time of its own packets; between bursts it catches up with the
// ticks the loop issues about every kTickEvery, taking max(its clock, the tick's time) as the time it
// advances to. The loop's ticks follow the wall clock, as run_live's do while every source is quiet, so
// flows on an idle queue still time out and notices are still written. (DPDK stamps packets of NIC ports
// from the TSC-based wall clock, so a worker's clock and the ticks' agree to within a burst.) The ticks
// carry the loop's requests (a stats measurement, a reload) exactly as the rings do in run_live: a worker
// answers them when it reaches the tick, so the ordered stages (notices, attestation) see every worker
// close every tick, in order.
//
// Stop. The loop issues its last tick, then raises stop_polling_ (finish()); each worker answers every
// tick issued before it saw the stop, then ends its flows (Worker::finish).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "sensor/capture_loop.hpp"
#include "sensor/capture_loop_slot.hpp"

namespace ots {

namespace {

// How often the loop ticks: often enough that timeouts and notices are not late by a human measure,
// rarely enough that the workers spend no time on it (a tick costs a look at a few timer-list heads).
constexpr auto kTickEvery = std::chrono::milliseconds(1);
// An idle worker polls kSpinRounds times in a row, then naps between polls. Busy polling would take the
// cores from everything else on a small appliance; a nap is short beside a 1024-descriptor ring at
// 10 Gbit/s of full-size frames (1.2 ms), though not at 64-byte frames (69 us): see docs/DPDK.md.
constexpr unsigned kSpinRounds = 64;
constexpr auto kNap = std::chrono::microseconds(50);

uint64_t wall_clock_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

bool CaptureLoop::run_queues(std::vector<std::unique_ptr<PacketSource>>& sources) {
  const size_t n = slots_.size();
  if (n < 2 || !setup_.workers_poll) return run_live(sources);
  live_ = true;
  if (stats_logs_) stats_logs_.emplace(*setup_.stats, true, setup_.syslog);
  std::vector<std::vector<PacketSource*>> mine(n);
  std::string names;
  for (size_t i = 0; i < sources.size(); ++i) {
    sources_.push_back(sources[i].get());
    mine[i % n].push_back(sources[i].get());
    names += (names.empty() ? "" : ", ") + sources[i]->name();
  }
  // As run_live's line (scripts and tests wait for "capturing on").
  std::fprintf(stderr, "otsensor: capturing on %s (each worker polls its own RX queue)\n", names.c_str());
  polling_.store(n, std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    Slot* s = slots_[i].get();
    s->thread = std::thread([this, s, m = std::move(mine[i])] { poll_queues(*s, m); });
  }
  bool failed = false;
  auto last_flush = std::chrono::steady_clock::now();
  while (polling_.load(std::memory_order_acquire) > 0 && !handle_signals()) {
    std::this_thread::sleep_for(kTickEvery);
    report_poll_problems();
    tick(std::max(now_ns_, wall_clock_ns()));
    if (!flush_live(last_flush)) {
      failed = true;
      break;
    }
  }
  finish();
  report_poll_problems();
  return !failed && !poll_failed_;
}

// A worker's thread: its queues, then the ticks issued meanwhile, until the stop.
void CaptureLoop::poll_queues(Slot& s, std::vector<PacketSource*> mine) {
  for (PacketSource* src : mine) src->enter_thread();
  std::vector<char> done(mine.size(), 0);
  size_t alive = mine.size();
  bool counted_out = false;
  uint64_t clock_ns = 0;
  unsigned idle = 0;
  PacketBurst burst;
  for (;;) {
    // The stop first: every tick issued before it is then visible, and answered below.
    const bool stop = stop_polling_.load(std::memory_order_acquire);
    const uint64_t issued = ticks_issued_.load(std::memory_order_acquire);
    if (s.ticks < issued) {
      const uint64_t t = std::max(clock_ns, tick_ns_.load(std::memory_order_relaxed));
      while (s.ticks < issued) {
        s.worker->advance(t);
        on_worker_tick(s, s.ticks++, t);
      }
      s.worker->maybe_handoff();
    }
    if (stop) break;
    bool got = false;
    for (size_t i = 0; i < mine.size(); ++i) {
      if (done[i]) continue;
      const SourceStatus st = mine[i]->next_burst(burst);
      if (st == SourceStatus::Ok) {
        s.worker->process(burst.pkts, burst.count);
        for (size_t k = 0; k < burst.count; ++k) clock_ns = std::max(clock_ns, burst.pkts[k].ts_ns);
        got = true;
      } else if (st == SourceStatus::End || st == SourceStatus::Error) {
        done[i] = 1;
        --alive;
      }
      const std::vector<std::string> warnings = mine[i]->take_warnings();
      if (!warnings.empty() || st == SourceStatus::Error) {
        std::lock_guard<std::mutex> lock(poll_problems_mutex_);
        for (const std::string& w : warnings) poll_problems_.emplace_back(w, "capture_source_problem");
        if (st == SourceStatus::Error) {
          poll_problems_.emplace_back(mine[i]->name() + ": " + mine[i]->error(), "capture_source_failed");
        }
      }
    }
    if (got) {
      idle = 0;
      s.worker->maybe_handoff();
      continue;
    }
    // Without a source left the worker still follows the ticks (the stages wait for every worker) until
    // the loop, which stops once no worker has a source, says stop.
    if (alive == 0 && !counted_out) {
      counted_out = true;
      polling_.fetch_sub(1, std::memory_order_acq_rel);
    }
    if (++idle > kSpinRounds || alive == 0) std::this_thread::sleep_for(alive == 0 ? kTickEvery : kNap);
  }
  s.worker->finish();
  s.thread_cpu_s = thread_cpu_seconds();  // a polling worker's own cost, beside the loop's (--stats-json)
  for (PacketSource* src : mine) src->leave_thread();
}

// On the loop's thread: what the workers' sources reported, into weird.log and onto stderr.
void CaptureLoop::report_poll_problems() {
  std::vector<std::pair<std::string, const char*>> problems;
  {
    std::lock_guard<std::mutex> lock(poll_problems_mutex_);
    problems.swap(poll_problems_);
  }
  for (const auto& [problem, weird_name] : problems) {
    report(problem, weird_name);
    if (std::string_view(weird_name) == "capture_source_failed") poll_failed_ = true;
  }
}

}  // namespace ots
