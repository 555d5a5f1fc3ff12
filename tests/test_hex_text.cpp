// hex_text is ICSNPP's fmt("0x%0Nx") for the dissectors' code columns; hex_byte_text's table of a byte's
// two digits must be what hex_text writes.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "dissectors/log_fields.hpp"

TEST_CASE("hex text of every byte and of wider values is printf's lowercase hex with a minimum width", "[log_fields]") {
  for (int width = 1; width <= 4; ++width) {
    for (uint64_t v = 0; v < 0x200; ++v) {
      CHECK(std::string(ots::hex_text(v, width).view()) == fmt::format("0x{:0{}x}", v, width));
    }
  }
  CHECK(std::string(ots::hex_text(0x0102030405060708ull, 2).view()) == "0x102030405060708");
  CHECK(std::string(ots::hex_text(~0ull, 4).view()) == "0xffffffffffffffff");
}

TEST_CASE("hex_byte_text of every byte is hex_text's two digits", "[log_fields]") {
  for (unsigned v = 0; v < 256; ++v) {
    CHECK(ots::hex_byte_text(static_cast<uint8_t>(v)) == ots::hex_text(v, 2).view());
  }
}
