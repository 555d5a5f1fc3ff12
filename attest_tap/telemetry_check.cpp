// TELEMETRY: signature with the key of the device's IDENTITY, the hash chain, clones, golden firmware,
// status bits, clock skew and the SBOM digest (PROTOCOL.md, "TELEMETRY").
#include <algorithm>

#include <fmt/format.h>

#include "attest_tap/device_registry.hpp"

namespace ots::attest {

namespace {

std::string status_text(uint16_t status) {
  std::string s;
  auto add = [&](uint16_t bit, std::string_view what) {
    if (status & bit) s += (s.empty() ? "" : ", ") + std::string(what);
  };
  add(kStatusTamper, "tamper");
  add(kStatusDebugPortOpen, "debug port open");
  add(kStatusSecureBootFailed, "secure boot failed");
  return s;
}

// The device clock against packet time, both in ms (timestamp_ms * 10^6 could overflow).
std::string skew_text(uint64_t device_ms, uint64_t packet_ns, uint64_t max_ns, bool unsynchronised) {
  const uint64_t packet_ms = packet_ns / 1'000'000ull;
  const uint64_t diff_ms = device_ms > packet_ms ? device_ms - packet_ms : packet_ms - device_ms;
  if (diff_ms <= max_ns / 1'000'000ull) return {};
  return fmt::format("device clock {:.3f} s {} packet time{}", static_cast<double>(diff_ms) / 1e3,
                     device_ms > packet_ms ? "ahead of" : "behind",
                     unsynchronised ? " (the device reports its clock unsynchronised)" : "");
}

}  // namespace

void DeviceRegistry::on_telemetry(Device& d, const Message& m, const TelemetryView& v, const DatagramMeta& meta,
                                  uint64_t decided_ns, std::vector<VerdictRecord>& out) {
  VerdictRecord r = record_for(meta, MessageType::Telemetry, decided_ns);
  describe_device(d, r);
  r.seq = v.seq;
  if (!signed_by_device(d, m, r, out)) return;
  const uint64_t old_head = d.chain.head();
  const bool started = d.chain.started();
  Finding chain = d.chain.add(v.seq, Blake2b256::from(v.prev_hash), blake2b256(m.datagram));
  d.info.last_seq = d.chain.head();
  std::vector<Finding> findings;
  const Verdict step = chain.verdict;
  if (step != Verdict::Ok) findings.push_back(std::move(chain));
  // A replay says nothing new: its content was judged when it first came, and anyone can resend it.
  if (step == Verdict::Replay) {
    emit(std::move(r), std::move(findings), out);
    return;
  }
  Source& s = note_source(d, meta, findings);
  const bool clone = std::any_of(findings.begin(), findings.end(),
                                 [](const Finding& f) { return f.verdict == Verdict::IdentityClone; });
  const Blake2b256 fw = Blake2b256::from(v.fw_digest);
  if (const auto* golden = config_.golden(d.info.fw_version);
      golden && std::find(golden->begin(), golden->end(), fw) == golden->end())
    findings.push_back({Verdict::IntegrityViolation, fmt::format("fw_digest {} is not a golden digest of {}",
                                                                 to_hex(fw.bytes), d.info.fw_version)});
  if (const std::string bits = status_text(v.status); !bits.empty())
    findings.push_back({Verdict::DeviceStatus, bits});
  if (std::string skew = skew_text(v.timestamp_ms, meta.ts_ns, config_.max_clock_skew_ns,
                                   (v.status & kStatusClockUnsynchronised) != 0);
      !skew.empty())
    findings.push_back({Verdict::ClockSkew, std::move(skew)});
  const Blake2b256 sbom = Blake2b256::from(v.sbom_digest);
  if (d.info.has_sbom && sbom != d.info.verified_sbom)
    findings.push_back({Verdict::SbomMismatch, fmt::format("sbom_digest {} differs from the verified SBOM {}",
                                                           to_hex(sbom.bytes), to_hex(d.info.verified_sbom.bytes))});

  // The device's state follows the head; a late record is older news, a fork is not the device's chain.
  const bool moved_head = !started || d.chain.head() != old_head;
  if (moved_head) {
    d.info.last_telemetry_ns = std::max(d.info.last_telemetry_ns, meta.ts_ns);
    d.info.fw_digest = fw;
    d.info.config_digest = Blake2b256::from(v.config_digest);
    d.info.sbom_digest = sbom;
    d.info.status = v.status;
    if (d.info.attested) d.info.last_attested_ns = std::max(d.info.last_attested_ns, meta.ts_ns);
    set_stale_deadline(d, d.info.last_telemetry_ns + config_.stale_after_ns);
  }
  if ((moved_head || step == Verdict::Late) && !clone && s.telemetry_ns == 0) s.telemetry_ns = meta.ts_ns;
  emit(std::move(r), std::move(findings), out);
}

}  // namespace ots::attest
