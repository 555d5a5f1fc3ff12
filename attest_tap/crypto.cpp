#include "attest_tap/crypto.hpp"

#include <sodium.h>

#include <mutex>
#include <stdexcept>

namespace ots::attest {

static_assert(crypto_sign_PUBLICKEYBYTES == 32 && crypto_sign_BYTES == 64 && crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_SEEDBYTES == 32 && crypto_generichash_BYTES_MIN <= 32 && crypto_generichash_BYTES_MAX >= 32);

void crypto_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    // sodium_init returns 1 when already initialised (by another library in the process): also fine.
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

bool verify(const Ed25519PublicKey& pk, std::span<const uint8_t> message, const Ed25519Signature& sig) {
  crypto_init();
  return crypto_sign_verify_detached(sig.bytes.data(), message.data(), message.size(), pk.bytes.data()) == 0;
}

Blake2b256 blake2b256(std::span<const uint8_t> bytes) {
  crypto_init();
  Blake2b256 d;
  crypto_generichash(d.bytes.data(), d.bytes.size(), bytes.data(), bytes.size(), nullptr, 0);
  return d;
}

bool plausible_public_key(const Ed25519PublicKey& pk) {
  crypto_init();
  return crypto_core_ed25519_is_valid_point(pk.bytes.data()) == 1;
}

Ed25519KeyPair keypair_from_seed(const std::array<uint8_t, 32>& seed) {
  crypto_init();
  Ed25519KeyPair k;
  crypto_sign_seed_keypair(k.pk.bytes.data(), k.sk.data(), seed.data());
  return k;
}

Ed25519Signature sign(const Ed25519KeyPair& key, std::span<const uint8_t> message) {
  crypto_init();
  Ed25519Signature s;
  crypto_sign_detached(s.bytes.data(), nullptr, message.data(), message.size(), key.sk.data());
  return s;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    s[2 * i] = kDigits[bytes[i] >> 4];
    s[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return s;
}

bool from_hex(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace ots::attest
