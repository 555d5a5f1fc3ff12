// A cross-worker ordered stage: what workers raise (notices today; attestation verdicts and rule hits
// later) reaches one consumer, on one thread, in an order that does not depend on the number of workers.
//
// Each worker puts items into its own outbox (no lock: the outbox's open batch is the worker's alone)
// and closes the batch at every tick of the run loop (Worker::advance) and once more at the end
// (Worker::finish). The run loop issues the same ticks at the same points of the input whatever the number
// of workers, so tick k holds the same items with 1 or N workers, only spread differently over the
// outboxes. The stage takes a tick once every outbox has closed it, sorts that tick's items (the item
// type's order must not depend on which worker raised an item) and hands them to the consumer, tick by
// tick. A lock is taken only for a batch that has items (notices are rare); the stage never blocks a worker.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace ots {

template <class T>
class StageOutbox {
 public:
  // Worker thread.
  void put(T item) { open_.push_back(std::move(item)); }
  // Worker thread: the current tick ended; what it raised goes to the stage.
  void close_tick() {
    if (!open_.empty()) {
      std::lock_guard<std::mutex> lk(mu_);
      closed_.push_back(Batch{ticks_, std::move(open_)});
      open_ = {};
      batches_.fetch_add(1, std::memory_order_release);
    }
    ++ticks_;
    closed_ticks_.store(ticks_, std::memory_order_release);
  }

  // Stage thread: how many ticks the worker has closed.
  uint64_t closed_ticks() const { return closed_ticks_.load(std::memory_order_acquire); }
  // Stage thread: appends the items of tick `tick` to `out` (ticks are taken in order).
  void take(uint64_t tick, std::vector<T>& out) {
    if (batches_.load(std::memory_order_acquire) == taken_) return;  // nothing handed over: no lock
    std::lock_guard<std::mutex> lk(mu_);
    while (!closed_.empty() && closed_.front().tick <= tick) {
      for (T& item : closed_.front().items) out.push_back(std::move(item));
      closed_.pop_front();
      ++taken_;
    }
  }

 private:
  struct Batch {
    uint64_t tick;
    std::vector<T> items;
  };
  std::vector<T> open_;  // worker only
  uint64_t ticks_ = 0;   // worker only
  alignas(64) std::atomic<uint64_t> closed_ticks_{0};
  std::atomic<uint64_t> batches_{0};  // batches handed over so far
  uint64_t taken_ = 0;                // stage only: batches taken so far
  std::mutex mu_;
  std::deque<Batch> closed_;
};

// `Less` orders one tick's items; Consumer is called as consume(std::span<T> items, const uint64_t* tick_ns)
// with the items of one tick in order, and the tick's packet time (null for the final batch, closed at
// the end of input).
template <class T, class Less>
class OrderedStage {
 public:
  explicit OrderedStage(size_t workers, Less less = Less{}) : less_(less) {
    for (size_t i = 0; i < workers; ++i) outboxes_.push_back(std::make_unique<StageOutbox<T>>());
  }

  StageOutbox<T>& outbox(size_t worker) { return *outboxes_[worker]; }
  size_t workers() const { return outboxes_.size(); }

  // Stage thread: the run loop issued a tick at packet time now_ns (to every worker).
  void tick(uint64_t now_ns) { tick_ns_.push_back(now_ns); }

  // Stage thread: consumes every tick that all workers have closed. Never waits.
  template <class Consumer>
  void poll(Consumer&& consume) {
    uint64_t ready = UINT64_MAX;
    for (const auto& o : outboxes_) ready = std::min(ready, o->closed_ticks());
    while (next_ < ready && !tick_ns_.empty()) {
      const uint64_t now = tick_ns_.front();
      run_tick(consume, &now);
      tick_ns_.pop_front();
    }
  }

  // Stage thread, once the workers have stopped (their final batch closed): consumes everything left.
  template <class Consumer>
  void finish(Consumer&& consume) {
    poll(consume);
    uint64_t last = 0;
    for (const auto& o : outboxes_) last = std::max(last, o->closed_ticks());
    while (next_ < last) run_tick(consume, nullptr);
  }

 private:
  template <class Consumer>
  void run_tick(Consumer& consume, const uint64_t* now) {
    items_.clear();
    for (const auto& o : outboxes_) o->take(next_, items_);
    std::sort(items_.begin(), items_.end(), less_);
    consume(std::span<T>(items_), now);
    ++next_;
  }

  Less less_;
  std::vector<std::unique_ptr<StageOutbox<T>>> outboxes_;
  std::deque<uint64_t> tick_ns_;  // packet time of each tick issued and not yet consumed
  uint64_t next_ = 0;             // the next tick to consume
  std::vector<T> items_;
};

}  // namespace ots
