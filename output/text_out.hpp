// The writer the TSV and JSON formatters (and the JSON keys) write text through, straight into the
// caller's buffer. Appending to a std::string field by field (a capacity check and an out-of-line call
// per piece) was most of the cost of writing a log record, and staging a record in a buffer of its own
// cost a second copy of every line; here each field asks once for room for its longest text and writes
// by pointer into the buffer, which is grown ahead and cut back to the text when the writer finishes.
// The log thread keeps one writer over a batch's records of a log, into a ByteBuffer (no fill of the
// room ahead); into a std::string (the one-record overloads) the room is zero-filled as it is made.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "output/byte_buffer.hpp"
#include "output/value_text.hpp"

namespace ots::text {

class TextOut {
 public:
  // Longest room one request may ask for.
  static constexpr size_t kCap = 1024;

  // Writes after what `out` holds.
  explicit TextOut(std::string& out) : str_(&out) { sync(out.size()); }
  explicit TextOut(ByteBuffer& out) : buf_(&out) { sync(out.size()); }
  TextOut(const TextOut&) = delete;
  TextOut& operator=(const TextOut&) = delete;
  // The target is left holding exactly the text written (without the room ahead), whenever the writer ends.
  ~TextOut() { finish(); }

  // At least n (<= kCap) writable bytes at the returned pointer; commit() says where the text ends. The
  // pointer is good until the next room() request (the string may move when it grows).
  char* room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) grow(n);
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

  // Length of the string's text so far (what it held before, and what was written since).
  size_t size() const { return static_cast<size_t>(p_ - base_); }
  // The text's byte at `i` (< size()).
  char at(size_t i) const { return base_[i]; }
  // Drops what was written after the first `n` bytes (n <= size()): a record that turned out bad.
  void truncate(size_t n) { p_ = base_ + n; }
  // Replaces the one byte at `i` (< size()) with `with` (not empty, at most kCap bytes).
  void replace_byte(size_t i, std::string_view with) {
    const size_t extra = with.size() - 1;
    room(extra);
    std::memmove(base_ + i + with.size(), base_ + i + 1, size() - i - 1);
    std::memcpy(base_ + i, with.data(), with.size());
    p_ += extra;
  }

  // Cuts the target back to the text written. The writer can go on writing after it.
  void finish() {
    const size_t n = size();
    if (buf_ != nullptr) {
      buf_->set_size(n);
    } else if (n != str_->size()) {
      str_->resize(n);
    }
    sync(n);
  }

 private:
  // The room a string target is grown by: a dozen records' worth, so that a writer kept over many
  // records grows once per kilobyte or so of text, not once per record. Each growth zero-fills its
  // bytes (std::string has no uninitialised resize before C++23); under glibc's 2 KiB threshold for
  // `rep stosb` the fill is a few vector stores.
  static constexpr size_t kGrow = kCap + kCap / 2;

  // Out of line (text_out.cpp), so that room() stays small enough to inline at every field.
  void grow(size_t n);

  // Writes from `used`: into a ByteBuffer's whole capacity; into a string only as far as its bytes run.
  void sync(size_t used) {
    base_ = buf_ != nullptr ? buf_->data() : str_->data();
    p_ = base_ + used;
    end_ = buf_ != nullptr ? base_ + buf_->capacity() : p_;
  }

  std::string* str_ = nullptr;  // the target: one of these two
  ByteBuffer* buf_ = nullptr;
  char* base_ = nullptr;
  char* p_ = nullptr;
  char* end_ = nullptr;
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

#if defined(__SSE2__)
// plain8 for sixteen bytes at once (SSE2, which every x86-64 has): a signed byte above 0x1f is
// 0x20..0x7f, so one compare refuses the controls and every byte >= 0x80 together.
inline bool plain16(__m128i x, unsigned char b1, unsigned char b2) {
  const __m128i printable = _mm_cmpgt_epi8(x, _mm_set1_epi8(0x1f));
  const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)),
                                       _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(static_cast<char>(b1))),
                                                    _mm_cmpeq_epi8(x, _mm_set1_epi8(static_cast<char>(b2)))));
  return _mm_movemask_epi8(_mm_andnot_si128(special, printable)) == 0xffff;
}
#endif

// True when the n (<= 64) bytes at p are all ones plain8 passes, for b1 and b2: read as blocks of sixteen
// with SSE2 (the last overlapping the one before; eight to fifteen bytes as two overlapping words in one
// block), or without it as words of eight; under eight bytes as two overlapping halves of a word; never
// a byte outside [p, p + n). Strings are most of every log's bytes: on mb100k the blocks of sixteen took
// the TSV string check from about 50 instructions a string to 20. Always inlined: with its loops the
// compiler left it a call in the JSON writer (5 M instructions on mb100k).
[[gnu::always_inline]] inline bool plain_run(const unsigned char* p, size_t n, unsigned char b1, unsigned char b2) {
#if defined(__SSE2__)
  if (n >= 16) {
    const auto block = [p](size_t at) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at)); };
    bool plain = plain16(block(n - 16), b1, b2);
    for (size_t i = 0; plain && i + 16 < n; i += 16) plain = plain16(block(i), b1, b2);
    return plain;
  }
  if (n >= 8) {
    const auto word = [p](size_t at) { return static_cast<long long>(load8(p + at)); };
    return plain16(_mm_set_epi64x(word(n - 8), word(0)), b1, b2);
  }
#else
  if (n >= 8) {
    bool plain = plain8(load8(p + n - 8), b1, b2);
    for (size_t i = 0; plain && i + 8 < n; i += 8) plain = plain8(load8(p + i), b1, b2);
    return plain;
  }
#endif
  if (n >= 4) {
    uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return plain8(uint64_t{head} | uint64_t{tail} << 32, b1, b2);
  }
  if (n >= 2) {
    uint16_t head, tail;
    std::memcpy(&head, p, 2);
    std::memcpy(&tail, p + n - 2, 2);
    const uint64_t half = uint64_t{head} | uint64_t{tail} << 16;
    return plain8(half | half << 32, b1, b2);
  }
  return n == 0 || plain8(uint64_t{p[0]} * 0x0101010101010101ull, b1, b2);
}

// Copies n (<= 64) bytes from p to q the way plain_run reads them: fixed-size moves, no call.
inline void copy_run(char* q, const unsigned char* p, size_t n) {
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) std::memcpy(q + i, p + i, 16);
    std::memcpy(q + n - 16, p + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(q, p, 8);
    std::memcpy(q + n - 8, p + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(q, p, 4);
    std::memcpy(q + n - 4, p + n - 4, 4);
  } else if (n >= 2) {
    std::memcpy(q, p, 2);
    std::memcpy(q + n - 2, p + n - 2, 2);
  } else if (n == 1) {
    *q = static_cast<char>(*p);
  }
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
