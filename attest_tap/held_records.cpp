// TELEMETRY and SBOM whose device_id has no IDENTITY yet wait here, bounded per device and in all, for
// up to RegistryLimits::hold_ns of packet time (PROTOCOL.md, "unknown_device").
#include "attest_tap/device_registry.hpp"

namespace ots::attest {

namespace {

uint64_t seq_of(const Message& m) { return m.telemetry() ? m.telemetry()->seq : 0; }

}  // namespace

void DeviceRegistry::hold(const Message& m, const DeviceId& id, const DatagramMeta& meta,
                          std::vector<VerdictRecord>& out) {
  const auto it = held_count_.find(id);
  const uint32_t n = it == held_count_.end() ? 0 : it->second;
  if (n >= limits_.max_held_per_device || held_.size() >= limits_.max_held_total) {
    ++stats_.held_refused;
    VerdictRecord r = record_for(meta, m.type, meta.ts_ns);
    r.has_device = true;
    r.device_id = id;
    r.seq = seq_of(m);
    emit(std::move(r), {{Verdict::UnknownDevice, "no IDENTITY for this device_id, and no room to hold the record for one"}},
         out);
    return;
  }
  held_.push_back(Held{{m.datagram.begin(), m.datagram.end()}, meta, id});
  ++held_count_[id];
  stats_.held = held_.size();
}

void DeviceRegistry::release_held(Device& d, uint64_t decided_ns, std::vector<VerdictRecord>& out) {
  if (held_count_.erase(d.info.device_id) == 0) return;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->device_id != d.info.device_id) {
      ++it;
      continue;
    }
    const Held h = std::move(*it);
    it = held_.erase(it);
    on_device_record(d, std::get<Message>(parse_aqat(h.datagram)), h.meta, decided_ns, out);
  }
  stats_.held = held_.size();
}

void DeviceRegistry::expire_held(std::deque<Held>::iterator it, uint64_t decided_ns, std::string_view why,
                                 std::vector<VerdictRecord>& out) {
  const Held h = std::move(*it);
  held_.erase(it);
  if (const auto c = held_count_.find(h.device_id); c != held_count_.end() && --c->second == 0) held_count_.erase(c);
  stats_.held = held_.size();
  const Message m = std::get<Message>(parse_aqat(h.datagram));
  VerdictRecord r = record_for(h.meta, m.type, decided_ns);
  r.has_device = true;
  r.device_id = h.device_id;
  r.seq = seq_of(m);
  emit(std::move(r), {{Verdict::UnknownDevice, std::string(why)}}, out);
}

}  // namespace ots::attest
