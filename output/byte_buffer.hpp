// A growable byte buffer whose room past its content is left uninitialised: the log records' buffers,
// packed on a worker (record_pack.hpp) and formatted on the log thread (text_out.hpp), which both
// write their bytes in place past the content and then say how far it runs. A std::string can only be
// made longer by filling the new bytes, and a fill ahead of every few records measured more than the
// copy it saved (mb100k: 20 M instructions on the worker for 64 KiB buffers, 2 M in steps of 1.5 KiB).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace ots {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& o) noexcept
      : bytes_(std::move(o.bytes_)), size_(std::exchange(o.size_, 0)), capacity_(std::exchange(o.capacity_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& o) noexcept {
    bytes_ = std::move(o.bytes_);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    return *this;
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() = default;

  char* data() { return bytes_.get(); }
  const char* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {bytes_.get(), size_}; }

  // Room for at least n bytes in all, the content kept; the room past it is uninitialised.
  void reserve(size_t n) {
    if (n > capacity_) reallocate(n);
  }
  // The first n (<= capacity()) bytes are the content: bytes written through data() past size(), or
  // fewer than before.
  void set_size(size_t n) { size_ = std::min(n, capacity_); }
  // Drops the room past the content (a copy of it).
  void shrink_to_fit() {
    if (capacity_ != size_) reallocate(size_);
  }
  void append(std::string_view s) {
    reserve(size_ + s.size());
    if (!s.empty()) std::memcpy(bytes_.get() + size_, s.data(), s.size());
    size_ += s.size();
  }

 private:
  void reallocate(size_t n) {
    std::unique_ptr<char[]> fresh = n == 0 ? nullptr : std::make_unique_for_overwrite<char[]>(n);
    if (size_ != 0) std::memcpy(fresh.get(), bytes_.get(), size_);
    bytes_ = std::move(fresh);
    capacity_ = n;
  }

  std::unique_ptr<char[]> bytes_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace ots
