// The identifiers AQAT derives from keys (PROTOCOL.md): a device is named by the first 16 bytes of
// BLAKE2b-256 of its public key, a CA by the first 8 bytes of BLAKE2b-256 of its public key.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>

#include "attest_tap/crypto.hpp"

namespace ots::attest {

struct DeviceId {
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const DeviceId&) const = default;
  std::string hex() const { return to_hex(bytes); }
  static DeviceId from(std::span<const uint8_t, 16> b) { return {copy_bytes(b)}; }
};

struct CaKeyId {
  std::array<uint8_t, 8> bytes{};
  auto operator<=>(const CaKeyId&) const = default;
  static CaKeyId from(std::span<const uint8_t, 8> b) { return {copy_bytes(b)}; }
};

DeviceId device_id_of(const Ed25519PublicKey& device_pk);
CaKeyId ca_key_id_of(const Ed25519PublicKey& ca_pk);

}  // namespace ots::attest
