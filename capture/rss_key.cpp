#include "capture/rss_key.hpp"

namespace ots {

std::vector<uint8_t> symmetric_toeplitz_key(size_t size) {
  std::vector<uint8_t> key(size);
  for (size_t k = 0; k < key.size(); ++k) key[k] = (k % 2) ? 0x5a : 0x6d;
  return key;
}

uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input) {
  if (key.size() < input.size() + 4) return 0;
  // For each set bit of the input, XOR in the 32 key bits that start at that bit's position: `window`
  // holds them, shifted left one key bit per input bit.
  uint32_t hash = 0;
  uint32_t window = static_cast<uint32_t>(key[0]) << 24 | static_cast<uint32_t>(key[1]) << 16 |
                    static_cast<uint32_t>(key[2]) << 8 | key[3];
  for (size_t i = 0; i < input.size(); ++i) {
    const uint8_t next = key[i + 4];
    for (int b = 7; b >= 0; --b) {
      if (input[i] >> b & 1u) hash ^= window;
      window = window << 1 | static_cast<uint32_t>(next >> b & 1u);
    }
  }
  return hash;
}

}  // namespace ots
