// The symmetric RSS key the DPDK source programs into a NIC (capture/dpdk_port.cpp): proven symmetric with
// the Toeplitz hash a NIC computes (capture/rss_key.hpp), itself checked against the verification
// vectors of Microsoft's RSS specification, which DPDK's rte_softrss() also gives. No NIC with RSS is
// needed: what a NIC does with the key is this function.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "capture/rss_key.hpp"

using namespace ots;

namespace {

// The key of Microsoft's "Verifying the RSS Hash Calculation" (also the default of many NICs).
const std::vector<uint8_t> kMicrosoftKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// Source address, destination address, then (when `ports`) source port and destination port, all in
// network byte order: the input a NIC hashes.
std::vector<uint8_t> tuple(const std::vector<uint8_t>& src, const std::vector<uint8_t>& dst, uint16_t sport,
                           uint16_t dport, bool ports) {
  std::vector<uint8_t> in(src);
  in.insert(in.end(), dst.begin(), dst.end());
  if (ports) {
    for (const uint16_t p : {sport, dport}) {
      in.push_back(static_cast<uint8_t>(p >> 8));
      in.push_back(static_cast<uint8_t>(p));
    }
  }
  return in;
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

}  // namespace

TEST_CASE("rss: the Toeplitz hash gives the verification vectors of Microsoft's RSS specification", "[rss]") {
  const std::vector<uint8_t> src4 = {66, 9, 149, 187}, dst4 = {161, 142, 100, 80};
  CHECK(toeplitz_hash(kMicrosoftKey, tuple(src4, dst4, 2794, 1766, false)) == 0x323e8fc2u);
  CHECK(toeplitz_hash(kMicrosoftKey, tuple(src4, dst4, 2794, 1766, true)) == 0x51ccc178u);
  // 3ffe:2501:200:1fff::7 to 3ffe:2501:200:3::1
  const std::vector<uint8_t> src6 = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7};
  const std::vector<uint8_t> dst6 = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(toeplitz_hash(kMicrosoftKey, tuple(src6, dst6, 2794, 1766, false)) == 0x2cc18cd5u);
  CHECK(toeplitz_hash(kMicrosoftKey, tuple(src6, dst6, 2794, 1766, true)) == 0x40207d3du);
  // A key too short for the input hashes nothing (a NIC would not accept it either).
  CHECK(toeplitz_hash(std::span(kMicrosoftKey).first(16), tuple(src6, dst6, 1, 2, true)) == 0);
}

TEST_CASE("rss: the symmetric key sends both directions of a flow to one queue and the default key does not",
          "[rss]") {
  std::mt19937 rng(62443);
  // 40 bytes is the common key size (most NICs, the DPDK default); 52 that of i40e/ice.
  for (const size_t key_size : {size_t{40}, size_t{52}}) {
    const std::vector<uint8_t> key = symmetric_toeplitz_key(key_size);
    REQUIRE(key.size() == key_size);
    for (const size_t addr : {size_t{4}, size_t{16}}) {
      for (int i = 0; i < 2000; ++i) {
        const auto a = random_bytes(rng, addr), b = random_bytes(rng, addr);
        const auto pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
        for (const bool ports : {false, true}) {
          INFO("key " << key_size << " B, address " << addr << " B, ports " << ports << ", tuple " << i);
          REQUIRE(toeplitz_hash(key, tuple(a, b, pa, pb, ports)) == toeplitz_hash(key, tuple(b, a, pb, pa, ports)));
        }
      }
    }
  }
  // The property is the key's: under Microsoft's key the two directions of its own vector differ.
  const std::vector<uint8_t> src4 = {66, 9, 149, 187}, dst4 = {161, 142, 100, 80};
  CHECK(toeplitz_hash(kMicrosoftKey, tuple(src4, dst4, 2794, 1766, true)) !=
        toeplitz_hash(kMicrosoftKey, tuple(dst4, src4, 1766, 2794, true)));
  // And the hash spreads: over 1,000 random IPv4 flows, both halves of a 2-queue split are used about evenly.
  const std::vector<uint8_t> key = symmetric_toeplitz_key(40);
  int odd = 0;
  for (int i = 0; i < 1000; ++i) {
    odd += static_cast<int>(toeplitz_hash(key, tuple(random_bytes(rng, 4), random_bytes(rng, 4), 0, 0, false)) & 1u);
  }
  CHECK(odd > 400);
  CHECK(odd < 600);
}
