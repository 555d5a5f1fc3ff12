#include "sensor/capture_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <thread>

#include <fmt/format.h>

#include "capture/decode.hpp"
#include "conduits/site_policy.hpp"
#include "rules/rule_matcher.hpp"
#include "sensor/capture_loop_slot.hpp"
#include "sensor/core_logs.hpp"
#include "sensor/packet_ring.hpp"
#include "sensor/signals.hpp"
#include "sensor/site_config.hpp"
#include "sensor/thread_cpu.hpp"

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

// A worker's share of a ring batch, in order.
void feed(Worker& w, const PacketRing::Batch& b) {
  using Kind = PacketRing::Kind;
  for (size_t i = 0; i < b.count; ++i) {
    const PacketRing::Record& r = b.records[i];
    switch (r.kind) {
      case Kind::Decoded: w.process_decoded(read_decoded(r), r.aux); break;
      case Kind::Counted: w.count(r.aux); break;
      case Kind::Weird: w.decode_weird(read_weird(r)); break;
      case Kind::DecodeStats: w.set_decode_stats(read_decode_stats(r)); break;
    }
  }
}

}  // namespace

// What a SIGHUP puts in force.
struct CaptureLoop::Reload {
  SiteConfig config;
  std::vector<std::unique_ptr<rules::RuleMatcher>> matchers;  // by worker, each taken by its worker at the swap
};

CaptureLoop::CaptureLoop(const CaptureLoopSetup& setup) : setup_(setup), current_policy_(setup.policy) {
  const unsigned n = std::max(1u, setup_.workers);
  // One worker runs on the loop's thread unless a reading thread is asked for; polling workers (DPDK
  // queues) and several workers always have threads of their own.
  inline_worker_ = n == 1 && !setup_.reader_thread;
  const bool ringed = !inline_worker_ && !setup_.workers_poll;
  for (unsigned i = 0; i < n; ++i) {
    auto s = std::make_unique<Slot>();
    s->index = i;
    s->worker = setup_.make_worker(i, setup_.notices->outbox(i));
    if (ringed) {
      s->ring = std::make_unique<PacketRing>(kRingBytes);
      s->decoder = std::make_unique<Decoder>(s->worker->decode_config());
      s->ring_weirds = std::make_unique<RingWeirds>(*s->ring);
    }
    slots_.push_back(std::move(s));
  }
  if (setup_.stats && setup_.stats_interval_ns) stats_logs_.emplace(*setup_.stats, false, setup_.syslog);
  if (ringed) {  // polling workers start in run_queues()
    for (auto& sp : slots_) {
      Slot* s = sp.get();
      s->thread = std::thread([this, s] {
        PacketRing::Batch b;
        for (;;) {
          s->ring->read(b);
          feed(*s->worker, b);
          s->ring->release();
          if (b.tick) {
            s->worker->advance(b.tick_ns);
            on_worker_tick(*s, s->ticks++, b.tick_ns);
          }
          s->worker->maybe_handoff();
          if (b.end) break;
        }
        s->worker->finish();
        s->thread_cpu_s = thread_cpu_seconds();
      });
    }
  }
}

CaptureLoop::~CaptureLoop() {
  // finish() joins the threads; a loop destroyed before (an exception at start-up) must too.
  stop_polling_.store(true, std::memory_order_release);
  for (auto& s : slots_) {
    if (s->thread.joinable()) {
      if (s->ring) s->ring->push_end();
      s->thread.join();
    }
  }
  slots_.clear();  // the workers point into the reloaded configurations, members declared after them
}

