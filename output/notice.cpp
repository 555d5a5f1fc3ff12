#include "output/notice.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "capture/flow.hpp"

namespace ots {

namespace {

using F = FieldType;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h;
}

uint64_t mix_bytes(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = 0;
    std::memcpy(&v, b + i, n - i < 8 ? n - i : 8);
    h = mix(h, v);
  }
  return mix(h, n);
}

Value opt(std::string_view s) { return s.empty() ? Value{Unset{}} : Value{s}; }

}  // namespace

const LogSchema& notice_schema() {
  // Zeek 7.2's Notice::Info columns (base/frameworks/notice/main.zeek), then ours.
  static const LogSchema s{"notice",
                           {{"ts", F::Time},
                            {"uid", F::String},
                            {"id.orig_h", F::Addr},
                            {"id.orig_p", F::Port},
                            {"id.resp_h", F::Addr},
                            {"id.resp_p", F::Port},
                            {"fuid", F::String},
                            {"file_mime_type", F::String},
                            {"file_desc", F::String},
                            {"proto", F::Enum},
                            {"note", F::Enum},
                            {"msg", F::String},
                            {"sub", F::String},
                            {"src", F::Addr},
                            {"dst", F::Addr},
                            {"p", F::Port},
                            {"n", F::Count},
                            {"peer_descr", F::String},
                            {"actions", F::SetEnum},
                            {"email_dest", F::SetString},
                            {"suppress_for", F::Interval},
                            {"severity", F::String},
                            {"zone_orig", F::String},
                            {"zone_resp", F::String},
                            {"conduit", F::String},
                            {"protocol", F::String},
                            {"operation", F::String},
                            {"device_id", F::String},
                            {"verdict", F::String},
                            {"rule_id", F::Count},
                            {"mitre", F::SetString},
                            {"orig_l2_addr", F::String}}};
  return s;
}

void set_notice_conn(Notice& n, const Conn& c) {
  set_notice_conn(n, c.uid(), c.id());
  n.has_orig_mac = c.has_macs;
  if (c.has_macs) std::copy_n(c.orig_mac, 6, n.orig_mac.begin());
}

NoticeWriter::NoticeWriter(LogSink& sink, LogId log, uint64_t suppress_ns, NoticeForwarder* forwarder)
    : sink_(sink), log_(log), suppress_ns_(suppress_ns), forwarder_(forwarder) {}

uint64_t notice_key(const Notice& n) {
  uint64_t h = mix_bytes(0, n.note.data(), n.note.size());
  if (n.has_src) h = mix_bytes(h, n.src.bytes.data(), 16);
  if (n.has_dst) h = mix_bytes(h, n.dst.bytes.data(), 16);
  h = mix_bytes(h, n.conduit.data(), n.conduit.size());
  h = mix_bytes(h, n.operation.data(), n.operation.size());
  h = mix_bytes(h, n.device_id.data(), n.device_id.size());
  return mix(h, n.rule_id);
}

void NoticeWriter::raise(const Notice& n, uint64_t k) {
  raise_forwarder_notices();
  ++raised_;
  if (suppress_ns_ == 0) {
    write(n, 0, false);
    return;
  }
  auto it = windows_.find(k);
  if (it != windows_.end() && n.ts_ns < it->second.until_ns) {
    ++it->second.suppressed;
    return;
  }
  if (it != windows_.end() && it->second.suppressed) write(it->second.first, it->second.suppressed, true);
  Window& w = windows_[k];
  w.until_ns = n.ts_ns + suppress_ns_;
  w.suppressed = 0;
  w.first = n;
  write(n, 0, false);
}

void NoticeWriter::advance(uint64_t now_ns) {
  raise_forwarder_notices();
  // Windows are swept at most once a second of packet time: a window closes a little late, never early.
  if (windows_.empty() || now_ns < next_sweep_ns_) return;
  next_sweep_ns_ = now_ns + 1'000'000'000ull;
  // Deterministic order: collect the closed windows and write them by (until, key).
  std::vector<std::pair<uint64_t, uint64_t>> closed;
  for (const auto& [k, w] : windows_) {
    if (w.until_ns <= now_ns) closed.emplace_back(w.until_ns, k);
  }
  std::sort(closed.begin(), closed.end());
  for (const auto& [until, k] : closed) {
    auto it = windows_.find(k);
    if (it->second.suppressed) write(it->second.first, it->second.suppressed, true);
    windows_.erase(it);
  }
}

