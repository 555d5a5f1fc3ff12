// IDENTITY: the device's signature over the datagram, its certificate (trust anchor, ca_sig, validity,
// hardware root where the zone requires one), and the device's registration (PROTOCOL.md, "IDENTITY").
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "attest_tap/device_registry.hpp"

namespace ots::attest {

namespace {

// What does not change when the same bytes come again: the signatures and the trust anchor.
Finding certificate_finding(const AttestationConfig& config, const IdentityView& v) {
  const CaKeyId ca = CaKeyId::from(v.ca_key_id);
  const TrustAnchor* anchor = config.anchor(ca);
  if (!anchor) return {Verdict::UntrustedCa, fmt::format("ca_key_id {} matches no trust anchor", to_hex(ca.bytes))};
  // The CA signs "AQAT-CERT-v1" | the body before ca_sig; an IDENTITY body is at most 569 bytes before it.
  std::array<uint8_t, kCertContext.size() + 32 + 1 + 8 + 8 + 8 + 1 + 255 + 1 + 255> input{};
  std::copy(kCertContext.begin(), kCertContext.end(), input.begin());
  std::copy(v.certificate.begin(), v.certificate.end(), input.begin() + kCertContext.size());
  if (!verify(anchor->public_key, std::span(input.data(), kCertContext.size() + v.certificate.size()),
              Ed25519Signature::from(v.ca_sig)))
    return {Verdict::BadCertificate, fmt::format("ca_sig does not verify with trust anchor '{}'", anchor->name)};
  return {};
}

}  // namespace

void DeviceRegistry::on_identity(const Message& m, const IdentityView& v, const DatagramMeta& meta,
                                 std::vector<VerdictRecord>& out) {
  const Ed25519PublicKey pk = Ed25519PublicKey::from(v.device_pk);
  const DeviceId id = device_id_of(pk);
  Device* d = find(id);
  VerdictRecord r = record_for(meta, MessageType::Identity, meta.ts_ns);
  r.has_device = true;
  r.device_id = id;
  if (d) r.name = d->info.name;

  // Byte-identical repeats (every 60 s) skip both signature checks: the bytes verified before.
  const Blake2b256 digest = blake2b256(m.datagram);
  Finding certificate;
  if (d && d->identity_cached && d->identity_digest == digest) {
    certificate = d->identity_static;
  } else {
    if (!verify(pk, m.signed_bytes, Ed25519Signature::from(m.sig))) {
      emit(std::move(r), {{Verdict::BadSignature, "the datagram signature does not verify with its device_pk"}}, out);
      return;
    }
    certificate = certificate_finding(config_, v);
  }
  std::vector<Finding> findings;
  if (certificate.verdict != Verdict::Ok) findings.push_back(certificate);
  // Valid while not_before <= packet time (whole seconds) <= not_after.
  const uint64_t now_s = meta.ts_ns / 1'000'000'000ull;
  if (now_s < v.not_before || now_s > v.not_after)
    findings.push_back({Verdict::CertificateExpired,
                        fmt::format("{} (valid from {} to {}, packet time {}, unix seconds)",
                                    now_s < v.not_before ? "not yet valid" : "expired", v.not_before, v.not_after,
                                    now_s)});
  if (v.root_kind == RootKind::Software && meta.src_requires_hardware_root)
    findings.push_back({Verdict::NotHardwareRooted,
                        "software key (root_kind 3) from an address in a zone that requires a hardware root"});
  const bool accepted = findings.empty();

  bool is_new = false;
  if (!d) {
    if (devices_.size() >= limits_.max_devices) {
      ++stats_.devices_refused;
      findings.push_back({Verdict::DeviceLimit,
                          fmt::format("the registry tracks {} devices already: this one is not checked",
                                      limits_.max_devices)});
      emit(std::move(r), std::move(findings), out);
      return;
    }
    index_.emplace(id, static_cast<uint32_t>(devices_.size()));
    devices_.emplace_back();
    d = &devices_.back();
    d->info.device_id = id;
    d->info.public_key = pk;
    d->info.first_seen_ns = meta.ts_ns;
    ++stats_.devices;
    is_new = true;
  }
  DeviceInfo& info = d->info;
  info.name.assign(v.name);
  info.fw_version.assign(v.fw_version);
  info.root_kind = v.root_kind;
  info.not_before = v.not_before;
  info.not_after = v.not_after;
  const TrustAnchor* anchor = config_.anchor(CaKeyId::from(v.ca_key_id));
  info.ca_name = anchor ? anchor->name : std::string();
  info.attested = accepted;
  info.identity_verdict = Verdict::Ok;
  for (const Finding& f : findings) info.identity_verdict = std::min(info.identity_verdict, f.verdict);
  info.identity_ns = meta.ts_ns;
  d->identity_digest = digest;
  d->identity_static = certificate;
  d->identity_cached = true;
  r.name = info.name;

  Source& s = note_source(*d, meta, findings);
  const bool clone = std::any_of(findings.begin(), findings.end(),
                                 [](const Finding& f) { return f.verdict == Verdict::IdentityClone; });
  if (accepted && !clone && s.identity_ns == 0) s.identity_ns = meta.ts_ns;
  // Before its first TELEMETRY, a device's silence counts from its first accepted IDENTITY.
  if (accepted && !d->stale_armed) set_stale_deadline(*d, meta.ts_ns + config_.stale_after_ns);
  emit(std::move(r), std::move(findings), out);
  if (is_new) release_held(*d, meta.ts_ns, out);
}

}  // namespace ots::attest