// On the worker's thread, after its clock reached the tick: the loop's requests for this tick. Two
// relaxed-cost loads per tick, nothing per packet.
void CaptureLoop::on_worker_tick(Slot& s, uint64_t k, uint64_t now_ns) {
  if (swap_at_.load(std::memory_order_acquire) == k) {
    Reload& r = *next_.load(std::memory_order_acquire);
    const SiteConfig& c = r.config;
    s.worker->set_policy(c.policy.get(), now_ns);
    s.worker->set_rules(c.rules.get(), std::move(r.matchers[s.index]));  // only this worker touches its entry
    s.worker->set_attestation(c.attestation.present, c.attestation.port);
    s.swap_done.store(k, std::memory_order_release);
  }
  if (assets_at_.load(std::memory_order_acquire) == k) {
    // A copy, on this thread: the loop never reads an inventory that is being written.
    s.assets = s.worker->assets().snapshot();
    s.assets_done.store(k, std::memory_order_release);
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
  if (inline_worker_) {
    slots_[0]->worker->process(burst.pkts, burst.count);
    return;
  }
  const size_t n = slots_.size();
  if (n == 1) {
    for (size_t i = 0; i < burst.count; ++i) decode_to(*slots_[0], burst.pkts[i]);
    return;
  }
  for (size_t i = 0; i < burst.count; ++i) {
    const PacketView& p = burst.pkts[i];
    // Both directions of every flow between two hosts (and every fragment) reach the same worker.
    decode_to(*slots_[symmetric_host_pair_hash(p) % n], p);
  }
}

// The worker's decoding, on the loop's thread (sensor/ring_records.hpp): the worker gets the decoded
// packet, or only the count of one with nothing to track, after the weirds its decoding reported.
void CaptureLoop::decode_to(Slot& s, const PacketView& p) {
  if (s.decoder->decode(p, s.decoded, *s.ring_weirds) == DecodeResult::Ok) {
    if (s.decoded.ip_version != 0) {  // what the flow table tracks
      s.decoded.flow_hash = FlowTable::hash_of(s.decoded);
      s.decoded.has_flow_hash = true;
    }
    push_decoded(*s.ring, s.decoded, p.caplen);
  } else {
    push_counted(*s.ring, p.ts_ns, p.caplen);
  }
}

// Every worker's clock advances at the same points of the input as a single worker's would, so a
// replay's logs are the same whatever the number of workers.
void CaptureLoop::tick(uint64_t now_ns, bool idle) {
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
      measurements_.push_back(Measurement{now_ns_, k, sample_sources()});
      const uint64_t n = stats_asked_.load(std::memory_order_relaxed);
      stats_at_[n % kMaxMeasurements].store(k, std::memory_order_relaxed);
      stats_asked_.store(n + 1, std::memory_order_release);
      last_measured_ns_ = now_ns_;
      next_stats_ns_ = now_ns_ + setup_.stats_interval_ns;
    }
  }
  if (setup_.inventory_interval_ns && setup_.write_assets) {
    // As stats.log: the first one interval after the first packet; one request at a time (the workers
    // answer at the tick asked for, so a slow worker delays the inventory, never the packets).
    if (next_assets_ns_ == 0) {
      next_assets_ns_ = (first_ts_ns_ ? first_ts_ns_ : now_ns_) + setup_.inventory_interval_ns;
    } else if (!assets_pending_ && now_ns_ >= next_assets_ns_) {
      assets_at_.store(k, std::memory_order_release);
      assets_pending_ = true;
      assets_ns_ = now_ns_;
      next_assets_ns_ = now_ns_ + setup_.inventory_interval_ns;
    }
  }
  if (staged_ && !issued_) issue_reload(k);
  if (inline_worker_) {
    Slot& s = *slots_[0];
    s.worker->advance(now_ns_);
    on_worker_tick(s, s.ticks++, now_ns_);
    s.worker->maybe_handoff();
  } else if (setup_.workers_poll) {
    // The polling workers catch up with the ticks between their bursts (poll_queues).
    tick_ns_.store(now_ns_, std::memory_order_relaxed);
    ticks_issued_.store(k + 1, std::memory_order_release);
  } else {
    for (auto& s : slots_) {
      // Worker::advance expires fragments first, then flows: the expiry's weirds go before the tick.
      s->decoder->expire(now_ns_, *s->ring_weirds);
      push_decode_stats(*s->ring, s->decoder->stats());
      s->ring->push_tick(now_ns_);
      s->ring->publish();
    }
  }
  if (setup_.attest) setup_.attest->tick(now_ns_);
  setup_.notices->tick(now_ns_);
  pump_stages(idle);
}

