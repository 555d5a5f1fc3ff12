// Writing AQAT v1 datagrams (the inverse of aqat_parser): for the fleet simulator, benchmarks, fuzz seeds
// and tests. The sensor never sends; nothing on the packet path uses this.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest_tap/aqat_parser.hpp"
#include "attest_tap/crypto.hpp"
#include "attest_tap/device_id.hpp"

namespace ots::attest {

struct IdentityFields {
  Ed25519PublicKey device_pk;
  RootKind root_kind = RootKind::SecureElement;
  uint64_t not_before = 0;
  uint64_t not_after = 0;
  CaKeyId ca_key_id;  // normally ca_key_id_of(the CA's key)
  std::string name;        // at most 255 bytes
  std::string fw_version;  // at most 255 bytes
};

struct TelemetryFields {
  DeviceId device_id;
  uint64_t seq = 1;
  uint32_t boot_count = 0;
  uint64_t timestamp_ms = 0;
  Blake2b256 prev_hash;
  Blake2b256 fw_digest;
  Blake2b256 config_digest;
  Blake2b256 sbom_digest;
  uint16_t status = 0;
};

struct SbomChunkFields {
  DeviceId device_id;
  uint16_t chunk_index = 0;
  uint16_t chunk_count = 1;
  Blake2b256 sbom_digest;
  std::span<const uint8_t> data;  // at most kSbomMaxData bytes
};

// A key from a seed of 32 equal bytes, and the digest of a text: fixed fleets for tests and examples.
Ed25519KeyPair keypair_from_seed_byte(uint8_t b);
Blake2b256 blake2b256_of_text(std::string_view text);

// IDENTITY with ca_sig by `ca` and the datagram signature by `device`.
std::vector<uint8_t> build_identity(const IdentityFields& f, const Ed25519KeyPair& ca, const Ed25519KeyPair& device);
std::vector<uint8_t> build_telemetry(const TelemetryFields& f, const Ed25519KeyPair& device);
std::vector<uint8_t> build_sbom_chunk(const SbomChunkFields& f, const Ed25519KeyPair& device);
// A whole document cut into chunks of kSbomMaxData bytes, declaring `declared` as its digest.
std::vector<std::vector<uint8_t>> build_sbom(const DeviceId& device_id, std::span<const uint8_t> document,
                                             const Blake2b256& declared, const Ed25519KeyPair& device);

}  // namespace ots::attest
