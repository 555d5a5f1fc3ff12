// The one bounds-checked reader for packet bytes. Every decoder and dissector reads through it: no
// casting of packet memory to structs (alignment, byte order and length are all unchecked that way).
//
// Each read either succeeds and advances, or fails, leaves the position unchanged and returns false.
// No exceptions, no allocation; a ByteReader is two words and is meant to be copied freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots {

// N bytes whose presence was checked once, when the view was made (ByteReader::fixed or
// FixedBytes::from). Every read names its offset at compile time and a static_assert keeps it inside N,
// so no read can pass the end without a runtime check per field.
template <size_t N>
class FixedBytes {
 public:
  FixedBytes() = default;
  // False (and `out` untouched) when `s` holds fewer than N bytes.
  static bool from(std::span<const uint8_t> s, FixedBytes& out) {
    if (s.size() < N) return false;
    out.p_ = s.data();
    return true;
  }
  template <size_t Off>
  uint8_t u8() const {
    static_assert(Off + 1 <= N);
    return p_[Off];
  }
  template <size_t Off>
  uint16_t u16be() const {
    static_assert(Off + 2 <= N);
    return static_cast<uint16_t>((p_[Off] << 8) | p_[Off + 1]);
  }
  template <size_t Off>
  uint32_t u32be() const {
    static_assert(Off + 4 <= N);
    return (uint32_t{p_[Off]} << 24) | (uint32_t{p_[Off + 1]} << 16) | (uint32_t{p_[Off + 2]} << 8) | p_[Off + 3];
  }
  template <size_t Off, size_t Len>
  const uint8_t* at() const {
    static_assert(Off + Len <= N);
    return p_ + Off;
  }

 private:
  const uint8_t* p_ = nullptr;
};

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  ByteReader(const uint8_t* data, size_t len) : data_(data, len) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  size_t size() const { return data_.size(); }
  bool empty() const { return remaining() == 0; }
  // The unread bytes.
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool u16be(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32be(uint32_t& v) {
    if (remaining() < 4) return false;
    v = load_be(4);
    pos_ += 4;
    return true;
  }
  bool u64be(uint64_t& v) {
    if (remaining() < 8) return false;
    v = (uint64_t{load_be(4)} << 32) | load_be_at(pos_ + 4, 4);
    pos_ += 8;
    return true;
  }
  bool u16le(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return true;
  }
  bool u32le(uint32_t& v) {
    if (remaining() < 4) return false;
    v = uint32_t{data_[pos_]} | (uint32_t{data_[pos_ + 1]} << 8) | (uint32_t{data_[pos_ + 2]} << 16) |
        (uint32_t{data_[pos_ + 3]} << 24);
    pos_ += 4;
    return true;
  }
  bool skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  // The next N bytes as one fixed-size header, read at compile-time offsets (one length check for the
  // whole header instead of one per field: the hot decoders read Ethernet, IP and TCP this way).
  template <size_t N>
  bool fixed(FixedBytes<N>& out);

  // A zero-copy view of the next n bytes.
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // Reads at an absolute offset without moving (for fields a header defines by position).
  bool peek_u8(size_t off, uint8_t& v) const {
    if (off >= data_.size()) return false;
    v = data_[off];
    return true;
  }

 private:
  uint32_t load_be(size_t n) const { return load_be_at(pos_, n); }
  uint32_t load_be_at(size_t at, size_t n) const {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | data_[at + i];
    return v;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

template <size_t N>
bool ByteReader::fixed(FixedBytes<N>& out) {
  if (!FixedBytes<N>::from(rest(), out)) return false;
  pos_ += N;
  return true;
}

}  // namespace ots
