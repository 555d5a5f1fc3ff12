// One value in a one-column log as the TSV and JSON formatters write it: shared by the formatter tests.
#pragma once

#include <catch2/catch.hpp>
#include <span>
#include <string>

#include "output/log_format.hpp"

namespace ots::test {

// The one line of a one-column log as format_tsv or format_json writes it, without its '\n'.
inline std::string line1(FieldType t, const Value& v, bool json) {
  const LogSchema s{"x", {{"x", t}}};
  std::string out;
  if (json) {
    format_json(s, std::span<const Value>(&v, 1), out);
  } else {
    format_tsv(s, std::span<const Value>(&v, 1), out);
  }
  REQUIRE(!out.empty());
  REQUIRE(out.back() == '\n');
  out.pop_back();
  return out;
}

inline std::string tsv1(FieldType t, const Value& v) { return line1(t, v, false); }
inline std::string json1(FieldType t, const Value& v) { return line1(t, v, true); }

// The value part of {"x":...}: the text Zeek would put after the key.
inline std::string json_val(FieldType t, const Value& v) {
  const std::string o = json1(t, v);
  REQUIRE(o.rfind("{\"x\":", 0) == 0);
  REQUIRE(o.back() == '}');
  return o.substr(5, o.size() - 6);
}

}  // namespace ots::test
