#include "sensor/packet_ring.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>

namespace ots {

// A header field of a record in the ring (headers are 8-byte aligned, written with memcpy).
template <class T>
static T field(const uint8_t* header, size_t offset) {
  T v;
  std::memcpy(&v, header + offset, sizeof v);
  return v;
}

PacketRing::PacketRing(size_t capacity)
    : cap_(std::bit_ceil(capacity < 1024 ? size_t{1024} : capacity)), buf_(new uint8_t[cap_]) {}

// Waits for room for a record with a body of body_len bytes and returns where its body goes. A record
// never straddles the end: the rest of the buffer is skipped (with a wrap marker when one fits).
uint8_t* PacketRing::reserve_slow(size_t body_len) {
  const size_t need = kHeader + align8(body_len);
  uint64_t head = written_;
  size_t pos = head & (cap_ - 1);
  const size_t skip = (cap_ - pos < need) ? cap_ - pos : 0;
  // The consumer's tail as last seen: reloaded only when it says the ring is full, so the producer does
  // not pull the consumer's cache line over at every record.
  while (head + skip + need - tail_seen_ > cap_) {
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    if (tail != tail_seen_) {
      tail_seen_ = tail;
      continue;
    }
    publish();  // the consumer may be asleep waiting for what we already wrote
    // Sleep until the consumer has freed an eighth of the ring, not just this record's room: woken at
    // every batch it releases, a producer that outruns the consumer (a worker busy with every log on)
    // cost both threads a futex call per batch; this way it writes a long stretch per wake-up. The
    // point is one the consumer will reach: it never lies past what was published.
    const uint64_t room_at = head + skip + need - cap_;
    const uint64_t wake_at = std::min<uint64_t>(written_, std::max<uint64_t>(room_at, tail + cap_ / 8));
    // As read() sleeps: the flag first, then a second look, so that release() either frees what this
    // look sees or sees the flag and wakes us.
    const uint32_t seq = wake_seq_.load(std::memory_order_acquire);
    producer_wake_at_.store(wake_at, std::memory_order_relaxed);
    producer_sleeping_.store(true, std::memory_order_seq_cst);
    if (tail_.load(std::memory_order_seq_cst) < wake_at) wake_seq_.wait(seq, std::memory_order_acquire);
    producer_sleeping_.store(false, std::memory_order_relaxed);
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
  reserved_ = head;
  return buf_.get() + pos + kHeader;
}

void PacketRing::push_tick(uint64_t now_ns) {
  reserve(0);
  commit(kTick, now_ns, 0, 0);
}

void PacketRing::push_end() {
  reserve(0);
  commit(kEnd, 0, 0, 0);
  publish();
}

// Makes what was written visible to the consumer, and wakes it if it sleeps. Records become visible
// in batches (a burst's, at the loop's tick), not one by one: each store to head_ takes its cache line
// away from a consumer that polls it, a transfer between cores that cost more than the record itself.
void PacketRing::publish() {
  if (written_ == published_) return;
  published_ = written_;
  head_.store(written_, std::memory_order_seq_cst);
  // Pairs with read(): either the consumer's second look at head_ sees the records, or this sees it asleep.
  if (sleeping_.load(std::memory_order_seq_cst)) head_.notify_one();
}

namespace {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();  // a spin-wait hint: a slower loop, without a system call
#endif
}
}  // namespace

void PacketRing::read(Batch& out) {
  out.count = 0;
  out.tick = false;
  out.end = false;
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  uint64_t head = head_.load(std::memory_order_acquire);
  // Spin a while before sleeping: at line rate the next batch is microseconds away, and a sleeping
  // consumer costs the producer a system call to wake (publish()). The spin pauses instead of yielding
  // (sched_yield is a system call too) and only reads head_, which the producer stores once a batch.
  for (int spins = 0; head == tail && spins < kSpins; ++spins) {
    cpu_relax();
    head = head_.load(std::memory_order_acquire);
  }
  while (head == tail) {
    sleeping_.store(true, std::memory_order_seq_cst);
    head = head_.load(std::memory_order_seq_cst);  // what was written before the flag was seen
    if (head == tail) head_.wait(head, std::memory_order_acquire);
    sleeping_.store(false, std::memory_order_relaxed);
    head = head_.load(std::memory_order_acquire);
  }
  // The size, buffer and count in locals: with the members, every record's stores into out.records made
  // the compiler load them again (6 of the loop's 42 instructions a record; callgrind).
  const size_t cap = cap_;
  const uint8_t* const buf = buf_.get();
  size_t count = 0;
  uint64_t pos = tail;
  while (pos != head && count < Batch::kMaxRecords) {
    size_t off = pos & (cap - 1);
    if (cap - off < kHeader) {  // too small for a wrap marker: the producer skipped it
      pos += cap - off;
      continue;
    }
    // The header's fields one by one: a copy of the whole header went through the stack.
    const uint8_t* const at = buf + off;
    const auto kind = field<uint32_t>(at, offsetof(Header, kind));
    if (kind == kWrap) {
      pos += cap - off;
      continue;
    }
    if (kind == kTick) {
      pos += kHeader;
      out.tick = true;
      out.tick_ns = field<uint64_t>(at, offsetof(Header, ts_ns));
      break;
    }
    if (kind == kEnd) {
      pos += kHeader;
      out.end = true;
      break;
    }
    const auto body_len = field<uint32_t>(at, offsetof(Header, body_len));
    Record& r = out.records[count++];
    r.kind = static_cast<Kind>(kind);
    r.ts_ns = field<uint64_t>(at, offsetof(Header, ts_ns));
    r.aux = field<uint32_t>(at, offsetof(Header, aux));
    r.body = {at + kHeader, body_len};
    pos += kHeader + align8(body_len);
  }
  out.count = count;
  read_to_ = pos;
}

// Wakes the producer only when it sleeps on a full ring and the point it waits for is reached: a notify
// is a system call, and a consumer releases after every few records.
void PacketRing::release() {
  tail_.store(read_to_, std::memory_order_seq_cst);
  if (producer_sleeping_.load(std::memory_order_seq_cst) &&
      read_to_ >= producer_wake_at_.load(std::memory_order_relaxed)) {
    wake_seq_.fetch_add(1, std::memory_order_release);
    wake_seq_.notify_one();
  }
}

}  // namespace ots
