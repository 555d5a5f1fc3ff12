// libFuzzer target: the pure AQAT parser on raw bytes, then the device registry (signatures fail on
// random bytes, so this reaches the malformed, bad-signature and unknown-device paths and the hold),
// and the CycloneDX reader on the same bytes as a document.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "attest_tap/aqat_parser.hpp"
#include "attest_tap/cyclonedx.hpp"
#include "attest_tap/device_registry.hpp"

namespace {

using namespace ots;
using namespace ots::attest;

// Every view read, so ASan sees anything out of bounds.
size_t touch(const Message& m) {
  size_t n = m.signed_bytes.size() + m.sig[0] + m.datagram.size();
  if (const IdentityView* v = m.identity())
    n += v->device_pk[31] + v->ca_key_id[7] + v->name.size() + v->fw_version.size() + v->certificate.size() +
         v->ca_sig[63];
  if (const TelemetryView* v = m.telemetry()) n += v->device_id[15] + v->prev_hash[31] + v->sbom_digest[31] + v->status;
  if (const SbomView* v = m.sbom())
    for (const uint8_t b : v->data) n += b;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  volatile size_t sink = 0;
  const ParseResult parsed = parse_aqat(in);
  if (const auto* m = std::get_if<Message>(&parsed)) sink = sink + touch(*m);
  else sink = sink + std::get<Malformed>(parsed).reason.size();

  DeviceRegistry registry(AttestationConfig{}, RegistryLimits{.max_devices = 4, .max_held_per_device = 2,
                                                              .max_held_total = 4});
  std::vector<VerdictRecord> out;
  DatagramMeta meta;
  meta.ts_ns = 1'800'000'000'000'000'000ull;
  registry.process(in, meta, out);
  // The input again as a second datagram, and cut in two, then time passes.
  meta.ts_ns += 1'000'000'000ull;
  registry.process(in.first(size / 2), meta, out);
  registry.process(in, meta, out);
  registry.finish(meta.ts_ns + 200'000'000'000ull, out);
  for (const VerdictRecord& r : out) sink = sink + r.detail.size() + r.also.size();

  std::vector<SbomComponent> components;
  std::string why;
  if (parse_cyclonedx(in, components, why))
    for (const SbomComponent& c : components) sink = sink + c.name.size() + c.purl.size();
  return 0;
}
