// A bounded hand-off queue from one producer thread to one consumer thread, for a stage that runs on a
// thread of its own (the attestation stage: sensor/attest_stage.hpp).
//
// As PacketRing does for the workers, pushes are cheap and do not wake the consumer; publish() does, after
// a batch, and only when the consumer sleeps for lack of work: a stage that is idle most of the time is
// not woken for every tick. Full: the producer publishes what it has, then waits for room (backpressure:
// nothing is lost, and the wait is counted). Both sides sleep on condition variables, never spin.
// close() ends the queue: the consumer gets what is left, then nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace ots {

struct StageQueueStats {
  size_t capacity = 0;
  size_t peak = 0;          // items queued at once, at most
  uint64_t full_waits = 0;  // pushes that found the queue full and waited
  uint64_t wait_ns = 0;     // the producer's time spent waiting for room
};

template <class T>
class StageQueue {
 public:
  using Stats = StageQueueStats;

  explicit StageQueue(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  StageQueue(const StageQueue&) = delete;
  StageQueue& operator=(const StageQueue&) = delete;

  // Producer. Waits while the queue is full (unless the consumer has abandoned it: the item is dropped then).
  void push(T item) {
    std::unique_lock l(mu_);
    if (items_.size() >= capacity_ && !abandoned_) {
      const auto t0 = std::chrono::steady_clock::now();
      ++stats_.full_waits;
      publish_locked();  // the consumer may be asleep waiting for what is queued
      producer_waits_ = true;
      room_.wait(l, [this] { return items_.size() < capacity_ || abandoned_; });
      producer_waits_ = false;
      stats_.wait_ns += static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    }
    if (abandoned_) return;
    items_.push_back(std::move(item));
    if (items_.size() > stats_.peak) stats_.peak = items_.size();
  }
  // Producer: what was pushed becomes visible to the consumer, which is woken if it sleeps.
  void publish() {
    std::lock_guard l(mu_);
    publish_locked();
  }
  // Producer: no more items; the consumer takes what is left, then pop() says so.
  void close() {
    std::lock_guard l(mu_);
    closed_ = true;
    publish_locked();
    work_.notify_one();
  }
  // Producer: nothing queued (published or not).
  bool empty() const {
    std::lock_guard l(mu_);
    return items_.empty();
  }

  // Consumer: the next published item; waits for one. Empty once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock l(mu_);
    consumer_waits_ = true;
    work_.wait(l, [this] { return visible_ > 0 || (closed_ && items_.empty()); });
    consumer_waits_ = false;
    if (visible_ == 0) return std::nullopt;
    std::optional<T> out(std::move(items_.front()));
    items_.pop_front();
    --visible_;
    if (producer_waits_) room_.notify_one();
    return out;
  }
  // Consumer: it stops taking items (it failed); a producer waiting for room, and later pushes, go on.
  void abandon() {
    std::lock_guard l(mu_);
    abandoned_ = true;
    items_.clear();
    visible_ = 0;
    room_.notify_one();
  }

  Stats stats() const {
    std::lock_guard l(mu_);
    Stats s = stats_;
    s.capacity = capacity_;
    return s;
  }

 private:
  void publish_locked() {
    if (visible_ == items_.size()) return;
    visible_ = items_.size();
    if (consumer_waits_) work_.notify_one();
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable work_;  // the consumer waits here for published items
  std::condition_variable room_;  // the producer waits here while the queue is full
  std::deque<T> items_;
  size_t visible_ = 0;  // the first `visible_` items are published
  bool consumer_waits_ = false, producer_waits_ = false;
  bool closed_ = false, abandoned_ = false;
  Stats stats_;
};

}  // namespace ots
