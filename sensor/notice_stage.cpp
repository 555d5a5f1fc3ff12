#include "sensor/notice_stage.hpp"

#include <tuple>

#include "rules/rule_thresholds.hpp"

namespace ots {

bool RaisedNoticeLess::operator()(const RaisedNotice& a, const RaisedNotice& b) const {
  const Notice& x = a.notice;
  const Notice& y = b.notice;
  return std::tie(x.ts_ns, x.uid, x.note, a.key, x.msg, x.sub) < std::tie(y.ts_ns, y.uid, y.note, b.key, y.msg, y.sub);
}

NoticeStage::NoticeStage(size_t workers, LogManager& logs, LogId notice_log, uint64_t suppress_ns,
                         NoticeForwarder* forwarder, const rules::RuleDatabase* rules)
    : stage_(workers), sink_(logs.make_sink()), writer_(*sink_, notice_log, suppress_ns, forwarder) {
  if (rules) thresholds_ = std::make_unique<rules::RuleThresholds>(*rules);
}

NoticeStage::~NoticeStage() = default;

void NoticeStage::consume(std::span<RaisedNotice> notices, const uint64_t* tick_ns) {
  for (RaisedNotice& r : notices) {
    if (thresholds_ && !thresholds_->admit(r.notice)) continue;
    writer_.raise(r.notice, r.key);
  }
  // Suppression windows close at the ticks' packet times, as they did in each worker.
  if (tick_ns) {
    writer_.advance(*tick_ns);
    if (thresholds_) thresholds_->advance(*tick_ns);
  }
  if (switch_ && switch_->at == ticks_done_) {
    const rules::RuleDatabase* next = switch_->rules;
    writer_.set_suppress_ns(switch_->suppress_ns);
    switch_.reset();
    if (!next) thresholds_.reset();
    else if (thresholds_) thresholds_->rebind(*next);
    else thresholds_ = std::make_unique<rules::RuleThresholds>(*next);
  }
  ++ticks_done_;
}

void NoticeStage::switch_config(uint64_t tick, const rules::RuleDatabase* rules, uint64_t suppress_ns) {
  switch_ = Switch{tick, rules, suppress_ns};
}

void NoticeStage::poll() {
  stage_.poll([this](std::span<RaisedNotice> n, const uint64_t* t) { consume(n, t); });
  if (sink_->wants_handoff()) sink_->handoff();
}

void NoticeStage::finish() {
  stage_.finish([this](std::span<RaisedNotice> n, const uint64_t* t) { consume(n, t); });
  writer_.flush();
  sink_->handoff();
}

}  // namespace ots