void NoticeWriter::flush() {
  // The end of the run: what the forwarders were handed is taken in first, so that a notice about them (a
  // SIEM spool that overflowed on the run's last notices) is raised and written here, not lost with the run.
  if (forwarder_) forwarder_->drain();
  raise_forwarder_notices();
  std::vector<std::pair<uint64_t, uint64_t>> open;
  for (const auto& [k, w] : windows_) {
    if (w.suppressed) open.emplace_back(w.until_ns, k);
  }
  std::sort(open.begin(), open.end());
  for (const auto& [until, k] : open) {
    const Window& w = windows_[k];
    write(w.first, w.suppressed, true);
  }
  windows_.clear();
  // The summaries just forwarded can overflow a spool in turn.
  if (forwarder_ && !open.empty()) {
    forwarder_->drain();
    raise_forwarder_notices();
  }
}

void make_notice_record(const Notice& n, uint64_t count, uint64_t suppress_ns, NoticeRecord& r) {
  static constexpr std::string_view kSeverity[] = {"", "low", "medium", "high", "critical"};
  static constexpr std::string_view kActions[] = {"Notice::ACTION_LOG"};
  r.uid = n.uid.is_set() ? n.uid.to_string() : std::string();
  r.orig_mac = n.has_orig_mac ? mac_text(n.orig_mac) : std::string();
  r.mitre.clear();
  const std::string_view mitre = n.mitre;
  for (size_t pos = 0; !mitre.empty() && pos <= mitre.size();) {
    const size_t comma = mitre.find(',', pos);
    const size_t end = comma == std::string_view::npos ? mitre.size() : comma;
    r.mitre.emplace_back(mitre.substr(pos, end - pos));
    pos = end + 1;
  }
  r.values = {
      Value{n.ts_ns},
      r.uid.empty() ? Value{Unset{}} : Value{std::string_view(r.uid)},
      n.has_conn ? Value{n.id.orig_h} : Value{Unset{}},
      n.has_conn ? Value{uint64_t{n.id.orig_p}} : Value{Unset{}},
      n.has_conn ? Value{n.id.resp_h} : Value{Unset{}},
      n.has_conn ? Value{uint64_t{n.id.resp_p}} : Value{Unset{}},
      Value{Unset{}},
      Value{Unset{}},
      Value{Unset{}},
      n.has_conn ? Value{std::string_view(transport_name(n.id.proto))} : Value{Unset{}},
      Value{n.note},
      Value{std::string_view(n.msg)},
      opt(n.sub),
      n.has_src ? Value{n.src} : Value{Unset{}},
      n.has_dst ? Value{n.dst} : Value{Unset{}},
      n.has_p ? Value{uint64_t{n.p}} : Value{Unset{}},
      count ? Value{count} : Value{Unset{}},
      Value{std::string_view("otsensor")},
      Value{std::span<const std::string_view>(kActions)},
      Value{Unset{}},
      suppress_ns ? Value{static_cast<int64_t>(suppress_ns)} : Value{Unset{}},
      Value{kSeverity[static_cast<int>(n.severity)]},
      opt(n.zone_orig),
      opt(n.zone_resp),
      opt(n.conduit),
      opt(n.protocol),
      opt(n.operation),
      opt(n.device_id),
      opt(n.verdict),
      n.rule_id ? Value{n.rule_id} : Value{Unset{}},
      r.mitre.empty() ? Value{Unset{}} : Value{std::span<const std::string_view>(r.mitre)},
      r.orig_mac.empty() ? Value{Unset{}} : Value{std::string_view(r.orig_mac)},
  };
}

void NoticeWriter::write(const Notice& first, uint64_t count, bool summary) {
  ++written_;
  const Notice* n = &first;
  Notice s;
  if (summary) {
    // The summary of a closed window: the first notice's text and how many identical ones followed,
    // stamped when the window closed.
    s = first;
    s.ts_ns = first.ts_ns + suppress_ns_;
    s.msg = first.msg + " (" + std::to_string(count) + " identical notice" + (count == 1 ? "" : "s") +
            " suppressed in the window)";
    n = &s;
  }
  NoticeRecord rec;
  make_notice_record(*n, summary ? count : 0, suppress_ns_, rec);
  sink_.write(log_, n->ts_ns, n->uid, rec.values);
  // The forwarders get the notice as written: a summary with its own time and text.
  if (forwarder_) forwarder_->forward(*n, count);
}

void NoticeWriter::raise_forwarder_notices() {
  if (!forwarder_ || in_forwarder_notices_) return;
  in_forwarder_notices_ = true;
  for (Notice x; forwarder_->take_notice(x); x = Notice{}) raise(x);
  in_forwarder_notices_ = false;
}

}  // namespace ots
