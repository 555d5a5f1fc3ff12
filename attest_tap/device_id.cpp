#include "attest_tap/device_id.hpp"

namespace ots::attest {

DeviceId device_id_of(const Ed25519PublicKey& device_pk) {
  const Blake2b256 h = blake2b256(device_pk.bytes);
  return DeviceId::from(std::span<const uint8_t, 32>(h.bytes).first<16>());
}

CaKeyId ca_key_id_of(const Ed25519PublicKey& ca_pk) {
  const Blake2b256 h = blake2b256(ca_pk.bytes);
  return CaKeyId::from(std::span<const uint8_t, 32>(h.bytes).first<8>());
}

}  // namespace ots::attest
