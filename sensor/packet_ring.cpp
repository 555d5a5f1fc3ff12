#include "sensor/packet_ring.hpp"

#include <bit>
#include <cstring>
#include <thread>

namespace ots {

struct PacketRing::Header {
  uint64_t ts_ns;
  uint32_t caplen;
  uint32_t wirelen;
  uint16_t ingress;
  uint16_t link;
  uint32_t kind;
};

static constexpr size_t kHeader = 24;


static size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

PacketRing::PacketRing(size_t capacity)
    : cap_(std::bit_ceil(capacity < 1024 ? size_t{1024} : capacity)), buf_(new uint8_t[cap_]) {}

static_assert(kHeader == 24);

void PacketRing::push(Kind kind, const PacketView* p, uint64_t ts_ns) {
  static_assert(sizeof(Header) == kHeader);
  const size_t need = kHeader + (p ? align8(p->caplen) : 0);
  uint64_t head = head_.load(std::memory_order_relaxed);
  size_t pos = head & (cap_ - 1);
  // A record never straddles the end: the rest of the buffer is skipped (with a wrap marker when one fits).
  const size_t skip = (cap_ - pos < need) ? cap_ - pos : 0;
  for (;;) {
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    if (head + skip + need - tail <= cap_) break;
    publish();  // the consumer may be asleep waiting for what we already wrote
    tail_.wait(tail, std::memory_order_acquire);
  }
  if (skip) {
    if (skip >= kHeader) {
      Header h{};
      h.kind = kWrap;
      std::memcpy(buf_.get() + pos, &h, sizeof h);
    }
    head += skip;
    pos = 0;
  }
  Header h{};
  h.kind = kind;
  h.ts_ns = ts_ns;
  if (p) {
    h.ts_ns = p->ts_ns;
    h.caplen = p->caplen;
    h.wirelen = p->wirelen;
    h.ingress = p->ingress;
    h.link = static_cast<uint16_t>(p->link);
    std::memcpy(buf_.get() + pos + kHeader, p->data, p->caplen);
  }
  std::memcpy(buf_.get() + pos, &h, sizeof h);
  head_.store(head + need, std::memory_order_release);
}

void PacketRing::push_packet(const PacketView& p) { push(kPacket, &p, 0); }
void PacketRing::push_tick(uint64_t now_ns) { push(kTick, nullptr, now_ns); }
void PacketRing::push_end() {
  push(kEnd, nullptr, 0);
  publish();
}

void PacketRing::publish() {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  if (head != published_) {
    published_ = head;
    head_.notify_one();
  }
}

void PacketRing::read(Batch& out) {
  out.burst.count = 0;
  out.tick = false;
  out.end = false;
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  uint64_t head = head_.load(std::memory_order_acquire);
  // Spin briefly before sleeping: at line rate the next batch is microseconds away.
  for (int spins = 0; head == tail; ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
    } else {
      head_.wait(head, std::memory_order_acquire);
    }
    head = head_.load(std::memory_order_acquire);
  }
  uint64_t pos = tail;
  while (pos != head && out.burst.count < PacketBurst::kMaxPackets) {
    size_t off = pos & (cap_ - 1);
    if (cap_ - off < kHeader) {  // too small for a wrap marker: the producer skipped it
      pos += cap_ - off;
      continue;
    }
    Header h;
    std::memcpy(&h, buf_.get() + off, sizeof h);
    if (h.kind == kWrap) {
      pos += cap_ - off;
      continue;
    }
    if (h.kind == kTick) {
      pos += kHeader;
      out.tick = true;
      out.tick_ns = h.ts_ns;
      break;
    }
    if (h.kind == kEnd) {
      pos += kHeader;
      out.end = true;
      break;
    }
    PacketView& v = out.burst.pkts[out.burst.count++];
    v.ts_ns = h.ts_ns;
    v.caplen = h.caplen;
    v.wirelen = h.wirelen;
    v.ingress = h.ingress;
    v.link = static_cast<LinkType>(h.link);
    v.data = buf_.get() + off + kHeader;
    pos += kHeader + align8(h.caplen);
  }
  read_to_ = pos;
}

void PacketRing::release() {
  tail_.store(read_to_, std::memory_order_release);
  tail_.notify_one();
}

}  // namespace ots
