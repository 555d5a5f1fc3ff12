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

}  // namespace ots
