#include "sensor/source_merge.hpp"

namespace ots {

SourceMerge::SourceMerge(std::vector<std::unique_ptr<PacketSource>> sources)
    : sources_(std::move(sources)), cursors_(sources_.size()) {}

void SourceMerge::set_idle_wait(int milliseconds) {
  for (auto& s : sources_) s->set_idle_wait(milliseconds);
}

SourceStatus SourceMerge::refill(size_t i) {
  Cursor& c = cursors_[i];
  c.next = 0;
  c.burst.count = 0;
  const SourceStatus st = sources_[i]->next_burst(c.burst);
  for (auto& w : sources_[i]->take_warnings()) problems_.push_back(std::move(w));
  if (st == SourceStatus::Ok && c.burst.count > 0) return SourceStatus::Ok;
  if (st == SourceStatus::Idle) return st;
  if (st == SourceStatus::Error) problems_.push_back(sources_[i]->name() + ": " + sources_[i]->error());
  c.done = true;
  return SourceStatus::End;
}

SourceStatus SourceMerge::next(PacketBurst& out) {
  out.count = 0;
  if (sources_.size() == 1) {  // the common case: bursts pass straight through
    Cursor& c = cursors_[0];
    if (c.done) return SourceStatus::End;
    const SourceStatus st = refill(0);
    if (st != SourceStatus::Ok) return st;
    out = c.burst;
    c.next = c.burst.count;
    return SourceStatus::Ok;
  }
  // A source's views die when it is refilled, so refill only sources none of whose packets are in `out`.
  bool waiting = false;
  for (size_t i = 0; i < cursors_.size(); ++i) {
    if (!cursors_[i].done && cursors_[i].next >= cursors_[i].burst.count) {
      waiting |= refill(i) == SourceStatus::Idle;
    }
  }
  // The paused source's next packet may come before every packet the others hold.
  if (waiting) return SourceStatus::Idle;
  while (out.count < PacketBurst::kMaxPackets) {
    size_t best = cursors_.size();
    for (size_t i = 0; i < cursors_.size(); ++i) {
      const Cursor& c = cursors_[i];
      if (c.done || c.next >= c.burst.count) continue;
      if (best == cursors_.size() ||
          c.burst.pkts[c.next].ts_ns < cursors_[best].burst.pkts[cursors_[best].next].ts_ns) {
        best = i;
      }
    }
    if (best == cursors_.size()) break;
    Cursor& c = cursors_[best];
    out.pkts[out.count++] = c.burst.pkts[c.next++];
    // An exhausted source must be refilled before its next packet can be compared: end this burst.
    if (c.next >= c.burst.count) break;
  }
  return out.count > 0 ? SourceStatus::Ok : SourceStatus::End;
}

std::vector<std::string> SourceMerge::take_problems() {
  std::vector<std::string> p;
  p.swap(problems_);
  return p;
}

}  // namespace ots
