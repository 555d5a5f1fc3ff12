// The TELEMETRY hash chain on its own: head, gap counts, replay, fork, late, the 1,024-record window.
#include <catch2/catch.hpp>

#include "attest_tap/chain.hpp"

using namespace ots::attest;

namespace {

// Stand-in digests: record n of a chain is digest d(n) and links to d(n - 1); d(0) is zeros.
Blake2b256 d(uint64_t n, uint8_t variant = 0) {
  Blake2b256 x;
  if (n == 0) return x;
  for (int i = 0; i < 8; ++i) x.bytes[size_t(i)] = uint8_t(n >> (8 * i));
  x.bytes[31] = uint8_t(variant + 1);
  return x;
}

Finding add(TelemetryChain& c, uint64_t seq, uint8_t variant = 0) { return c.add(seq, d(seq - 1), d(seq, variant)); }

}  // namespace

TEST_CASE("chain: a linked sequence is ok and moves the head", "[attest][chain]") {
  TelemetryChain c;
  for (uint64_t s = 1; s <= 5; ++s) CHECK(add(c, s).verdict == Verdict::Ok);
  CHECK(c.head() == 5);
  CHECK(c.first() == 1);
}

TEST_CASE("chain: seq 1 must carry a zero prev_hash, a chain may start later", "[attest][chain]") {
  TelemetryChain a;
  const Finding f = a.add(1, d(7), d(1));
  CHECK(f.verdict == Verdict::ChainBroken);
  CHECK(f.detail == "seq 1 has a non-zero prev_hash");
  CHECK(a.head() == 1);
  TelemetryChain b;
  CHECK(add(b, 40).verdict == Verdict::Ok);
  CHECK(b.first() == 40);
}

TEST_CASE("chain: deleted records are a gap with their count, the new record is the head", "[attest][chain]") {
  TelemetryChain c;
  add(c, 1);
  add(c, 2);
  const Finding f = add(c, 5);
  CHECK(f.verdict == Verdict::ChainGap);
  CHECK(f.detail == "2 records missing (seq 3 to 4)");
  CHECK(c.head() == 5);
  CHECK(add(c, 6).verdict == Verdict::Ok);
  CHECK(add(c, 8).detail == "1 record missing (seq 7 to 7)");
}

TEST_CASE("chain: a wrong prev_hash is broken and still becomes the head", "[attest][chain]") {
  TelemetryChain c;
  add(c, 1);
  add(c, 2);
  const Finding f = c.add(3, d(2, 9), d(3));
  CHECK(f.verdict == Verdict::ChainBroken);
  CHECK(f.detail == "prev_hash is not the digest of seq 2");
  CHECK(c.head() == 3);
  CHECK(add(c, 4).verdict == Verdict::Ok);
}

TEST_CASE("chain: the same record again is a replay, different content at a seen seq a fork", "[attest][chain]") {
  TelemetryChain c;
  for (uint64_t s = 1; s <= 4; ++s) add(c, s);
  CHECK(add(c, 2).verdict == Verdict::Replay);
  CHECK(add(c, 4).verdict == Verdict::Replay);
  const Finding f = add(c, 3, 1);
  CHECK(f.verdict == Verdict::Fork);
  CHECK(f.detail == "seq 3 differs from the record seen before at that seq");
  CHECK(c.head() == 4);
  CHECK(add(c, 5).verdict == Verdict::Ok);  // neither moved the head
}

TEST_CASE("chain: a record filling a reported gap is late, once, then a replay", "[attest][chain]") {
  TelemetryChain c;
  add(c, 1);
  add(c, 2);
  CHECK(add(c, 5).verdict == Verdict::ChainGap);
  Finding f = add(c, 3);
  CHECK(f.verdict == Verdict::Late);
  CHECK(f.detail == "fills a reported gap");
  CHECK(add(c, 4).verdict == Verdict::Late);
  CHECK(add(c, 3).verdict == Verdict::Replay);
  CHECK(c.head() == 5);
  // A late record that does not link to its known predecessor is broken (and does not move the head).
  add(c, 8);
  add(c, 9);
  f = c.add(6, d(5, 4), d(6));
  CHECK(f.verdict == Verdict::ChainBroken);
  CHECK(f.detail == "late seq 6: prev_hash is not the digest of seq 5");
  CHECK(c.head() == 9);
  // Its successor's predecessor is now known and links.
  CHECK(add(c, 7).verdict == Verdict::Late);
}

TEST_CASE("chain: records before the first one seen are late", "[attest][chain]") {
  TelemetryChain c;
  add(c, 10);
  const Finding f = add(c, 9);
  CHECK(f.verdict == Verdict::Late);
  CHECK(f.detail == "precedes the first record seen (seq 10)");
}

TEST_CASE("chain: 1,024 records are remembered, older ones are replays", "[attest][chain]") {
  TelemetryChain c;
  for (uint64_t s = 1; s <= 3000; ++s) REQUIRE(add(c, s).verdict == Verdict::Ok);
  CHECK(add(c, 3000 - 1023).verdict == Verdict::Replay);
  CHECK(add(c, 3000 - 1023, 1).verdict == Verdict::Fork);
  const Finding f = add(c, 3000 - 1024);
  CHECK(f.verdict == Verdict::Replay);
  CHECK(f.detail == "seq 1976 is older than the last 1024 records remembered (head 3000)");
  // A gap wider than the window forgets everything before it.
  CHECK(add(c, 5000).verdict == Verdict::ChainGap);
  CHECK(add(c, 4000).verdict == Verdict::Late);
}