// The stages take the ticks every worker has finished. With the worker on a thread of its own that is
// usually the tick before the one just issued, so this runs again whenever the loop waits for input
// (run_files on a paused FIFO, run_live's quiet rounds): what the workers made must not wait for the next
// packet to reach notice.log and the SIEM. The attestation stage's ticks go to its thread here (its
// notices of a tick follow once it has verified that tick's datagrams).
void CaptureLoop::pump_stages(bool idle) {
  if (setup_.attest) setup_.attest->poll(idle);
  setup_.notices->poll();  // the ticks every worker (and the attestation stage) has finished
  collect(false);
}

std::vector<SourceSample> CaptureLoop::sample_sources() {
  std::vector<SourceSample> out;
  for (PacketSource* s : sources_) out.push_back(SourceSample{s->name(), s->stats()});
  return out;
}

// Writes the stats records and completes a reload once every worker has answered; `wait`: until they
// have (the end of the run).
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
    write_stats(measurements_.front().ts_ns, ws, measurements_.front().sources);
    measurements_.pop_front();
    ++stats_written_;
    close_own_ticks();
  }
  close_own_ticks();
  settle_reload(wait);
  collect_assets();
}

// Writes the inventory snapshot asked for once every worker has taken its copy.
void CaptureLoop::collect_assets() {
  if (!assets_pending_) return;
  const uint64_t at = assets_at_.load(std::memory_order_relaxed);
  for (auto& s : slots_) {
    if (s->assets_done.load(std::memory_order_acquire) != at) return;
  }
  std::vector<std::vector<Asset>> parts;
  for (auto& s : slots_) parts.push_back(std::move(s->assets));
  setup_.write_assets(parts, current_policy_, assets_ns_);
  assets_pending_ = false;
}

// stats.log and capture_loss.log, and the notices the interval deserves, into the loop's outbox.
void CaptureLoop::write_stats(uint64_t ts_ns, std::span<const WorkerStats> workers,
                              std::span<const SourceSample> sources) {
  const CaptureInterval interval = stats_logs_->write(*setup_.main_sink, ts_ns, wall_ns(), workers, sources);
  if (!setup_.own_notices) return;
  own_notices_.clear();
  capture_health_notices(interval, setup_.health, own_notices_);
  for (Notice& n : own_notices_) {
    const uint64_t key = notice_key(n);
    setup_.own_notices->put(RaisedNotice{std::move(n), key});
  }
}

// Closes the loop's notice outbox up to the tick of the oldest measurement not yet written, or up to the
// last tick issued: the notice stage takes a tick once every outbox has closed it.
void CaptureLoop::close_own_ticks() {
  if (!setup_.own_notices) return;
  const uint64_t until = measurements_.empty() ? tick_seq_ : measurements_.front().tick;
  for (; own_closed_ < until; ++own_closed_) setup_.own_notices->close_tick();
}

// Live runs write the logs they have every kLiveFlushEvery (a replay writes them at the end, sorted).
bool CaptureLoop::flush_live(std::chrono::steady_clock::time_point& last_flush) {
  const auto t = std::chrono::steady_clock::now();
  if (t - last_flush < kLiveFlushEvery) return true;
  last_flush = t;
  setup_.main_sink->handoff();
  setup_.logs->request_handoff();
  try {
    setup_.logs->flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otsensor: error: %s\n", e.what());
    return false;
  }
  return true;
}

// The next tick, k, brings the staged configuration: to the workers (on_worker_tick), and to the notice
// and attestation stages, which switch after consuming that same tick, so their logs do not depend on -w.
void CaptureLoop::issue_reload(uint64_t k) {
  issued_ = std::move(staged_);
  const SiteConfig& c = issued_->config;
  current_policy_ = c.policy.get();
  swap_ns_ = now_ns_;
  announced_ = false;
  setup_.notices->switch_config(k, c.rules.get(), notice_suppress_ns(c.policy.get()));
  if (setup_.attest) setup_.attest->switch_config(k, c.attestation, c.policy.get());
  next_.store(issued_.get(), std::memory_order_release);
  swap_at_.store(k, std::memory_order_release);
}

