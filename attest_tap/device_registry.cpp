#include "attest_tap/device_registry.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace ots::attest {

namespace {

uint64_t abs_diff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

std::string source_text(const IpAddr& a, bool has_mac, const std::array<uint8_t, 6>& mac) {
  return has_mac ? fmt::format("{} ({})", a.to_string(), mac_text(mac)) : a.to_string();
}

}  // namespace

DeviceRegistry::DeviceRegistry(AttestationConfig config, RegistryLimits limits)
    : config_(std::move(config)),
      limits_(limits),
      // A document is at most 1 MiB: a smaller budget could never complete one.
      sboms_(std::max(1u, limits.sbom_assemblies_per_device),
             std::max<uint64_t>(limits.sbom_assembly_budget_bytes, kSbomMaxChunks * kSbomMaxData)) {
  crypto_init();
  devices_.reserve(std::min<uint32_t>(limits_.max_devices, 1024));
}

void DeviceRegistry::reconfigure(AttestationConfig config) {
  config_ = std::move(config);
  for (Device& d : devices_) d.identity_cached = false;
}

void DeviceRegistry::process(std::span<const uint8_t> payload, const DatagramMeta& meta,
                             std::vector<VerdictRecord>& out) {
  process(parse_aqat(payload), meta, out);
}

void DeviceRegistry::process(const ParseResult& parsed, const DatagramMeta& meta, std::vector<VerdictRecord>& out) {
  ++stats_.datagrams;
  advance(meta.ts_ns, out);
  if (const auto* bad = std::get_if<Malformed>(&parsed)) {
    emit(record_for(meta, MessageType::None, meta.ts_ns), {{Verdict::Malformed, std::string(bad->reason)}}, out);
    return;
  }
  const Message& m = std::get<Message>(parsed);
  if (const IdentityView* v = m.identity()) {
    on_identity(m, *v, meta, out);
    return;
  }
  const DeviceId id = m.telemetry() ? DeviceId::from(m.telemetry()->device_id) : DeviceId::from(m.sbom()->device_id);
  if (Device* d = find(id)) {
    on_device_record(*d, m, meta, meta.ts_ns, out);
  } else {
    hold(m, id, meta, out);
  }
}

void DeviceRegistry::on_device_record(Device& d, const Message& m, const DatagramMeta& meta, uint64_t decided_ns,
                                      std::vector<VerdictRecord>& out) {
  if (const TelemetryView* t = m.telemetry()) {
    on_telemetry(d, m, *t, meta, decided_ns, out);
  } else if (const SbomView* s = m.sbom()) {
    on_sbom(d, m, *s, meta, decided_ns, out);
  }
}

void DeviceRegistry::advance(uint64_t now_ns, std::vector<VerdictRecord>& out) {
  for (;;) {
    // Both kinds of event fire once packet time has passed their moment, earliest first (stale first on a tie).
    const bool stale_due = !stale_queue_.empty() && stale_queue_.begin()->first < now_ns;
    const uint64_t hold_at = held_.empty() ? 0 : held_.front().meta.ts_ns + limits_.hold_ns;
    const bool hold_due = !held_.empty() && hold_at < now_ns;
    if (!stale_due && !hold_due) break;
    if (stale_due && (!hold_due || stale_queue_.begin()->first <= hold_at)) {
      const auto [deadline, index] = *stale_queue_.begin();
      stale_queue_.erase(stale_queue_.begin());
      Device& d = devices_[index];
      d.stale_deadline = 0;
      VerdictRecord r;
      r.ts_ns = deadline;
      // A deadline can lie before the last event when a held record set it: decisions never go back.
      r.decided_ns = std::max(deadline, now_ns_);
      r.src = d.info.address;
      r.src_mac = d.info.mac;
      r.has_src_mac = d.info.has_mac;
      describe_device(d, r);
      r.seq = d.info.last_seq;
      const double secs = static_cast<double>(config_.stale_after_ns) / 1e9;
      std::string detail = d.info.last_telemetry_ns == 0
                               ? fmt::format("no TELEMETRY within {} s of its IDENTITY", secs)
                               : fmt::format("no TELEMETRY for {} s (last seq {})", secs, d.info.last_seq);
      emit(std::move(r), {{Verdict::Stale, std::move(detail)}}, out);
    } else {
      expire_held(held_.begin(), std::max(hold_at, now_ns_),
                  fmt::format("no IDENTITY for this device_id within {} s",
                              static_cast<double>(limits_.hold_ns) / 1e9),
                  out);
    }
  }
  now_ns_ = std::max(now_ns_, now_ns);
}

void DeviceRegistry::finish(uint64_t now_ns, std::vector<VerdictRecord>& out) {
  advance(now_ns, out);
  while (!held_.empty()) expire_held(held_.begin(), now_ns_, "no IDENTITY for this device_id before the end of input", out);
  stats_.sbom_incomplete_at_end += sboms_.clear();
}

DeviceRegistry::Device* DeviceRegistry::find(const DeviceId& id) {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &devices_[it->second];
}

bool DeviceRegistry::signed_by_device(const Device& d, const Message& m, VerdictRecord& r,
                                      std::vector<VerdictRecord>& out) {
  if (verify(d.info.public_key, m.signed_bytes, Ed25519Signature::from(m.sig))) return true;
  emit(std::move(r), {{Verdict::BadSignature, "the datagram signature does not verify with the device's IDENTITY key"}},
       out);
  return false;
}

