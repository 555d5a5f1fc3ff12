// A record's values read in field order from a span: what the TSV and JSON formatters' std::span
// overloads read, through the same record loop that reads a packed record in place (PackedValues,
// record_pack.hpp): size(), next(), whole().
#pragma once

#include <cstddef>
#include <span>

#include "output/log_schema.hpp"

namespace ots {

struct SpanValues {
  std::span<const Value> values;
  size_t at = 0;

  size_t size() const { return values.size(); }
  bool next(Value& v) {
    if (at >= values.size()) return false;
    v = values[at++];
    return true;
  }
  // A span holds nothing past its values.
  bool whole() const { return true; }
};

}  // namespace ots
