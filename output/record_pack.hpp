// A log record's values packed into bytes, so that the worker that writes a record only copies it and the
// log manager's formatting thread turns it into Zeek's text later. Formatting a record costs about 2.5
// times what packing it does (mb100k: 1,270 against 480 instructions), and on a Modbus/DNP3-heavy
// capture it was a fifth of the worker's time.
//
// The packed form is private to one process run (native byte order and layout, no version): the value
// count, the Value array as bytes, then the bytes its views point to, in field order: a string's bytes,
// a set or vector of strings as a 4-byte length and the bytes of each, a vector of counts' elements.
// The formatters read a record in place (PackedValues), one value at a time in field order, each view
// pointed at its bytes as it is read: no copy of the array, and one pass over the fields instead of an
// unpacking pass and a formatting one (mb100k: unpacking was 440 instructions a record).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "output/log_schema.hpp"

namespace ots {

// The packed form's length for `values`.
size_t packed_size(std::span<const Value> values);

// Writes the packed form of `values` at `out`, which has room for `room` bytes: its length, or 0 when it
// does not fit (nothing is promised about the bytes then; the caller makes room and packs again). A
// sink packs straight into the free end of its buffer, with no staging copy and no sizing pass first.
size_t pack_record(std::span<const Value> values, char* out, size_t room);

// Appends the packed form of `values` to `out`.
void pack_record(std::span<const Value> values, std::string& out);

// Reads one packed record's values in field order. Thread-confined (one per formatter); keeps the scratch
// of sets and vectors between records, so that reading allocates nothing once warm.
class PackedValues {
 public:
  // Starts on the record `packed`; false when the bytes cannot hold its value array.
  bool open(std::string_view packed);
  // How many values the record holds.
  size_t size() const { return count_; }
  // The next value, its views pointing into the packed bytes (a set's or vector's span into this
  // reader, good until the next call). False when all were read, or when the bytes are not what
  // pack_record wrote (never the case for what it wrote: the checks keep a bug from reading past the
  // record).
  bool next(Value& v) {
    // Through locals: v may alias nothing here, but the compiler cannot tell, and would reload the
    // members after every store to it.
    const char* slot = slot_;
    if (slot == slots_end_) return false;
    slot_ = slot + sizeof(Value);
    // The value as it was packed, pointers and all: a view is pointed at its bytes before it is used.
    std::memcpy(static_cast<void*>(&v), slot, sizeof(Value));
    if (auto* s = std::get_if<std::string_view>(&v)) {
      const char* tail = tail_;
      const size_t n = s->size();
      if (static_cast<size_t>(end_ - tail) < n) return false;
      *s = std::string_view(tail, n);
      tail_ = tail + n;
      return true;
    }
    if (v.index() < kViewKinds) return true;
    return container(v);
  }
  // True when every value was read and no bytes are left over: the record was whole.
  bool whole() const { return slot_ == slots_end_ && tail_ == end_; }

 private:
  // Alternatives below the first container kind need no more than the string fix-up above.
  static constexpr size_t kViewKinds = Value{std::span<const std::string_view>{}}.index();
  bool container(Value& v);

  const char* slot_ = nullptr;  // the next value's bytes in the array
  const char* slots_end_ = nullptr;
  const char* tail_ = nullptr;  // the next view's bytes
  const char* end_ = nullptr;
  size_t count_ = 0;
  std::vector<std::string_view> strings_;  // the current set's or vector's strings
  std::vector<uint64_t> counts_;           // the current vector of counts (the packed ones are unaligned)
};

}  // namespace ots
