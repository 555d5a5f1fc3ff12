// SBOM chunks: signature with the device's IDENTITY key, reassembly, the document's digest against the
// declared one, and its CycloneDX components (PROTOCOL.md, "SBOM").
#include <algorithm>

#include <fmt/format.h>

#include "attest_tap/device_registry.hpp"

namespace ots::attest {

void DeviceRegistry::on_sbom(Device& d, const Message& m, const SbomView& v, const DatagramMeta& meta,
                             uint64_t decided_ns, std::vector<VerdictRecord>& out) {
  VerdictRecord r = record_for(meta, MessageType::Sbom, decided_ns);
  describe_device(d, r);
  if (!signed_by_device(d, m, r, out)) return;
  std::vector<Finding> findings;
  note_source(d, meta, findings);
  const Blake2b256 declared = Blake2b256::from(v.sbom_digest);
  // Devices resend their SBOM at every boot: a verified document is not assembled again.
  if (d.info.has_sbom && d.info.verified_sbom == declared) {
    emit(std::move(r), std::move(findings), out);
    return;
  }
  SbomAssembler::Outcome got = sboms_.add(static_cast<uint32_t>(&d - devices_.data()), v);
  stats_.sbom_assemblies_evicted = sboms_.evicted();
  if (got.kind == SbomAssembler::Kind::Conflict) {
    findings.push_back({Verdict::SbomMismatch, std::move(got.detail)});
  } else if (got.kind == SbomAssembler::Kind::Complete) {
    const Blake2b256 actual = blake2b256(got.document);
    std::vector<SbomComponent> components;
    std::string why;
    if (actual != declared) {
      findings.push_back({Verdict::SbomMismatch,
                          fmt::format("the reassembled document's digest {} differs from the declared sbom_digest {}",
                                      to_hex(actual.bytes), to_hex(declared.bytes))});
    } else if (!parse_cyclonedx(got.document, components, why)) {
      findings.push_back({Verdict::Malformed, std::move(why)});
    } else {
      r.detail = fmt::format("SBOM verified: {} bytes in {} chunks, {} components", got.document.size(),
                             v.chunk_count, components.size());
      d.info.has_sbom = true;
      d.info.verified_sbom = declared;
      d.info.sbom_ns = meta.ts_ns;
      d.info.components = std::move(components);
      ++stats_.sboms_verified;
    }
  }
  emit(std::move(r), std::move(findings), out);
}

}  // namespace ots::attest
