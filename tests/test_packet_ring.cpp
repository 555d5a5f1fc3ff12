#include <catch2/catch.hpp>

#include <cstring>
#include <thread>
#include <vector>

#include "sensor/packet_ring.hpp"

using namespace ots;

namespace {
PacketView make(uint64_t ts, const std::vector<uint8_t>& bytes) {
  PacketView v;
  v.ts_ns = ts;
  v.data = bytes.data();
  v.caplen = static_cast<uint32_t>(bytes.size());
  v.wirelen = v.caplen + 3;
  v.ingress = 2;
  v.link = LinkType::Raw;
  return v;
}
}  // namespace

TEST_CASE("packet ring delivers packets, ticks and end in order with their metadata", "[ring]") {
  PacketRing ring(4096);
  std::vector<uint8_t> a = {1, 2, 3}, b(100, 0xab);
  ring.push_packet(make(10, a));
  ring.push_packet(make(20, b));
  ring.push_tick(25);
  ring.push_packet(make(30, a));
  ring.push_end();

  PacketRing::Batch batch;
  ring.read(batch);
  REQUIRE(batch.count == 2);
  CHECK(batch.tick);
  CHECK(batch.tick_ns == 25);
  CHECK_FALSE(batch.end);
  CHECK(batch.records[0].packet.ts_ns == 10);
  CHECK(batch.records[0].packet.caplen == 3);
  CHECK(batch.records[0].packet.wirelen == 6);
  CHECK(batch.records[0].packet.ingress == 2);
  CHECK(batch.records[0].packet.link == LinkType::Raw);
  CHECK(std::memcmp(batch.records[0].packet.data, a.data(), 3) == 0);
  CHECK(std::memcmp(batch.records[1].packet.data, b.data(), b.size()) == 0);
  ring.release();

  ring.read(batch);
  REQUIRE(batch.count == 1);
  CHECK(batch.records[0].packet.ts_ns == 30);
  CHECK(batch.end);
  ring.release();
}

TEST_CASE("packet ring wraps around many times without losing or corrupting packets", "[ring]") {
  // A small ring and odd sizes force wrap markers and the too-small-for-a-marker case.
  PacketRing ring(1024);
  constexpr int kPackets = 20000;
  std::thread producer([&] {
    std::vector<uint8_t> buf(300);
    for (int i = 0; i < kPackets; ++i) {
      const size_t len = 1 + static_cast<size_t>(i * 37 % 290);
      for (size_t j = 0; j < len; ++j) buf[j] = static_cast<uint8_t>(i + j);
      buf.resize(len);
      ring.push_packet(make(static_cast<uint64_t>(i), buf));
      buf.resize(300);
      if (i % 7 == 0) ring.publish();
    }
    ring.push_end();
  });
  int seen = 0;
  bool ok = true;
  PacketRing::Batch batch;
  for (bool end = false; !end;) {
    ring.read(batch);
    for (size_t k = 0; k < batch.count; ++k) {
      const PacketView& v = batch.records[k].packet;
      const size_t len = 1 + static_cast<size_t>(seen * 37 % 290);
      ok = ok && v.ts_ns == static_cast<uint64_t>(seen) && v.caplen == len;
      for (size_t j = 0; ok && j < len; ++j) ok = v.data[j] == static_cast<uint8_t>(seen + static_cast<int>(j));
      ++seen;
    }
    end = batch.end;
    ring.release();
  }
  producer.join();
  CHECK(ok);
  CHECK(seen == kPackets);
}
