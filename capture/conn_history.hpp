// A connection's history string and the "seen once" bits behind it (Zeek's Connection::history and
// hist_seen, src/Conn.h).
#pragma once

#include <cstdint>

namespace ots::flow {

struct ConnHistory {
  // Zeek's history is unbounded; ours keeps the first kMax letters so a connection's memory is fixed.
  // Real sessions stay far below (a full Modbus session is "ShADadFf"); only pathological traffic
  // (hundreds of SYN/FIN/RST with changing sequence numbers) reaches the cap.
  static constexpr unsigned kMax = 23;

  uint32_t seen = 0;  // Zeek's hist_seen: one bit per once-only event (responder bits shifted by 16 for TCP)
  char text[kMax + 1] = {};

  unsigned size() const {
    unsigned n = 0;
    while (n < kMax && text[n] != 0) ++n;
    return n;
  }
  void add(char code) {
    const unsigned n = size();
    if (n < kMax) text[n] = code;
  }
  // Connection::CheckHistory: adds `code` the first time `mask` is seen; true if it had been seen before.
  bool check(uint32_t mask, char code) {
    if ((seen & mask) == 0) {
      seen |= mask;
      add(code);
      return false;
    }
    return true;
  }
  void clear() {
    seen = 0;
    for (char& c : text) c = 0;
  }
};

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
