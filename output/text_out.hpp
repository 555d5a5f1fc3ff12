// The staging buffer the TSV and JSON formatters write a record through. Appending to a std::string field
// by field (a capacity check and an out-of-line call per piece) was most of the cost of writing a log
// record; here each field asks once for room for its longest text and writes by pointer, and the whole
// line reaches the caller's string in one append.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "output/value_text.hpp"

namespace ots::text {

class TextOut {
 public:
  // Longest room one request may ask for.
  static constexpr size_t kCap = 1024;

  explicit TextOut(std::string& out) : out_(out) {}
  TextOut(const TextOut&) = delete;
  TextOut& operator=(const TextOut&) = delete;
  ~TextOut() = default;  // finish() hands the text over; a TextOut dropped early writes nothing more

  // At least n (<= kCap) writable bytes at the returned pointer; commit() says where the text ends.
  char* room(size_t n) {
    if (static_cast<size_t>(buf_ + kCap - p_) < n) spill();
    return p_;
  }
  void commit(char* end) { p_ = end; }

  void put(char c) { *room(1) = c; ++p_; }
  void put(std::string_view s) {
    while (!s.empty()) {
      const size_t take = s.size() < kCap ? s.size() : kCap;
      char* q = room(take);
      std::memcpy(q, s.data(), take);
      p_ = q + take;
      s.remove_prefix(take);
    }
  }

  // Appends what is staged to the string.
  void finish() { spill(); }

 private:
  void spill() {
    out_.append(buf_, static_cast<size_t>(p_ - buf_));
    p_ = buf_;
  }

  std::string& out_;
  char* p_ = buf_;
  char buf_[kCap];
};

// True when none of the eight bytes in `x` is a control byte (< 0x20), DEL, a byte >= 0x80 (UTF-8, which
// the byte-wise path checks), `b1` or `b2`: such a run of a string is copied unchanged, eight bytes at a
// time. (Bit tricks of "Bit Twiddling Hacks": "determine if a word has a byte less than n" and "has a
// zero byte"; both are exact about whether any byte matches.)
inline bool plain8(uint64_t x, unsigned char b1, unsigned char b2) {
  constexpr uint64_t k01 = 0x0101010101010101ull;
  constexpr uint64_t k80 = 0x8080808080808080ull;
  const auto has_zero = [](uint64_t v) { return (v - k01) & ~v & k80; };
  uint64_t bad = x & k80;
  bad |= (x - k01 * 0x20) & ~x & k80;
  bad |= has_zero(x ^ (k01 * 0x7f));
  bad |= has_zero(x ^ (k01 * b1));
  bad |= has_zero(x ^ (k01 * b2));
  return bad == 0;
}

inline uint64_t load8(const unsigned char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

// The two pass-through steps the TSV and JSON escapes share, for p[i..n) written at q (room for at
// least eight bytes): eight plain bytes at once (none of b1, b2, controls, DEL, non-ASCII) before
// `stop`, or one UTF-8 character Zeek lets through (check_ok_utf8). True, with q and i moved past what
// was copied, when one applied.
inline bool copy_passing(char*& q, const unsigned char* p, size_t& i, size_t stop, size_t n, unsigned char b1,
                         unsigned char b2) {
  if (stop - i >= 8 && plain8(load8(p + i), b1, b2)) {
    std::memcpy(q, p + i, 8);
    q += 8;
    i += 8;
    return true;
  }
  if (p[i] < 0x80) return false;
  const size_t k = utf8_ok_len(p + i, n - i);
  if (k == 0) return false;
  std::memcpy(q, p + i, k);
  q += k;
  i += k;
  return true;
}

}  // namespace ots::text
