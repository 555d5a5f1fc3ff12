#include <catch2/catch.hpp>

#include <cstring>
#include <thread>
#include <vector>

#include "sensor/packet_ring.hpp"

using namespace ots;

namespace {
using Kind = PacketRing::Kind;

void push_bytes(PacketRing& ring, Kind kind, uint64_t ts, uint32_t aux, const std::vector<uint8_t>& bytes) {
  ring.push_record(kind, ts, aux, bytes.size(), [&](uint8_t* out) {
    if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  });
}

// Runs a producer thread that pushes `n` records, record i with size_of(i) bytes of byte_of(i, j) (and
// its size as aux), publishing after those publish_at(i) names; reads them all on this thread. True when
// every record came back in order, whole and unchanged; `seen` counts them.
template <class Size, class Byte, class Publish>
bool round_trip(PacketRing& ring, int n, Size size_of, Byte byte_of, Publish publish_at, int& seen) {
  std::thread producer([&] {
    std::vector<uint8_t> buf;
    for (int i = 0; i < n; ++i) {
      const size_t len = size_of(i);
      buf.resize(len);
      for (size_t j = 0; j < len; ++j) buf[j] = byte_of(i, j);
      push_bytes(ring, Kind::Decoded, static_cast<uint64_t>(i), static_cast<uint32_t>(len), buf);
      if (publish_at(i)) ring.publish();
    }
    ring.push_end();
  });
  seen = 0;
  bool ok = true;
  PacketRing::Batch batch;
  for (bool end = false; !end;) {
    ring.read(batch);
    for (size_t k = 0; k < batch.count; ++k) {
      const PacketRing::Record& r = batch.records[k];
      const size_t len = size_of(seen);
      ok = ok && r.ts_ns == static_cast<uint64_t>(seen) && r.body.size() == len && r.aux == len;
      for (size_t j = 0; ok && j < len; ++j) ok = r.body[j] == byte_of(seen, j);
      ++seen;
    }
    end = batch.end;
    ring.release();
  }
  producer.join();
  return ok;
}
}  // namespace

TEST_CASE("packet ring delivers records, ticks and end in order with their metadata", "[ring]") {
  PacketRing ring(4096);
  std::vector<uint8_t> a = {1, 2, 3}, b(100, 0xab);
  push_bytes(ring, Kind::Decoded, 10, 6, a);
  push_bytes(ring, Kind::Weird, 20, 0, b);
  ring.push_tick(25);
  push_bytes(ring, Kind::Counted, 30, 60, {});
  ring.push_end();

  PacketRing::Batch batch;
  ring.read(batch);
  REQUIRE(batch.count == 2);
  CHECK(batch.tick);
  CHECK(batch.tick_ns == 25);
  CHECK_FALSE(batch.end);
  CHECK(batch.records[0].kind == Kind::Decoded);
  CHECK(batch.records[0].ts_ns == 10);
  CHECK(batch.records[0].aux == 6);
  REQUIRE(batch.records[0].body.size() == 3);
  CHECK(std::memcmp(batch.records[0].body.data(), a.data(), 3) == 0);
  CHECK(reinterpret_cast<uintptr_t>(batch.records[0].body.data()) % 8 == 0);
  CHECK(batch.records[1].kind == Kind::Weird);
  REQUIRE(batch.records[1].body.size() == b.size());
  CHECK(std::memcmp(batch.records[1].body.data(), b.data(), b.size()) == 0);
  CHECK(reinterpret_cast<uintptr_t>(batch.records[1].body.data()) % 8 == 0);
  ring.release();

  ring.read(batch);
  REQUIRE(batch.count == 1);
  CHECK(batch.records[0].kind == Kind::Counted);
  CHECK(batch.records[0].ts_ns == 30);
  CHECK(batch.records[0].aux == 60);
  CHECK(batch.records[0].body.empty());
  CHECK(batch.end);
  ring.release();
}

TEST_CASE("packet ring wraps around many times without losing or corrupting records", "[ring]") {
  // A small ring and odd sizes force wrap markers and the too-small-for-a-marker case; publishing only
  // now and then leaves the producer to publish when the ring is full and wait for the consumer.
  PacketRing ring(1024);
  int seen = 0;
  const bool ok = round_trip(
      ring, 20000, [](int i) { return static_cast<size_t>(i * 37 % 290); },
      [](int i, size_t j) { return static_cast<uint8_t>(i + static_cast<int>(j)); }, [](int i) { return i % 7 == 0; },
      seen);
  CHECK(ok);
  CHECK(seen == 20000);
}

TEST_CASE("a producer waiting on a full ring for records of half the ring's size is always woken", "[ring]") {
  // The producer sleeps until an eighth of the ring is free, or less when only that little can be freed
  // (the consumer cannot free what was not published): records of up to half the ring (the largest a
  // ring takes, its header included) must never deadlock, whatever the skips at its end.
  PacketRing ring(1024);
  static constexpr size_t kSizes[] = {488, 0, 400, 480, 8, 300, 488, 488, 16, 200};
  int seen = 0;
  const bool ok = round_trip(
      ring, 3000, [](int i) { return kSizes[static_cast<size_t>(i) % std::size(kSizes)]; },
      [](int i, size_t) { return static_cast<uint8_t>(i); }, [](int) { return false; }, seen);
  CHECK(ok);
  CHECK(seen == 3000);
}
