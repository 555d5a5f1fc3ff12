#include "rules/rule_thresholds.hpp"

#include <fmt/format.h>

#include <cstring>

#include "rules/rule_notice.hpp"

namespace ots::rules {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h;
}

uint64_t mix_addr(uint64_t h, const IpAddr& a) {
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  return mix(mix(h, lo), hi);
}

}  // namespace

bool RuleThresholds::admit(Notice& n) {
  if (n.note != kRuleMatchNote) return true;
  const Rule* r = db_->find(n.rule_id);
  if (!r || !r->threshold) return true;
  const Threshold& t = *r->threshold;
  uint64_t key = mix(0, r->id);
  if (t.track != Track::ByDst) key = mix_addr(mix(key, 1), n.src);
  if (t.track != Track::BySrc) key = mix_addr(mix(key, 2), n.dst);
  Window& w = windows_[key];
  if (w.count == 0 || n.ts_ns >= w.until_ns) w = Window{r->id, n.ts_ns, n.ts_ns + t.seconds_ns, 0, false};
  ++w.count;
  if (w.fired || w.count < t.count) return false;
  w.fired = true;
  const char* by = t.track == Track::BySrc ? "source" : t.track == Track::ByDst ? "destination" : "source and destination";
  n.sub = fmt::format("threshold: {} hits from this {} within {} s ({})", w.count, by, t.seconds_ns / 1'000'000'000ull, n.sub);
  return true;
}

void RuleThresholds::rebind(const RuleDatabase& db) {
  std::erase_if(windows_, [&](const auto& kv) {
    const Rule* before = db_->find(kv.second.rule_id);
    const Rule* after = db.find(kv.second.rule_id);
    return !before || !after || before->threshold != after->threshold;
  });
  db_ = &db;
}

void RuleThresholds::advance(uint64_t now_ns) {
  if (windows_.empty() || now_ns < next_sweep_ns_) return;
  next_sweep_ns_ = now_ns + 1'000'000'000ull;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (it->second.until_ns <= now_ns) it = windows_.erase(it);
    else ++it;
  }
}

}  // namespace ots::rules
