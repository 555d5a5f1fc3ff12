// Uid::text converts five base62 digits per division pass; every log's uid column depends on it giving
// exactly the digits of the plain one-digit-per-pass conversion (Zeek's uid text), which is the oracle here.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>

#include "capture/net_types.hpp"
#include "sensor/core_logs.hpp"

namespace {

std::string reference_text(const ots::Uid& u) {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uint32_t limbs[3] = {static_cast<uint32_t>(u.hi >> 32), static_cast<uint32_t>(u.hi), u.lo};
  std::string digits;
  do {
    uint64_t rem = 0;
    for (uint32_t& l : limbs) {
      const uint64_t cur = (rem << 32) | l;
      l = static_cast<uint32_t>(cur / 62);
      rem = cur % 62;
    }
    digits.insert(digits.begin(), kDigits[rem]);
  } while (limbs[0] != 0 || limbs[1] != 0 || limbs[2] != 0);
  return "C" + digits;
}

}  // namespace

TEST_CASE("uid text is base62 of the 96 bits, digit for digit, at chunk boundaries and at random") {
  CHECK(std::string(ots::Uid{0, 0}.text().view()) == "C0");
  CHECK(std::string(ots::Uid{0, 61}.text().view()) == "Cz");
  CHECK(std::string(ots::Uid{0, 62}.text().view()) == "C10");
  uint64_t p = 1;
  for (int i = 0; i < 11; ++i, p *= 62) {  // 62^0 .. 62^10, the limbs of five-digit chunks and their edges
    for (const ots::Uid u : {ots::Uid{0, static_cast<uint32_t>(p)}, ots::Uid{p, 0}, ots::Uid{p - 1, ~0u},
                             ots::Uid{p + 1, 1}}) {
      CHECK(std::string(u.text().view()) == reference_text(u));
    }
  }
  CHECK(std::string(ots::Uid{~0ull, ~0u}.text().view()) == reference_text(ots::Uid{~0ull, ~0u}));
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const int shift = static_cast<int>(rng() % 64);
    const ots::Uid u{rng() >> shift, static_cast<uint32_t>(rng() >> (rng() % 33))};
    REQUIRE(std::string(u.text().view()) == reference_text(u));
  }
}

TEST_CASE("weird uid cache gives each connection its own text when connections interleave") {
  ots::UidTextCache cache;
  const ots::Uid a{0x0123456789abcdefull, 7}, b{0x0123456789abcdefull ^ 7, 0};  // same slot, different uids
  for (int i = 0; i < 3; ++i) {
    CHECK(std::string(cache.get(a)) == reference_text(a));
    CHECK(std::string(cache.get(b)) == reference_text(b));
  }
}
