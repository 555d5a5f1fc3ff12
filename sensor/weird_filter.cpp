#include "sensor/weird_filter.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ots {

namespace {

struct ActionEntry {
  std::string_view name;
  WeirdAction action;
};

// The entries of Zeek's Weird::actions (weird.zeek) other than its default ACTION_LOG, for the names of
// the layers we decode (IP, fragments, TCP, UDP, ICMP). Sorted by name for the binary search.
constexpr std::array kActions = {
    ActionEntry{"FIN_after_reset", WeirdAction::Ignore},
    ActionEntry{"FIN_storm", WeirdAction::LogPerOrig},  // ACTION_NOTICE_PER_ORIG in Zeek
    ActionEntry{"SYN_after_partial", WeirdAction::LogPerOrig},  // ACTION_NOTICE_PER_ORIG in Zeek
    ActionEntry{"SYN_with_data", WeirdAction::LogPerOrig},
    ActionEntry{"UDP_datagram_length_mismatch", WeirdAction::LogPerOrig},
    ActionEntry{"bad_ICMP_checksum", WeirdAction::LogPerOrig},
    ActionEntry{"bad_IP_checksum", WeirdAction::LogPerOrig},
    ActionEntry{"bad_TCP_checksum", WeirdAction::LogPerOrig},
    ActionEntry{"bad_UDP_checksum", WeirdAction::LogPerOrig},
    ActionEntry{"connection_originator_SYN_ack", WeirdAction::LogPerOrig},
    ActionEntry{"excessively_small_fragment", WeirdAction::LogPerOrig},
    ActionEntry{"fragment_inconsistency", WeirdAction::LogPerOrig},
    ActionEntry{"fragment_overlap", WeirdAction::LogPerOrig},
    ActionEntry{"fragment_size_inconsistency", WeirdAction::LogPerOrig},
    ActionEntry{"simultaneous_open", WeirdAction::LogPerConn},
    ActionEntry{"spontaneous_FIN", WeirdAction::Ignore},
    ActionEntry{"spontaneous_RST", WeirdAction::Ignore},
    ActionEntry{"unsolicited_SYN_response", WeirdAction::Ignore},
};

constexpr bool sorted_by_name() {
  for (size_t i = 1; i < kActions.size(); ++i) {
    if (!(kActions[i - 1].name < kActions[i].name)) return false;
  }
  return true;
}
static_assert(sorted_by_name(), "kActions must stay sorted for std::lower_bound");

}  // namespace

WeirdAction weird_action(std::string_view name) {
  const auto it = std::lower_bound(kActions.begin(), kActions.end(), name,
                                   [](const ActionEntry& e, std::string_view n) { return e.name < n; });
  return it != kActions.end() && it->name == name ? it->action : WeirdAction::Log;
}

uint32_t WeirdFilter::intern(std::string_view name) {
  if (last_index_ < names_.size() && names_[last_index_].text == name) return last_index_;
  RecentName& r = recent_[((reinterpret_cast<uintptr_t>(name.data()) >> 3) ^ name.size()) % kRecentNames];
  if (r.data == name.data() && r.size == name.size() && names_[r.index].text == name) {
    last_index_ = r.index;
    return last_index_;
  }
  auto it = name_index_.find(name);
  if (it == name_index_.end()) {
    it = name_index_.emplace(std::string(name), static_cast<uint32_t>(names_.size())).first;
    names_.push_back(Name{std::string(name), weird_action(name)});
  }
  last_index_ = it->second;
  r = RecentName{name.data(), name.size(), last_index_};
  return last_index_;
}

WeirdFilter::Verdict WeirdFilter::admit_hinted(const WeirdEvent& ev) {
  ++seen_;
  const uint32_t index = intern(ev.name);
  Name& n = names_[index];
  ++n.seen;
  const bool unlimited = cfg_.repeat_ns == 0;
  Verdict v;
  if (!unlimited) {
    if (n.action == WeirdAction::Ignore) {
      v.hint = WeirdSink::RepeatHint{UINT64_MAX, epoch_, index, true};
      return v;
    }
    // The identifier as Zeek's conn_weird, flow_weird and net_weird events give it, narrowed by the
    // limiting actions to the originator host or to the name alone.
    Key k;
    k.name = static_cast<uint32_t>(&n - names_.data());
    const bool addrs = ev.uid.is_set() || ev.has_addrs;
    if (n.action == WeirdAction::LogOnce) {
      k.kind = 4;
    } else if (n.action == WeirdAction::LogPerOrig && addrs) {
      k.kind = 3;
      k.a = ev.id.orig_h;
    } else if (ev.uid.is_set()) {
      k.kind = 2;
      k.a = ev.id.orig_h;
      k.b = ev.id.resp_h;
      k.pa = ev.id.orig_p;
      k.pb = ev.id.resp_p;
      k.proto = static_cast<uint8_t>(ev.id.proto);
    } else if (addrs) {
      k.kind = 1;
      k.a = ev.id.orig_h;
      k.b = ev.id.resp_h;
    }
    const bool limited = n.action != WeirdAction::Log;
    const uint64_t until = ev.ts_ns + (limited ? cfg_.limited_ns : cfg_.repeat_ns);
    const auto [at, fresh] = entries_.insert(k, until);
    if (!fresh) {
      uint64_t& entry_until = entries_.until(at);
      if (ev.ts_ns < entry_until) {
        v.hint = WeirdSink::RepeatHint{entry_until, epoch_, index, true};
        return v;
      }
      entry_until = until;  // ran out but not swept yet: a new period starts with this weird
    }
    (limited ? long_q_ : short_q_).push_back(Expiry{k, until});
    // No hint when the bound forgets an entry below: it could have been this one.
    if (!fresh || entries_.size() <= cfg_.max_entries) v.hint = WeirdSink::RepeatHint{until, epoch_, index, true};
    if (fresh && entries_.size() > cfg_.max_entries) {
      // Forget the oldest entry other than this one: the short-lived ones first.
      if (short_q_.size() > 1 || (short_q_.size() == 1 && limited)) {
        forget(short_q_, 0, true);
      } else {
        forget(long_q_, 0, true);
      }
    }
  }
  ++n.logged;
  ++logged_;
  v.logged = true;
  return v;
}

void WeirdFilter::forget(std::deque<Expiry>& q, uint64_t now_ns, bool force_one) {
  while (!q.empty() && (force_one || q.front().until_ns <= now_ns)) {
    const Expiry e = q.front();
    q.pop_front();
    const size_t at = entries_.find(e.key);
    // A queue element is stale when its entry was renewed (a later element stands for it) or forgotten.
    if (at == WeirdEntries::npos || entries_.until(at) != e.until_ns) continue;
    entries_.erase(at);
    if (force_one) {
      ++epoch_;
      return;
    }
    expired_through_ = std::max(expired_through_, now_ns);
  }
}

void WeirdFilter::expire(uint64_t now_ns) {
  forget(short_q_, now_ns, false);
  forget(long_q_, now_ns, false);
}

std::vector<WeirdFilter::NameCount> WeirdFilter::counts() const {
  std::vector<NameCount> out;
  out.reserve(names_.size());
  for (const Name& n : names_) out.push_back(NameCount{n.text, n.seen, n.logged});
  return out;
}

}  // namespace ots