// The issued reload is in force once every worker has switched (stderr says so: what arrives after it
// meets the new configuration) and complete once the stages have too; the configuration it replaced
// can go then (its model stays: see capture_loop.hpp). `wait`: for the workers.
void CaptureLoop::settle_reload(bool wait) {
  if (!issued_) return;
  const uint64_t at = swap_at_.load(std::memory_order_relaxed);
  const auto switched = [&] {
    return std::all_of(slots_.begin(), slots_.end(),
                       [&](const auto& s) { return s->swap_done.load(std::memory_order_acquire) == at; });
  };
  while (wait && !switched()) std::this_thread::yield();
  if (!switched()) return;
  if (!announced_) {
    announced_ = true;
    std::fprintf(stderr,
                 "otsensor: SIGHUP: the reloaded configuration is in force in every worker from packet time %.6f\n",
                 static_cast<double>(swap_ns_) / 1e9);
  }
  if (setup_.notices->ticks_done() <= at || (setup_.attest && setup_.attest->ticks_done() <= at)) return;
  if (in_force_ && in_force_->config.policy) retired_policies_.push_back(std::move(in_force_->config.policy));
  in_force_ = std::move(issued_);
}

void CaptureLoop::report(const std::string& problem, const char* weird_name) {
  std::fprintf(stderr, "otsensor: warning: %s\n", problem.c_str());
  ++warnings_;
  WeirdEvent ev;
  ev.ts_ns = now_ns_;
  ev.name = weird_name;
  ev.addl = problem;
  ev.source = "capture";
  UidTextCache no_uids;  // capture problems belong to no connection: never looked up
  write_weird(*setup_.main_sink, setup_.ids->weird, ev, no_uids);
}

bool CaptureLoop::handle_signals() {
  if (!signal_pending()) return false;
  const SignalRequests r = take_signal_requests();
  if (r.reload) reload();
  if (r.stop) stopped_ = true;
  return r.stop;
}

// SIGHUP: logrotate has moved the log files away (or not); every open file gets its #close and is
// reopened, with a new header, at its next record. Then the site model and every rule file are read
// again and compiled, here on the loop's thread and off the packet path: all or nothing, so that a
// mistake in any file leaves the whole configuration in force as it was.
void CaptureLoop::reload() {
  setup_.main_sink->handoff();
  setup_.logs->request_handoff();
  try {
    setup_.logs->reopen();
    std::fprintf(stderr, "otsensor: SIGHUP: log files reopened\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otsensor: error: reopening the logs: %s\n", e.what());
  }
  if (setup_.site_file.empty() && setup_.extra_rule_files.empty()) return;
  auto next = std::make_unique<Reload>();
  std::vector<std::string> errors;
  const SiteLoad loaded = load_site_config(setup_.site_file, setup_.extra_rule_files, next->config, errors);
  next->matchers.resize(slots_.size());
  if (loaded == SiteLoad::Ok && next->config.rules) {
    try {  // each worker's scratch for the new databases
      for (auto& m : next->matchers) m = std::make_unique<rules::RuleMatcher>(*next->config.rules);
    } catch (const std::exception& e) {
      errors.push_back(std::string("rules: ") + e.what());
    }
  }
  const size_t n = errors.size();
  const char* s = n == 1 ? "" : "s";
  if (loaded != SiteLoad::Ok || n) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (setup_.site_file.empty()) {
      std::fprintf(stderr,
                   "otsensor: error: SIGHUP: reload refused (%zu problem%s in the rules); the rules in force stay\n", n, s);
    } else {
      std::fprintf(stderr,
                   "otsensor: error: SIGHUP: reload refused (%zu problem%s in the site model %s or its rules); the "
                   "model in force stays, with its rules\n",
                   n, s, setup_.site_file.c_str());
    }
    return;
  }
  // In force from the next tick; a configuration staged by an earlier SIGHUP and not yet issued is replaced.
  staged_ = std::move(next);
  const SiteConfig& c = staged_->config;
  const size_t rules = c.rules ? c.rules->rules().size() : 0, files = c.rule_files.size();
  const std::string rules_text = fmt::format("{} rule{} from {} file{}", rules, rules == 1 ? "" : "s", files,
                                             files == 1 ? "" : "s");
  if (c.policy) {
    const size_t zones = c.policy->zones().size(), conduits = c.policy->conduits().size();
    std::fprintf(stderr, "otsensor: SIGHUP: site model %s reloaded (%zu zone%s, %zu conduit%s, %s%s)\n",
                 setup_.site_file.c_str(), zones, zones == 1 ? "" : "s", conduits, conduits == 1 ? "" : "s",
                 c.attestation.present ? "attestation, " : "", rules_text.c_str());
  } else {
    std::fprintf(stderr, "otsensor: SIGHUP: rules reloaded (%s)\n", rules_text.c_str());
  }
  // The worker count, flow table sizes, timeouts and SIEM destinations are fixed when the pipeline is
  // built: rather than apply part of a changed section, the running sensor keeps them and says so.
  if (!setup_.site_file.empty() && c.restart_sections != setup_.restart_sections) {
    std::fprintf(stderr,
                 "otsensor: warning: SIGHUP: the sensor: or outputs: section of %s changed; it takes effect when "
                 "the sensor restarts (the running sensor keeps the one it started with)\n",
                 setup_.site_file.c_str());
  }
}

