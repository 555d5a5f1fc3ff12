#include "rules/content_pattern.hpp"

#include <fmt/format.h>

namespace ots::rules {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool decode_content_literal(std::string_view literal, std::string& bytes, std::string& why) {
  bytes.clear();
  size_t i = 0;
  while (i < literal.size()) {
    if (literal[i] != '|') {
      bytes += literal[i++];
      continue;
    }
    // A hex block, as Suricata's content keyword: pairs of hex digits, spaces between them allowed.
    const size_t open = i++;
    int high = -1;
    for (;;) {
      if (i == literal.size()) {
        why = fmt::format("unterminated |...| hex block starting at offset {}", open);
        return false;
      }
      const char c = literal[i++];
      if (c == '|') break;
      if (c == ' ') {
        if (high >= 0) {
          why = fmt::format("odd number of hex digits in the |...| block at offset {}", open);
          return false;
        }
        continue;
      }
      const int v = hex_value(c);
      if (v < 0) {
        why = fmt::format("'{}' is not a hex digit (in the |...| block at offset {})", c, open);
        return false;
      }
      if (high < 0) {
        high = v;
      } else {
        bytes += static_cast<char>((high << 4) | v);
        high = -1;
      }
    }
    if (high >= 0) {
      why = fmt::format("odd number of hex digits in the |...| block at offset {}", open);
      return false;
    }
  }
  if (bytes.empty()) {
    why = "empty content: a pattern must have at least one byte";
    return false;
  }
  return true;
}

std::string literal_expression(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 4);
  for (const char c : bytes) out += fmt::format("\\x{:02x}", static_cast<uint8_t>(c));
  return out;
}

}  // namespace ots::rules
