#include "attest_tap/aqat_builder.hpp"

#include <algorithm>
#include <stdexcept>

namespace ots::attest {

namespace {

void put_u16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
void put_u64(std::vector<uint8_t>& b, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
void put(std::vector<uint8_t>& b, std::span<const uint8_t> bytes) { b.insert(b.end(), bytes.begin(), bytes.end()); }
void put_text(std::vector<uint8_t>& b, const std::string& s) {
  if (s.size() > 255) throw std::invalid_argument("AQAT text fields are at most 255 bytes");
  b.push_back(uint8_t(s.size()));
  b.insert(b.end(), s.begin(), s.end());
}

// header | body | Ed25519(header | body).
std::vector<uint8_t> seal(MessageType type, const std::vector<uint8_t>& body, const Ed25519KeyPair& device) {
  if (body.size() > 0xFFFF) throw std::invalid_argument("AQAT body over 65535 bytes");
  std::vector<uint8_t> d(std::begin(kMagic), std::end(kMagic));
  d.push_back(kVersion);
  d.push_back(uint8_t(type));
  put_u16(d, uint16_t(body.size()));
  put(d, body);
  const Ed25519Signature sig = sign(device, d);
  put(d, sig.bytes);
  return d;
}

}  // namespace

Ed25519KeyPair keypair_from_seed_byte(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return keypair_from_seed(seed);
}

Blake2b256 blake2b256_of_text(std::string_view text) {
  return blake2b256(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::vector<uint8_t> build_identity(const IdentityFields& f, const Ed25519KeyPair& ca, const Ed25519KeyPair& device) {
  std::vector<uint8_t> body;
  put(body, f.device_pk.bytes);
  body.push_back(uint8_t(f.root_kind));
  put_u64(body, f.not_before);
  put_u64(body, f.not_after);
  put(body, f.ca_key_id.bytes);
  put_text(body, f.name);
  put_text(body, f.fw_version);
  std::vector<uint8_t> cert(kCertContext.begin(), kCertContext.end());
  put(cert, body);
  put(body, sign(ca, cert).bytes);
  return seal(MessageType::Identity, body, device);
}

std::vector<uint8_t> build_telemetry(const TelemetryFields& f, const Ed25519KeyPair& device) {
  std::vector<uint8_t> body;
  put(body, f.device_id.bytes);
  put_u64(body, f.seq);
  put_u32(body, f.boot_count);
  put_u64(body, f.timestamp_ms);
  put(body, f.prev_hash.bytes);
  put(body, f.fw_digest.bytes);
  put(body, f.config_digest.bytes);
  put(body, f.sbom_digest.bytes);
  put_u16(body, f.status);
  return seal(MessageType::Telemetry, body, device);
}

std::vector<uint8_t> build_sbom_chunk(const SbomChunkFields& f, const Ed25519KeyPair& device) {
  if (f.data.size() > kSbomMaxData) throw std::invalid_argument("SBOM chunk data over 1024 bytes");
  std::vector<uint8_t> body;
  put(body, f.device_id.bytes);
  body.push_back(1);  // CycloneDX JSON
  put_u16(body, f.chunk_index);
  put_u16(body, f.chunk_count);
  put(body, f.sbom_digest.bytes);
  put_u16(body, uint16_t(f.data.size()));
  put(body, f.data);
  return seal(MessageType::Sbom, body, device);
}

std::vector<std::vector<uint8_t>> build_sbom(const DeviceId& device_id, std::span<const uint8_t> document,
                                             const Blake2b256& declared, const Ed25519KeyPair& device) {
  const size_t count = std::max<size_t>(1, (document.size() + kSbomMaxData - 1) / kSbomMaxData);
  if (count > kSbomMaxChunks) throw std::invalid_argument("SBOM document over 1 MiB");
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < count; ++i) {
    const size_t off = i * kSbomMaxData;
    SbomChunkFields f{device_id, uint16_t(i), uint16_t(count), declared,
                      document.subspan(std::min(off, document.size()),
                                       std::min(kSbomMaxData, document.size() - std::min(off, document.size())))};
    out.push_back(build_sbom_chunk(f, device));
  }
  return out;
}

}  // namespace ots::attest
