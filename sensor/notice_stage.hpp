// The central notice stage: workers raise notices, unsuppressed, into outboxes of their own; one stage
// merges them tick by tick in an order that does not depend on the number of workers, applies Zeek-style
// suppression (a notice keyed by one address can come from flows on different workers), writes
// notice.log and calls the forwarder (the SIEM outputs). So notice.log is the same whatever -w is.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "output/log_manager.hpp"
#include "output/notice.hpp"
#include "sensor/ordered_stage.hpp"

namespace ots {

namespace rules {
class RuleDatabase;
class RuleThresholds;
}  // namespace rules

// A notice as a worker raised it, with its suppression key (computed on the worker's thread).
struct RaisedNotice {
  Notice notice;
  uint64_t key = 0;
};

// The stage's order within one tick: (ts, uid, note, suppression key), then the text, so that identical
// input gives identical logs whichever worker raised what.
struct RaisedNoticeLess {
  bool operator()(const RaisedNotice& a, const RaisedNotice& b) const;
};

using NoticeOutbox = StageOutbox<RaisedNotice>;

class NoticeStage {
 public:
  // Writes through a sink of its own; used on one thread (the run loop's). With `rules`, the Rule::Match
  // notices of rules with a threshold pass the thresholds (rules/rule_thresholds.hpp) before suppression:
  // here every worker's hits meet, in one order.
  NoticeStage(size_t workers, LogManager& logs, LogId notice_log, uint64_t suppress_ns,
              NoticeForwarder* forwarder = nullptr, const rules::RuleDatabase* rules = nullptr);
  ~NoticeStage();
  NoticeStage(const NoticeStage&) = delete;
  NoticeStage& operator=(const NoticeStage&) = delete;

  NoticeOutbox& outbox(size_t worker) { return stage_.outbox(worker); }

  // The run loop issued a tick at packet time now_ns to every worker (after their packets up to it).
  void tick(uint64_t now_ns) { stage_.tick(now_ns); }
  // Writes the notices of every tick all workers have finished; never waits for a worker.
  void poll();
  // Every worker has finished (Worker::finish): writes what is left, reports the open suppression
  // windows and hands the records to the log manager.
  void finish();

  // SIGHUP: the workers switched to `rules` (null: none) after their tick `tick`. Their Rule::Match
  // notices up to that tick pass the old set's thresholds, later ones the new set's, whose counts go on
  // for the rules it keeps unchanged (RuleThresholds::rebind): a switch at the same tick whatever -w is.
  // Notices after it are suppressed for the model's new `suppress_ns`; a window opened before keeps its
  // end. One switch at a time (the run loop waits for ticks_done() to pass it).
  void switch_config(uint64_t tick, const rules::RuleDatabase* rules, uint64_t suppress_ns);
  // Ticks consumed so far.
  uint64_t ticks_done() const { return ticks_done_; }

  uint64_t raised() const { return writer_.raised(); }
  uint64_t written() const { return writer_.written(); }

 private:
  void consume(std::span<RaisedNotice> notices, const uint64_t* tick_ns);

  OrderedStage<RaisedNotice, RaisedNoticeLess> stage_;
  std::unique_ptr<LogSink> sink_;
  NoticeWriter writer_;
  std::unique_ptr<rules::RuleThresholds> thresholds_;
  struct Switch {
    uint64_t at = 0;
    const rules::RuleDatabase* rules = nullptr;
    uint64_t suppress_ns = 0;
  };
  std::optional<Switch> switch_;
  uint64_t ticks_done_ = 0;
};

}  // namespace ots
