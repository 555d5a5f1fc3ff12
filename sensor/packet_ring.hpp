// Single-producer single-consumer ring from the dispatcher to one worker: variable-length records (what
// the dispatcher decoded of each packet, and the weirds it met: sensor/ring_records.hpp), plus time ticks
// and an end marker, in order.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "capture/packet.hpp"  // PacketBurst::kMaxPackets

namespace ots {

class PacketRing {
 public:
  enum class Kind : uint32_t {
    Decoded,      // a packet the dispatcher decoded
    Counted,      // a packet that decoded to nothing to track (not IP, malformed, a held fragment)
    Weird,        // a weird the dispatcher's decoding reported
    DecodeStats,  // the dispatcher's decoder counters for this worker, so far
  };

  // capacity: bytes, rounded up to a power of two.
  explicit PacketRing(size_t capacity);
  PacketRing(const PacketRing&) = delete;
  PacketRing& operator=(const PacketRing&) = delete;

  // Producer side. Blocks while the ring is full (a replay must not drop packets).
  // A record of `kind` whose body, body_len bytes at an 8-byte aligned address in the ring, `fill(uint8_t*)`
  // writes in place (no staging copy). `aux` travels in the header (Decoded, Counted: the caplen). A record,
  // its 24-byte header included, may take at most half the ring (a larger one, after the skip at the
  // ring's end, might never find room).
  template <class Fill>
  void push_record(Kind kind, uint64_t ts_ns, uint32_t aux, size_t body_len, Fill&& fill) {
    fill(reserve(body_len));
    commit(static_cast<uint32_t>(kind), ts_ns, aux, body_len);
  }
  void push_tick(uint64_t now_ns);
  void push_end();
  // Makes the records pushed so far visible to the consumer (and wakes it): after a batch of pushes. A
  // full ring and push_end() publish by themselves.
  void publish();

  // Consumer side: one record, a view into the ring valid until release().
  struct Record {
    Kind kind = Kind::Decoded;
    uint64_t ts_ns = 0;
    uint32_t aux = 0;
    std::span<const uint8_t> body;  // 8-byte aligned
  };
  struct Batch {
    static constexpr size_t kMaxRecords = PacketBurst::kMaxPackets;
    Record records[kMaxRecords];
    size_t count = 0;
    bool tick = false;        // after the records: packet time reached tick_ns
    uint64_t tick_ns = 0;
    bool end = false;         // after the records: the producer is done
  };
  // Blocks until something is available; returns up to kMaxRecords records, stopping after a tick or end.
  void read(Batch& out);
  // Frees what the last read() returned.
  void release();

 private:
  static constexpr uint32_t kTick = 100, kEnd = 101, kWrap = 102;  // beside Kind's values
  static constexpr int kSpins = 4096;  // pauses (tens of microseconds) before the consumer sleeps
  struct Header {
    uint64_t ts_ns;
    uint32_t body_len;
    uint32_t aux;
    uint32_t kind;
    uint32_t pad;
  };
  static constexpr size_t kHeader = sizeof(Header);
  static_assert(kHeader % 8 == 0, "bodies start 8-byte aligned");
  static size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }
  // Inline, as push_record: the producer writes every packet's record through these, and the common
  // case (room before the end and before the consumer's tail as last seen) is a few instructions.
  uint8_t* reserve(size_t body_len) {
    const size_t need = kHeader + align8(body_len);
    const size_t pos = written_ & (cap_ - 1);
    if (cap_ - pos < need || written_ + need - tail_seen_ > cap_) return reserve_slow(body_len);
    reserved_ = written_;
    return buf_.get() + pos + kHeader;
  }
  // The header goes to the ring as three 8-byte words made in registers. (Filled field by field on the
  // stack and then copied, it was read back as one 16-byte load over four smaller stores not yet
  // retired: a store-forwarding stall on every packet, a third of push_decoded's samples.)
  void commit(uint32_t kind, uint64_t ts_ns, uint32_t aux, size_t body_len) {
    static_assert(offsetof(Header, ts_ns) == 0 && offsetof(Header, body_len) == 8 && offsetof(Header, aux) == 12 &&
                  offsetof(Header, kind) == 16 && kHeader == 24);
    static_assert(std::endian::native == std::endian::little, "the header words are laid out little-endian");
    uint8_t* at = buf_.get() + (reserved_ & (cap_ - 1));
    const uint64_t w1 = static_cast<uint32_t>(body_len) | uint64_t{aux} << 32;
    const uint64_t w2 = kind;
    std::memcpy(at, &ts_ns, 8);
    std::memcpy(at + 8, &w1, 8);
    std::memcpy(at + 16, &w2, 8);
    written_ = reserved_ + kHeader + align8(body_len);
  }
  // A record that wraps the buffer, or a ring that may be full: waits for room (publishing first).
  uint8_t* reserve_slow(size_t body_len);

  size_t cap_;
  std::unique_ptr<uint8_t[]> buf_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
  alignas(64) std::atomic<bool> sleeping_{false};  // the consumer waits in head_.wait()
  // The producer waits on a full ring (reserve_slow) until the consumer's tail reaches producer_wake_at_;
  // the consumer then bumps wake_seq_, which the producer sleeps on.
  alignas(64) std::atomic<bool> producer_sleeping_{false};
  std::atomic<uint64_t> producer_wake_at_{0};
  std::atomic<uint32_t> wake_seq_{0};
  alignas(64) uint64_t read_to_ = 0;           // consumer: end of the last read()
  // The producer's own line: beside read_to_, which the consumer writes on every read(), every push
  // missed on written_ (a fifth of push_decoded's samples).
  alignas(64) uint64_t written_ = 0;            // producer: end of the records written (head_ once published)
  uint64_t published_ = 0;                      // producer: head value at the last publish()
  uint64_t reserved_ = 0;                       // producer: where the record being written starts
  uint64_t tail_seen_ = 0;                      // producer: tail_ when it last looked
};

}  // namespace ots
