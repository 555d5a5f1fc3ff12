// Single-producer single-consumer ring from the dispatcher to one worker: packets copied into
// variable-length records, plus time ticks and an end marker, in order.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "capture/packet.hpp"

namespace ots {

class PacketRing {
 public:
  // capacity: bytes, rounded up to a power of two.
  explicit PacketRing(size_t capacity);
  PacketRing(const PacketRing&) = delete;
  PacketRing& operator=(const PacketRing&) = delete;

  // Producer side. Blocks while the ring is full (a replay must not drop packets).
  void push_packet(const PacketView& p);
  void push_tick(uint64_t now_ns);
  void push_end();
  // Wakes the consumer after a batch of pushes.
  void publish();

  // Consumer side: what read() found.
  struct Batch {
    PacketBurst burst;        // packets, views into the ring (valid until release())
    bool tick = false;        // after the packets: packet time reached tick_ns
    uint64_t tick_ns = 0;
    bool end = false;         // after the packets: the producer is done
  };
  // Blocks until something is available; returns up to a burst of packets, stopping after a tick or end.
  void read(Batch& out);
  // Frees what the last read() returned.
  void release();

 private:
  enum Kind : uint32_t { kPacket = 0, kTick = 1, kEnd = 2, kWrap = 3 };
  struct Header;
  void push(Kind kind, const PacketView* p, uint64_t ts_ns);

  size_t cap_;
  std::unique_ptr<uint8_t[]> buf_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
  alignas(64) uint64_t read_to_ = 0;           // consumer: end of the last read()
  uint64_t published_ = 0;                      // producer: head value at the last publish()
};

}  // namespace ots
