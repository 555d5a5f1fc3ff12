// A log record's values packed into bytes, so that the worker that writes a record only copies it and the
// log manager's formatting thread turns it into Zeek's text later. Formatting a record costs about 2.5
// times what packing it does (mb100k: 1,270 against 480 instructions), and on a Modbus/DNP3-heavy
// capture it was a fifth of the worker's time.
//
// The packed form is private to one process run (native byte order and layout, no version): the value
// count, the Value array as bytes, then the bytes its views point to, in field order: a string's bytes,
// a set or vector of strings as a 4-byte length and the bytes of each, a vector of counts' elements.
// Unpacking copies the array back and points each view at its bytes: a few instructions a field where
// a tag and payload per field took thirty (both on the packed records' two threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "output/log_schema.hpp"

namespace ots {

// Appends the packed form of `values` to `out`.
void pack_record(std::span<const Value> values, std::string& out);

// Turns packed records back into values. Thread-confined (one per formatter); keeps its scratch between
// records so that unpacking allocates nothing once warm.
class RecordUnpacker {
 public:
  // The values packed in `packed`, in `out`: views into `packed` and into this unpacker, valid until the
  // next call. False when the bytes are not one whole packed record (never the case for what pack_record
  // wrote: the checks keep a bug from reading past the buffer).
  bool unpack(std::string_view packed, std::span<const Value>& out);

 private:
  struct Fixup {
    uint32_t field;
    uint32_t start;  // first element in strings_ or counts_
    uint32_t count;
    bool strings;
  };
  std::vector<Value> values_;
  std::vector<std::string_view> strings_;  // the elements of the record's sets and vectors of strings
  std::vector<uint64_t> counts_;           // the elements of its vectors of counts (the packed ones are unaligned)
  std::vector<Fixup> fixups_;              // containers' spans, pointed at the scratch once it stops growing
};

}  // namespace ots
