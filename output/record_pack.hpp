// A log record's values packed into bytes, so that the worker that writes a record only copies it and the
// log manager's formatting thread turns it into Zeek's text later. Formatting costs about four times what
// packing does, and on a Modbus/DNP3-heavy capture it was a fifth of the worker's time.
//
// The packed form is private to one process run (native byte order, no version): each value is one tag
// byte (the Value's alternative index) and its payload: 8 bytes for counts, ints, doubles and times;
// 1 for a bool; 16 for an address; a 4-byte length and the bytes for a string; a 4-byte count and the
// elements for a set or vector. Field count and schema come from the record's log.
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
  // The values packed in `packed`: views into `packed` and into this unpacker, valid until the next call.
  // Empty when the bytes are not a whole packed record (never the case for what pack_record wrote: the
  // checks keep a bug from reading past the buffer).
  std::span<const Value> unpack(std::string_view packed);

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
