// A connection's history string and the "seen once" bits behind it (Zeek's Connection::history and
// hist_seen, src/Conn.h).
#pragma once

#include <cstdint>
#include <string_view>

#include "capture/history_text.hpp"

namespace ots::flow {

// The letters a history can hold: Zeek's TCP letters for the originator, the same in lower case for the
// responder, and '^' (FlipRoles). UDP's D/d/C/c are among them. Code 0 ends the string, so a letter's
// code is its index here + 1: 25 letters fit in 5 bits.
inline constexpr std::string_view kHistoryLetters = "SHADFRCTWGIQshadfrctwgiq^";

// 17 bytes (the 24-byte text and 32-bit mask it replaces cost 28, in every tracked connection's slot):
// the letters are packed 5 bits each behind a 5-bit count.
struct ConnHistory {
  // Zeek's history is unbounded; ours keeps the first kMax letters so a connection's memory is fixed.
  // Real sessions stay far below (a full Modbus session is "ShADadFf"); only pathological traffic
  // (hundreds of SYN/FIN/RST with changing sequence numbers) reaches the cap.
  static constexpr unsigned kMax = 23;
  static_assert(kMax < sizeof(HistoryText::text));

  // Zeek's hist_seen: one bit per once-only event (TCP's responder bits are the originator's shifted by 8;
  // its masks use 7 bits). Two bytes rather than a uint16_t so the struct packs without alignment.
  uint8_t seen[2] = {};
  uint8_t packed[15] = {};  // bits 0-4: the count; letter i at bits 5 + 5 i (120 bits = 5 + 23 * 5)

  unsigned size() const { return field(0); }
  void add(char code) {
    const unsigned n = size();
    if (n >= kMax) return;
    const unsigned c = encode(code);
    if (c == 0) return;  // not a history letter: every caller passes one (a test checks the alphabet)
    set_field(5 + 5 * n, c);
    set_field(0, n + 1);
  }
  // Connection::CheckHistory: adds `code` the first time `mask` is seen; true if it had been seen before.
  bool check(uint16_t mask, char code) {
    const auto bits = static_cast<uint16_t>(seen[0] | seen[1] << 8);
    if ((bits & mask) == 0) {
      seen[0] = static_cast<uint8_t>(seen[0] | mask);
      seen[1] = static_cast<uint8_t>(seen[1] | mask >> 8);
      add(code);
      return false;
    }
    return true;
  }
  void clear() { *this = ConnHistory{}; }

  HistoryText text() const {
    HistoryText t;
    const unsigned n = size();
    for (unsigned i = 0; i < n; ++i) t.text[i] = kHistoryLetters[field(5 + 5 * i) - 1];
    return t;
  }

 private:
  static unsigned encode(char code) {
    const auto at = kHistoryLetters.find(code);
    return at == std::string_view::npos ? 0 : static_cast<unsigned>(at) + 1;
  }
  // The 5-bit field at bit `pos`, read through a 16-bit window (a field spans at most two bytes).
  unsigned field(unsigned pos) const {
    const unsigned byte = pos / 8, shift = pos % 8;
    unsigned w = packed[byte];
    if (byte + 1 < sizeof(packed)) w |= unsigned{packed[byte + 1]} << 8;
    return (w >> shift) & 0x1f;
  }
  void set_field(unsigned pos, unsigned value) {
    const unsigned byte = pos / 8, shift = pos % 8;
    const unsigned mask = 0x1fu << shift, bits = (value << shift) & mask;
    packed[byte] = static_cast<uint8_t>((packed[byte] & ~mask) | bits);
    if (byte + 1 < sizeof(packed)) {
      packed[byte + 1] = static_cast<uint8_t>((packed[byte + 1] & ~(mask >> 8)) | (bits >> 8));
    }
  }
};
static_assert(sizeof(ConnHistory) == 17, "the history grew: every tracked connection pays for it");

// Connection::ScaledHistoryEntry with base 10: a letter at the 1st, 10th, 100th ... event. The
// threshold is implied by the count (a letter exactly when the count reaches a power of ten).
inline bool scaled_history_due(uint32_t& count) {
  ++count;
  for (uint32_t t = 1; t <= 1'000'000'000u; t *= 10) {
    if (count == t) return true;
    if (count < t) return false;
  }
  return false;
}

}  // namespace ots::flow
