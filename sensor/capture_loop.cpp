#include "sensor/capture_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <thread>

#include <sys/resource.h>

#include "capture/decode.hpp"
#include "conduits/site_policy.hpp"
#include "sensor/check_config.hpp"
#include "sensor/core_logs.hpp"
#include "sensor/packet_ring.hpp"
#include "sensor/signals.hpp"

namespace ots {

namespace {

constexpr size_t kRingBytes = 16u << 20;
// Live: how long a quiet sensor waits for packets per round (split between the sources), and how often
// it writes the logs it has (a replay writes them at the end, in one sorted pass).
constexpr int kIdleWaitMs = 20;
constexpr auto kLiveFlushEvery = std::chrono::seconds(1);

uint64_t wall_ns() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

// One worker; on a thread of its own fed through a ring when there are several.
struct CaptureLoop::Slot {
  std::unique_ptr<Worker> worker;
  std::unique_ptr<PacketRing> ring;  // null: the worker runs on the loop's thread
  std::thread thread;
  uint64_t ticks = 0;  // ticks this worker has finished (its thread only)
  double thread_cpu_s = -1;  // the worker thread's CPU time, written before it ends
  // Answers to the loop's requests: the tick index at which the worker did it.
  std::atomic<uint64_t> policy_done{kNever};
  uint64_t stats_seen = 0;                // measurements answered (its thread)
  std::atomic<uint64_t> stats_done{0};    // the same, published after the snapshot
  std::array<WorkerStats, kMaxMeasurements> snapshots;  // by measurement number % kMaxMeasurements
};

CaptureLoop::CaptureLoop(const CaptureLoopSetup& setup) : setup_(setup), current_policy_(setup.policy) {
  const unsigned n = std::max(1u, setup_.workers);
  const bool threaded = n > 1 || setup_.reader_thread;
  for (unsigned i = 0; i < n; ++i) {
    auto s = std::make_unique<Slot>();
    s->worker = setup_.make_worker(i, setup_.notices->outbox(i));
    if (threaded) s->ring = std::make_unique<PacketRing>(kRingBytes);
    slots_.push_back(std::move(s));
  }
  if (setup_.stats && setup_.stats_interval_ns) stats_logs_.emplace(*setup_.stats, false);
  if (threaded) {
    for (auto& sp : slots_) {
      Slot* s = sp.get();
      s->thread = std::thread([this, s] {
        PacketRing::Batch b;
        for (;;) {
          s->ring->read(b);
          s->worker->process(b.burst.pkts, b.burst.count);
          s->ring->release();
          if (b.tick) {
            s->worker->advance(b.tick_ns);
            on_worker_tick(*s, s->ticks++, b.tick_ns);
          }
          s->worker->maybe_handoff();
          if (b.end) break;
        }
        s->worker->finish();
        rusage ru{};
        if (getrusage(RUSAGE_THREAD, &ru) == 0) {
          s->thread_cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        }
      });
    }
  }
}

CaptureLoop::~CaptureLoop() {
  // finish() joins the threads; a loop destroyed before (an exception at start-up) must too.
  for (auto& s : slots_) {
    if (s->thread.joinable()) {
      s->ring->push_end();
      s->thread.join();
    }
  }
}

// On the worker's thread, after its clock reached the tick: the loop's requests for this tick. Two
// relaxed-cost loads per tick, nothing per packet.
void CaptureLoop::on_worker_tick(Slot& s, uint64_t k, uint64_t now_ns) {
  if (policy_at_.load(std::memory_order_acquire) == k) {
    s.worker->set_policy(next_policy_.load(std::memory_order_acquire), now_ns);
    s.policy_done.store(k, std::memory_order_release);
  }
  while (s.stats_seen < stats_asked_.load(std::memory_order_acquire) &&
         stats_at_[s.stats_seen % kMaxMeasurements].load(std::memory_order_relaxed) == k) {
    s.snapshots[s.stats_seen % kMaxMeasurements] = s.worker->stats();
    s.stats_done.store(++s.stats_seen, std::memory_order_release);
  }
}

void CaptureLoop::dispatch(const PacketBurst& burst) {
  if (first_ts_ns_ == 0 && burst.count) first_ts_ns_ = burst.pkts[0].ts_ns;
  for (size_t i = 0; i < burst.count; ++i) now_ns_ = std::max(now_ns_, burst.pkts[i].ts_ns);
  if (!slots_[0]->ring) {
    slots_[0]->worker->process(burst.pkts, burst.count);
    return;
  }
  const size_t n = slots_.size();
  if (n == 1) {
    for (size_t i = 0; i < burst.count; ++i) slots_[0]->ring->push_packet(burst.pkts[i]);
    return;
  }
  for (size_t i = 0; i < burst.count; ++i) {
    const PacketView& p = burst.pkts[i];
    // Both directions of every flow between two hosts (and every fragment) reach the same worker.
    slots_[symmetric_host_pair_hash(p) % n]->ring->push_packet(p);
  }
}

// Every worker's clock advances at the same points of the input as a single worker's would, so a
// replay's logs are the same whatever the number of workers.
void CaptureLoop::tick(uint64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  const uint64_t k = tick_seq_++;
  if (stats_logs_) {
    if (next_stats_ns_ == 0) {
      // Zeek schedules the first measurement one interval after start-up: the first packet's time, or the
      // wall clock when a live capture starts on a quiet network.
      const uint64_t start = first_ts_ns_ ? first_ts_ns_ : now_ns_;
      next_stats_ns_ = start + setup_.stats_interval_ns;
      stats_logs_->set_start(start);
    } else if (now_ns_ >= next_stats_ns_) {
      // The ring is full only when the workers are kMaxMeasurements intervals behind: wait for the oldest.
      if (measurements_.size() == kMaxMeasurements) collect(true);
      measurements_.push_back(Measurement{now_ns_, sample_sources()});
      const uint64_t n = stats_asked_.load(std::memory_order_relaxed);
      stats_at_[n % kMaxMeasurements].store(k, std::memory_order_relaxed);
      stats_asked_.store(n + 1, std::memory_order_release);
      last_measured_ns_ = now_ns_;
      next_stats_ns_ = now_ns_ + setup_.stats_interval_ns;
    }
  }
  if (staged_policy_ && !policy_pending_) {
    current_policy_ = staged_policy_.get();
    owned_policies_.push_back(std::move(staged_policy_));
    next_policy_.store(current_policy_, std::memory_order_release);
    policy_at_.store(k, std::memory_order_release);
    policy_pending_ = true;
  }
  if (!slots_[0]->ring) {
    Slot& s = *slots_[0];
    s.worker->advance(now_ns_);
    on_worker_tick(s, s.ticks++, now_ns_);
    s.worker->maybe_handoff();
  } else {
    for (auto& s : slots_) {
      s->ring->push_tick(now_ns_);
      s->ring->publish();
    }
  }
  if (setup_.attest) {  // before the notice stage: its notices of this tick are then closed already
    setup_.attest->tick(now_ns_);
    setup_.attest->poll();
  }
  setup_.notices->tick(now_ns_);
  setup_.notices->poll();  // the ticks every worker has finished
  collect(false);
}

std::vector<SourceSample> CaptureLoop::sample_sources() {
  std::vector<SourceSample> out;
  for (PacketSource* s : sources_) out.push_back(SourceSample{s->name(), s->stats()});
  return out;
}

// Writes the stats records and frees a replaced site model once every worker has answered; `wait`: until
// they have (the end of the run).
void CaptureLoop::collect(bool wait) {
  const auto answered = [this](uint64_t n) {
    return std::all_of(slots_.begin(), slots_.end(),
                       [&](const auto& s) { return s->stats_done.load(std::memory_order_acquire) >= n; });
  };
  while (!measurements_.empty()) {
    const uint64_t n = stats_written_ + 1;
    while (wait && !answered(n)) std::this_thread::yield();
    if (!answered(n)) break;
    std::vector<WorkerStats> ws;
    for (auto& s : slots_) ws.push_back(s->snapshots[stats_written_ % kMaxMeasurements]);
    stats_logs_->write(*setup_.main_sink, measurements_.front().ts_ns, wall_ns(), ws, measurements_.front().sources);
    measurements_.pop_front();
    ++stats_written_;
  }
  const auto all_done = [this](std::atomic<uint64_t> Slot::*done, uint64_t at) {
    return std::all_of(slots_.begin(), slots_.end(),
                       [&](const auto& s) { return ((*s).*done).load(std::memory_order_acquire) == at; });
  };
  if (policy_pending_) {
    const uint64_t at = policy_at_.load(std::memory_order_relaxed);
    while (wait && !all_done(&Slot::policy_done, at)) std::this_thread::yield();
    if (all_done(&Slot::policy_done, at)) {
      // Every worker now uses current_policy_: the models before it can go.
      std::erase_if(owned_policies_, [this](const auto& p) { return p.get() != current_policy_; });
      policy_pending_ = false;
    }
  }
}

void CaptureLoop::report(const std::string& problem, const char* weird_name) {
  std::fprintf(stderr, "otsensor: warning: %s\n", problem.c_str());
  ++warnings_;
  WeirdEvent ev;
  ev.ts_ns = now_ns_;
  ev.name = weird_name;
  ev.addl = problem;
  ev.source = "capture";
  write_weird(*setup_.main_sink, setup_.ids->weird, ev);
}

bool CaptureLoop::handle_signals() {
  if (!signal_pending()) return false;
  const SignalRequests r = take_signal_requests();
  if (r.reload) reload();
  if (r.stop) stopped_ = true;
  return r.stop;
}

// SIGHUP: logrotate has moved the log files away (or not); every open file gets its #close and is
// reopened, with a new header, at its next record. Then the site model is read again.
void CaptureLoop::reload() {
  setup_.main_sink->handoff();
  setup_.logs->request_handoff();
  try {
    setup_.logs->reopen();
    std::fprintf(stderr, "otsensor: SIGHUP: log files reopened\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otsensor: error: reopening the logs: %s\n", e.what());
  }
  if (setup_.site_file.empty()) return;
  auto next = std::make_unique<SitePolicy>();
  SensorSection section;
  std::vector<std::string> errors;
  bool ok = false;
  try {
    ok = load_site_file(setup_.site_file, *next, section, errors);
  } catch (const std::exception& e) {
    errors.push_back(setup_.site_file + ": " + e.what());
  }
  if (!ok) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    std::fprintf(stderr,
                 "otsensor: error: SIGHUP: invalid site model %s (%zu problem%s); the model in force stays\n",
                 setup_.site_file.c_str(), errors.size(), errors.size() == 1 ? "" : "s");
    return;
  }
  // Swapped in at the next tick; a model staged by an earlier SIGHUP and not yet in force is replaced.
  staged_policy_ = std::move(next);
  std::fprintf(stderr, "otsensor: SIGHUP: site model %s reloaded (%zu zone%s, %zu conduit%s)\n",
               setup_.site_file.c_str(), staged_policy_->zones().size(),
               staged_policy_->zones().size() == 1 ? "" : "s", staged_policy_->conduits().size(),
               staged_policy_->conduits().size() == 1 ? "" : "s");
}

void CaptureLoop::run_files(SourceMerge& merge) {
  live_ = false;
  for (auto& s : merge.sources()) sources_.push_back(s.get());
  PacketBurst burst;
  const auto problems = [&] {
    for (const std::string& p : merge.take_problems()) report(p, "capture_file_problem");
  };
  while (!handle_signals() && merge.next(burst)) {
    dispatch(burst);
    tick(now_ns_);
    problems();
  }
  problems();
  finish();
}

bool CaptureLoop::run_live(std::vector<std::unique_ptr<PacketSource>>& sources) {
  live_ = true;
  if (stats_logs_) stats_logs_.emplace(*setup_.stats, true);
  std::string names;
  for (auto& s : sources) {
    sources_.push_back(s.get());
    names += (names.empty() ? "" : ", ") + s->name();
  }
  // As tcpdump's "listening on": the capture is up (scripts and tests wait for this line).
  std::fprintf(stderr, "otsensor: capturing on %s\n", names.c_str());
  std::vector<char> done(sources.size(), 0);
  size_t alive = sources.size();
  bool failed = false;
  bool busy = true;  // a source had packets in the last round
  auto last_flush = std::chrono::steady_clock::now();
  PacketBurst burst;
  while (alive > 0 && !handle_signals()) {
    bool got = false;
    const int wait = busy ? 0 : std::max(1, kIdleWaitMs / static_cast<int>(alive));
    for (size_t i = 0; i < sources.size(); ++i) {
      if (done[i]) continue;
      PacketSource& src = *sources[i];
      src.set_idle_wait(wait);
      const SourceStatus st = src.next_burst(burst);
      for (const std::string& w : src.take_warnings()) report(w, "capture_source_problem");
      if (st == SourceStatus::Ok) {
        got = true;
        dispatch(burst);
        tick(now_ns_);
      } else if (st == SourceStatus::Error || st == SourceStatus::End) {
        if (st == SourceStatus::Error) {
          report(src.name() + ": " + src.error(), "capture_source_failed");
          failed = true;
        }
        done[i] = 1;
        --alive;
      }
    }
    busy = got;
    // Nothing arrived anywhere: packet time follows the wall clock, so that flows time out and notices
    // are written on a quiet network too.
    if (!got) tick(std::max(now_ns_, wall_ns()));
    if (const auto t = std::chrono::steady_clock::now(); t - last_flush >= kLiveFlushEvery) {
      last_flush = t;
      setup_.main_sink->handoff();
      setup_.logs->request_handoff();
      try {
        setup_.logs->flush();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "otsensor: error: %s\n", e.what());
        failed = true;
        break;
      }
    }
  }
  finish();
  return !failed;
}

void CaptureLoop::finish() {
  if (finished_) return;
  finished_ = true;
  // The last tick's requests (a stats measurement, a model swap) are answered before the end.
  collect(true);
  if (!slots_[0]->ring) {
    slots_[0]->worker->finish();
  } else {
    for (auto& s : slots_) s->ring->push_end();
    for (auto& s : slots_) s->thread.join();
  }
  if (setup_.attest) setup_.attest->finish();
  setup_.notices->finish();
  for (auto& s : slots_) {
    final_stats_.push_back(s->worker->stats());
    final_stats_.back().thread_cpu_s = s->thread_cpu_s;
    final_assets_.push_back(s->worker->assets().snapshot());
  }
  // Zeek writes one more stats record when it terminates (check_stats runs as its timer expires); not
  // when the last measurement was taken at this very packet time.
  if (stats_logs_ && next_stats_ns_ != 0 && !(stats_written_ && last_measured_ns_ == now_ns_)) {
    stats_logs_->write(*setup_.main_sink, now_ns_, wall_ns(), final_stats_, sample_sources());
  }
}

}  // namespace ots
