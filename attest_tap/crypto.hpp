// The cryptography AQAT needs, behind types of ours: Ed25519 signatures and BLAKE2b-256 digests as
// libsodium implements them. crypto.cpp is the only file that includes <sodium.h>; nothing else sees
// raw key pointers and lengths.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ots::attest {

// Copies of N bytes that a parser found (fixed-extent views into a datagram).
template <size_t N>
std::array<uint8_t, N> copy_bytes(std::span<const uint8_t, N> b) {
  std::array<uint8_t, N> a;
  for (size_t i = 0; i < N; ++i) a[i] = b[i];
  return a;
}

struct Ed25519PublicKey {
  std::array<uint8_t, 32> bytes{};
  auto operator<=>(const Ed25519PublicKey&) const = default;
  static Ed25519PublicKey from(std::span<const uint8_t, 32> b) { return {copy_bytes(b)}; }
};

struct Ed25519Signature {
  std::array<uint8_t, 64> bytes{};
  bool operator==(const Ed25519Signature&) const = default;
  static Ed25519Signature from(std::span<const uint8_t, 64> b) { return {copy_bytes(b)}; }
};

// BLAKE2b with a 32-byte output and no key.
struct Blake2b256 {
  std::array<uint8_t, 32> bytes{};
  auto operator<=>(const Blake2b256&) const = default;
  static Blake2b256 from(std::span<const uint8_t, 32> b) { return {copy_bytes(b)}; }
  bool is_zero() const {
    for (const uint8_t b : bytes)
      if (b != 0) return false;
    return true;
  }
};

// Initialises libsodium once per process (thread-safe). verify(), blake2b256() and the signing helpers
// call it themselves; call it at start-up to take the cost (and a failure, which throws
// std::runtime_error) off the packet path.
void crypto_init();

// Ed25519 detached-signature check (libsodium's crypto_sign_verify_detached: canonical signatures only).
bool verify(const Ed25519PublicKey& pk, std::span<const uint8_t> message, const Ed25519Signature& sig);

Blake2b256 blake2b256(std::span<const uint8_t> bytes);

// Whether the key is a point of the curve of large order (libsodium's crypto_core_ed25519_is_valid_point):
// a configured CA key that is not could never verify anything.
bool plausible_public_key(const Ed25519PublicKey& pk);

// Signing, for the fleet simulator, benchmarks and tests (the sensor itself never signs). Keys come from
// a 32-byte seed (crypto_sign_seed_keypair), so a fleet is reproducible from its seeds.
struct Ed25519KeyPair {
  Ed25519PublicKey pk;
  std::array<uint8_t, 64> sk{};  // libsodium's secret key: seed | public key
};
Ed25519KeyPair keypair_from_seed(const std::array<uint8_t, 32>& seed);
Ed25519Signature sign(const Ed25519KeyPair& key, std::span<const uint8_t> message);

// Lower-case hex of any bytes ("3fa0..."); and its inverse for exactly out.size() bytes (either case).
std::string to_hex(std::span<const uint8_t> bytes);
bool from_hex(std::string_view text, std::span<uint8_t> out);

}  // namespace ots::attest
