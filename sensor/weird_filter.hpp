// Which weirds reach weird.log: Zeek's Weird framework (base/frameworks/notice/weird.zeek, Zeek 7.2).
//
// Zeek does not log every weird. A weird is logged once per (name, identifier) within
// Weird::weird_ignore's 10 minutes, where the identifier is the connection's 4-tuple, the address pair
// of a flow weird, or nothing for a network weird; and Weird::actions limits some names further: once
// per originator host (checksums, fragment trouble), once per connection, or never. Without this, one
// retransmitting connection writes a row per segment (1.7 M rexmit_inconsistency rows on the benchmark
// capture), which costs more than the rest of the packet path and buries the weirds that matter.
//
// Nothing is lost silently: every weird is counted by name (weird_stats.log, --stats-json), logged or
// not. One filter per worker (shared-nothing): a connection's and an address pair's packets always reach
// the same worker, so the decisions do not depend on -w.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/weird.hpp"
#include "sensor/weird_entries.hpp"

namespace ots {

struct WeirdFilterConfig {
  // Weird::weird_ignore's &create_expire: a repeat of the same weird on the same identifier within this
  // much packet time is counted, not logged. 0: log every weird.
  uint64_t repeat_ns = 600'000'000'000ull;
  // Weird::did_log's &create_expire, for the names Zeek logs once per originator or connection.
  uint64_t limited_ns = 86'400'000'000'000ull;
  // Bound on remembered (name, identifier) entries per worker: past it the oldest is forgotten first,
  // so a storm of distinct weirds can write more rows, never use more memory.
  uint32_t max_entries = 1u << 16;
};

// Weird::Action, as far as it decides logging. Zeek's ACTION_NOTICE_* also raise a Weird::Activity
// notice; here they log like their ACTION_LOG_* counterparts (docs/LOGS.md).
enum class WeirdAction : uint8_t { Log, LogOnce, LogPerConn, LogPerOrig, Ignore };
WeirdAction weird_action(std::string_view name);

class WeirdFilter {
 public:
  explicit WeirdFilter(const WeirdFilterConfig& cfg = {}) : cfg_(cfg) {}

  // Counts the weird; true when it is to be written to weird.log.
  bool admit(const WeirdEvent& ev) { return admit_hinted(ev).logged; }
  // admit(), with a hint for the weird's repeats (WeirdSink::RepeatHint): a repeat before the hint's
  // time finds the entry that drops it as it is now (an entry's time only moves on when a weird at or
  // past it renews it), unless the entry was forgotten since. The bound forgets any entry, so it starts
  // a new epoch; expiry forgets only entries whose time is at or below the expiry's, so a hint whose
  // time is past every expiry's so far still holds (packet time going backwards is what that catches).
  struct Verdict {
    bool logged = false;
    WeirdSink::RepeatHint hint;
  };
  Verdict admit_hinted(const WeirdEvent& ev);
  // Counts a repeat of a hinted weird and says true when the hint covers it, as admit() would have
  // counted and dropped it; false (the hint ran out, or it is another name) counts nothing.
  bool repeated(const WeirdSink::RepeatHint& h, std::string_view name, uint64_t ts_ns) {
    if (!h.valid || h.epoch != epoch_ || ts_ns >= h.until_ns || h.until_ns <= expired_through_ ||
        h.name >= names_.size()) {
      return false;
    }
    Name& n = names_[h.name];
    if (n.text != name) return false;
    ++n.seen;
    ++seen_;
    return true;
  }
  // Forgets entries whose time ran out by packet time now_ns (bounds the memory between weirds).
  void expire(uint64_t now_ns);

  struct NameCount {
    std::string name;
    uint64_t seen = 0;    // every weird of the name since the start
    uint64_t logged = 0;  // of which written to weird.log
  };
  // Per name, in order of first appearance.
  std::vector<NameCount> counts() const;
  uint64_t seen() const { return seen_; }
  uint64_t logged() const { return logged_; }
  size_t remembered() const { return entries_.size(); }

 private:
  // A name's interned index, its action and counters.
  struct Name {
    std::string text;
    WeirdAction action;
    uint64_t seen = 0, logged = 0;
  };
  using Key = WeirdKey;
  struct Expiry {
    Key key;
    uint64_t until_ns;
  };

  uint32_t intern(std::string_view name);
  void forget(std::deque<Expiry>& q, uint64_t now_ns, bool force_one);

  WeirdFilterConfig cfg_;
  std::vector<Name> names_;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> name_index_;
  // The last name looked up: weirds come in runs of one name.
  uint32_t last_index_ = 0;
  // Names recently looked up, by where their text lies (most are literals, so the same name comes at the
  // same address): a run of interleaved names then hashes none of them. A hit still compares the text,
  // so a name whose memory was reused for another is looked up again.
  struct RecentName {
    const char* data = nullptr;
    size_t size = 0;
    uint32_t index = 0;
  };
  static constexpr size_t kRecentNames = 16;
  RecentName recent_[kRecentNames];
  WeirdEntries entries_;  // key -> until (packet time, ns)
  // Insertion order per lifetime, for expiry and for the bound; an entry renewed later leaves a stale
  // element behind, which is skipped when its time does not match the map's.
  std::deque<Expiry> short_q_, long_q_;
  uint64_t seen_ = 0, logged_ = 0;
  uint64_t epoch_ = 0;            // entries the bound forgot so far
  uint64_t expired_through_ = 0;  // the latest time expiry forgot entries up to
};

}  // namespace ots