const DeviceInfo* DeviceRegistry::device(const DeviceId& id) const {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &devices_[it->second].info;
}

const std::vector<SbomComponent>* DeviceRegistry::sbom_components(const DeviceId& id) const {
  const DeviceInfo* d = device(id);
  return d && d->attested && d->has_sbom ? &d->components : nullptr;
}

std::optional<Binding> DeviceRegistry::binding(const IpAddr& addr) const {
  const auto it = by_address_.find(addr);
  if (it == by_address_.end()) return std::nullopt;
  std::optional<Binding> best;
  for (const uint32_t index : it->second) {
    const Device& d = devices_[index];
    if (!d.info.attested) continue;
    for (const Source& s : d.sources) {
      if (s.addr != addr || s.identity_ns == 0 || s.telemetry_ns == 0) continue;
      const uint64_t since = std::max(s.identity_ns, s.telemetry_ns);
      if (!best || since < best->since_ns) best = Binding{d.info.device_id, d.info.name, since};
    }
  }
  return best;
}

DeviceRegistry::Source& DeviceRegistry::note_source(Device& d, const DatagramMeta& meta, std::vector<Finding>& findings) {
  const auto index = static_cast<uint32_t>(&d - devices_.data());
  size_t self = d.sources.size();
  bool clone = false;
  for (size_t i = 0; i < d.sources.size(); ++i) {
    const Source& s = d.sources[i];
    // Without a MAC on either side (raw IP captures), the address alone says who sent it.
    const bool same = s.addr == meta.src && (!s.has_mac || !meta.has_src_mac || s.mac == meta.src_mac);
    if (same) {
      self = i;
    } else if (!clone && abs_diff(meta.ts_ns, s.last_ns) <= config_.clone_window_ns) {
      clone = true;
      findings.push_back({Verdict::IdentityClone,
                          fmt::format("valid records from {} and from {} {:.3f} s apart",
                                      source_text(meta.src, meta.has_src_mac, meta.src_mac),
                                      source_text(s.addr, s.has_mac, s.mac),
                                      static_cast<double>(abs_diff(meta.ts_ns, s.last_ns)) / 1e9)});
    }
  }
  if (self == d.sources.size()) {
    if (d.sources.size() >= std::max(1u, limits_.max_sources_per_device)) {
      // Forget the source heard from longest ago.
      const auto victim = std::min_element(d.sources.begin(), d.sources.end(),
                                           [](const Source& a, const Source& b) { return a.last_ns < b.last_ns; });
      const IpAddr gone = victim->addr;
      d.sources.erase(victim);
      const bool still = std::any_of(d.sources.begin(), d.sources.end(), [&](const Source& s) { return s.addr == gone; });
      if (!still && gone != meta.src) {
        auto& list = by_address_[gone];
        list.erase(std::remove(list.begin(), list.end(), index), list.end());
        if (list.empty()) by_address_.erase(gone);
      }
    }
    auto& list = by_address_[meta.src];
    if (std::find(list.begin(), list.end(), index) == list.end()) list.push_back(index);
    d.sources.push_back(Source{meta.src, meta.src_mac, meta.has_src_mac, meta.ts_ns, 0, 0});
    self = d.sources.size() - 1;
  }
  Source& s = d.sources[self];
  s.last_ns = std::max(s.last_ns, meta.ts_ns);
  if (meta.has_src_mac) {
    s.mac = meta.src_mac;
    s.has_mac = true;
  }
  d.info.address = meta.src;
  d.info.mac = s.mac;
  d.info.has_mac = s.has_mac;
  return s;
}

void DeviceRegistry::set_stale_deadline(Device& d, uint64_t deadline_ns) {
  const auto index = static_cast<uint32_t>(&d - devices_.data());
  if (d.stale_deadline != 0) stale_queue_.erase({d.stale_deadline, index});
  d.stale_deadline = deadline_ns;
  d.stale_armed = true;
  stale_queue_.emplace(deadline_ns, index);
}

VerdictRecord DeviceRegistry::record_for(const DatagramMeta& meta, MessageType type, uint64_t decided_ns) const {
  VerdictRecord r;
  r.ts_ns = meta.ts_ns;
  r.decided_ns = decided_ns;
  r.uid = meta.uid;
  r.src = meta.src;
  r.dst = meta.dst;
  r.src_port = meta.src_port;
  r.dst_port = meta.dst_port;
  r.src_mac = meta.src_mac;
  r.has_src_mac = meta.has_src_mac;
  r.type = type;
  return r;
}

void DeviceRegistry::describe_device(const Device& d, VerdictRecord& r) {
  r.has_device = true;
  r.device_id = d.info.device_id;
  r.name = d.info.name;
}

void DeviceRegistry::emit(VerdictRecord r, std::vector<Finding> findings, std::vector<VerdictRecord>& out) {
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.verdict < b.verdict; });
  if (!findings.empty()) {
    r.verdict = findings.front().verdict;
    r.detail = std::move(findings.front().detail);
    for (size_t i = 1; i < findings.size(); ++i) r.also.push_back(std::move(findings[i]));
  }
  ++stats_.verdicts[static_cast<size_t>(r.verdict)];
  out.push_back(std::move(r));
}

}  // namespace ots::attest