bool CaptureLoop::run_files(SourceMerge& merge) {
  live_ = false;
  for (auto& s : merge.sources()) sources_.push_back(s.get());
  PacketBurst burst;
  const auto problems = [&] {
    for (const std::string& p : merge.take_problems()) report(p, "capture_file_problem");
  };
  // A FIFO or pipe whose writer pauses (a slow replay, tcpdump -U into a FIFO) makes the merge return
  // Idle after the wait (capture/pcap_stream.hpp). The loop then takes its turn as a quiet live sensor
  // does, without a tick (packet time is the packets' here): the stages take what the workers finished,
  // signals are handled, and from the first pause on the logs are written every second as a live run's, so
  // that notices reach notice.log (and the SIEM) while the writer waits. A regular file never pauses: its
  // logs are written at the end, in one sorted pass.
  merge.set_idle_wait(kIdleWaitMs);
  bool paced = false, failed = false;
  auto last_flush = std::chrono::steady_clock::now();
  while (!handle_signals()) {
    const SourceStatus st = merge.next(burst);
    if (st == SourceStatus::Ok) {
      dispatch(burst);
      tick(now_ns_);
      problems();
    } else if (st == SourceStatus::Idle) {
      paced = true;
      pump_stages(true);
      problems();
    } else {
      break;
    }
    if (paced && !flush_live(last_flush)) {
      failed = true;
      break;
    }
  }
  problems();
  finish();
  return !failed;
}

bool CaptureLoop::run_live(std::vector<std::unique_ptr<PacketSource>>& sources) {
  live_ = true;
  if (stats_logs_) stats_logs_.emplace(*setup_.stats, true, setup_.syslog);
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
    if (!got) tick(std::max(now_ns_, wall_ns()), true);
    if (!flush_live(last_flush)) {
      failed = true;
      break;
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
  if (inline_worker_) {
    slots_[0]->worker->finish();
  } else {
    stop_polling_.store(true, std::memory_order_release);  // polling workers answer the last ticks, then end
    for (auto& s : slots_) {
      if (!s->ring) continue;
      push_decode_stats(*s->ring, s->decoder->stats());
      s->ring->push_end();
    }
    for (auto& s : slots_) s->thread.join();
  }
  // A periodic inventory asked for at one of the last ticks: every worker answered it before it ended, but
  // perhaps after collect() looked; written now, not lost (a loop that ran ahead of its workers lost it).
  collect_assets();
  for (auto& s : slots_) {
    final_stats_.push_back(s->worker->stats());
    final_stats_.back().thread_cpu_s = s->thread_cpu_s;
    final_assets_.push_back(s->worker->assets().snapshot());
  }
  // Zeek writes one more stats record when it terminates (check_stats runs as its timer expires); not
  // when the last measurement was taken at this very packet time. Its notices join the workers' final
  // batch (Worker::finish closes one more tick), before the notice stage finishes.
  if (stats_logs_ && next_stats_ns_ != 0 && !(stats_written_ && last_measured_ns_ == now_ns_)) {
    write_stats(now_ns_, final_stats_, sample_sources());
  }
  if (setup_.own_notices) setup_.own_notices->close_tick();
  if (setup_.attest) setup_.attest->finish();
  setup_.notices->finish();
}

}  // namespace ots
