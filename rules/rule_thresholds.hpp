// Rule thresholds ({count, seconds, track}), applied where every worker's hits meet: on the notice
// stage's thread, in its worker-count-independent order. A source's flows can be on different workers,
// so a count per source kept in one worker would depend on -w.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "output/notice.hpp"
#include "rules/rule_database.hpp"

namespace ots::rules {

class RuleThresholds {
 public:
  explicit RuleThresholds(const RuleDatabase& db) : db_(&db) {}

  // True when `n` goes on to notice.log: any notice but a Rule::Match of a rule with a threshold, and
  // the hit that brings the rule's count for the tracked address(es) to `count` within `seconds` of the
  // window's first hit (sub then says so). The window's other hits are counted and dropped; the next
  // hit after the window starts a new one (Suricata's threshold type "both").
  bool admit(Notice& n);
  // Packet time moved: forget windows that ended.
  void advance(uint64_t now_ns);
  // A reloaded rule set (SIGHUP; the old one is still alive): the windows of rules it keeps with the
  // same threshold go on counting, so a reload (logrotate's, daily) neither resets an attack's count
  // nor fires it twice; those of rules it drops, or whose threshold it changes, are forgotten.
  void rebind(const RuleDatabase& db);
  size_t windows() const { return windows_.size(); }

 private:
  struct Window {
    uint64_t rule_id = 0;
    uint64_t start_ns = 0;
    uint64_t until_ns = 0;
    uint32_t count = 0;
    bool fired = false;
  };
  const RuleDatabase* db_;
  std::unordered_map<uint64_t, Window> windows_;
  uint64_t next_sweep_ns_ = 0;
};

}  // namespace ots::rules
