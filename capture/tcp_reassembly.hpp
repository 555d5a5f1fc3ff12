// One direction of a TCP byte stream: in-order delivery, out-of-order buffering, overlap checks and
// content gaps, modelled on Zeek's TCP_Reassembler (src/analyzer/protocol/tcp/TCP_Reassembler.cc).
//
// Sequence numbers here are Zeek's relative ones (64-bit, the SYN is 0, the first data byte is 1), so
// 32-bit wraparound is already resolved by the endpoint state. In-order bytes go to the sink straight
// from the packet; only out-of-order segments are copied. Connections whose payload nobody wants still
// run through here without bytes ("range only"), so content gaps and missed_bytes are counted for
// every TCP connection, as Zeek does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ots::flow {

enum class GapCause : uint8_t {
  Acked,        // the peer acknowledged past a hole (Zeek's content_gap)
  Truncated,    // the snaplen cut the segment: its tail was never captured
  BufferLimit,  // too much out-of-order data waiting on a hole: the hole is given up
  NotKept,      // bytes arrived while payload was not wanted, and are wanted now
  End,          // the connection ended with data beyond a hole
};

class StreamSink {
 public:
  virtual void deliver(std::span<const uint8_t> data) = 0;
  virtual void gap(uint64_t len, GapCause why) = 0;
  // Retransmitted bytes differ from the bytes first seen for that sequence range.
  virtual void inconsistent() = 0;

 protected:
  ~StreamSink() = default;
};

struct StreamLimits {
  uint64_t max_ooo_bytes = 1u << 20;     // out-of-order bytes (or ranges) buffered before a hole is abandoned
  uint32_t keep_unacked_bytes = 16384;   // delivered bytes kept until acknowledged, for overlap checks
};

// A stream's buffers: the delivered bytes kept for the retransmission check and, apart, the segments
// waiting beyond a hole. Only streams with something kept or waiting have them (TcpStream gives them back
// when nothing is left); at the perf capture's peak 3,400 streams had buffers, one in seven with segments
// waiting, so the waiting part is allocated only for those: 48 bytes here instead of 80.
struct StreamBuffers {
  struct Block {
    uint64_t seq = 0;
    uint64_t len = 0;
    bool missing = false;               // known never-captured bytes (a truncated segment's tail)
    std::unique_ptr<uint8_t[]> data;    // null for ranges tracked without bytes
    uint64_t end() const { return seq + len; }
  };
  struct Waiting {
    std::vector<Block> blocks;          // sorted, disjoint, all at or beyond the stream's next_seq()
    uint64_t buffered = 0;              // sum of block lengths
    uint64_t data_bytes = 0;            // bytes held in blocks
  };
  bool has_blocks() const { return waiting && !waiting->blocks.empty(); }

  std::unique_ptr<Waiting> waiting;     // null while nothing waits
  std::vector<uint8_t> kept;            // delivered bytes [kept_base, next_seq())
  static constexpr uint32_t kDefaultKeepLimit = 16384;
  uint64_t kept_base = 1;
  uint32_t keep_limit = kDefaultKeepLimit;
};
static_assert(sizeof(StreamBuffers) <= 48, "stream buffers grew: every stream with kept bytes pays for them");

// Owns the buffers of a set of streams (one store per flow table), in chunks of 64, and hands out 32-bit
// handles: a TCP endpoint holds a 4-byte handle, not an 8-byte pointer, and most endpoints hold none at a
// time. A handle given back is reused first, its buffers reset to a fresh state (and their heap parts
// freed) when it is given back.
class StreamStore {
 public:
  StreamStore() = default;
  StreamStore(const StreamStore&) = delete;
  StreamStore& operator=(const StreamStore&) = delete;

  // Bytes of the store: its chunks of buffers and its tables (a stream's footprint() counts the heap
  // parts of its own buffers).
  size_t footprint() const {
    return chunks_.capacity() * sizeof(chunks_[0]) + chunks_.size() * size_t{kChunk} * sizeof(StreamBuffers) +
           free_.capacity() * sizeof(free_[0]) + (spare_ ? kSpares * sizeof(spare_[0]) : 0) + spare_bytes_;
  }
  // Buffers in use now.
  size_t live() const { return used_ - free_.size(); }
  // Heap bytes the streams' buffers hold (the sum of their TcpStream::footprint()), kept in step by the
  // streams as their buffers change: the flow table reports it, and summing it per packet (before and
  // after each TCP packet) cost 3.5 M instructions on mb100k (callgrind).
  size_t held() const { return held_; }

 private:
  friend class TcpStream;
  static constexpr uint32_t kChunk = 64;
  // Handle h (1-based; 0 = none).
  StreamBuffers& at(uint32_t h) { return chunks_[(h - 1) / kChunk][(h - 1) % kChunk]; }
  const StreamBuffers& at(uint32_t h) const { return chunks_[(h - 1) / kChunk][(h - 1) % kChunk]; }
  // A handle: the last one given back (its buffers reset then), else a new one. Inline: a polling
  // stream takes one per request and per response.
  uint32_t acquire() {
    if (free_.empty()) return acquire_new();
    const uint32_t h = free_.back();
    free_.pop_back();
    return h;
  }
  uint32_t acquire_new();
  void release(uint32_t h);
  // Gives `kept` (empty, without capacity) a spare vector with room for `len` bytes and less than
  // kSpareSlack more, if there is one (kept bytes come a byte or more at a time: len is never 0).
  void take_spare(std::vector<uint8_t>& kept, size_t len) {
    if (spare_count_ != 0 && len - 1 < kSpareCapacity) take_spare_fit(kept, len);
  }
  void take_spare_fit(std::vector<uint8_t>& kept, size_t len);
  // Keeps `kept` (at most kSpareCapacity bytes of capacity) as a spare, the oldest one going if full.
  void give_spare(std::vector<uint8_t>& kept);

  // A stream that delivers payload keeps it until the peer's ACK, then gives its buffers back: one
  // allocation and one free per request and per response (mb100k: 53,000 of each, 10 M instructions).
  // The last few small kept-byte vectors given back keep their capacity here (counted in footprint())
  // for the next stream that keeps about as many bytes: requests and responses of polling protocols
  // come in few sizes. Only a close fit is taken, as a stream holds its capacity until the ACK and at
  // the perf capture's peak hundreds of streams hold a few kept bytes each: spares of up to 128 bytes
  // taken for any smaller size cost 3 bytes a flow with conn.log only, these 0.14.
  static constexpr size_t kSpares = 8;
  static constexpr size_t kSpareSlack = 16;
  static constexpr size_t kSpareCapacity = 128;
  static_assert(kSpares <= 8 && kSpareCapacity <= UINT8_MAX, "spare slots are a byte's bits, capacities bytes");

  std::vector<std::unique_ptr<StreamBuffers[]>> chunks_;
  size_t held_ = 0;             // held()
  std::vector<uint32_t> free_;  // handles given back, reused last-in first-out
  // The spares, in kSpares slots allocated with the first (the bytes a vector of vectors reserved for
  // them took, and footprint() counts), found by their slots and capacities kept a byte each in two
  // words, oldest first: taking one from the middle and dropping the oldest moved vectors along a vector
  // of them, 150 instructions a request (mb100k, callgrind).
  std::unique_ptr<std::vector<uint8_t>[]> spare_;
  size_t spare_bytes_ = 0;                // their capacity
  uint64_t spare_order_ = 0;              // the slots holding a spare, a byte each, the oldest lowest
  uint64_t spare_caps_ = 0;               // their capacities, in the same order (0 past the last)
  uint32_t used_ = 0;                     // handles handed out so far: 1 .. used_
  uint8_t spare_count_ = 0;               // spares held
  uint8_t spare_free_ = (1u << kSpares) - 1;  // a bit per slot without a spare
};

static_assert(sizeof(StreamStore) <= 96, "the stream store grew: it is part of every flow table's memory");

// 16 bytes (two in every TCP connection): the next and trim points are 64-bit relative sequence numbers
// kept in 48 bits (see join below), the buffers a handle into the table's StreamStore.
class TcpStream {
 public:
  TcpStream() = default;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  // Next relative sequence number to deliver (Zeek's last_reassem_seq) and the highest acknowledged one
  // already processed (trim_seq).
  uint64_t next_seq() const { return join(next_lo_, next_hi_); }
  uint64_t trim_seq() const { return join(trim_lo_, trim_hi_); }
  bool has_buffered(const StreamStore& store) const { return buf_ != 0 && store.at(buf_).has_blocks(); }

  // A segment's payload at relative sequence `seq`: `captured` are the bytes present, `len` the length
  // the headers give (longer when the snaplen cut it). `acked` is the highest relative sequence the peer
  // has acknowledged: bytes below it were delivered (or given up) long ago and are dropped, as Zeek's
  // DataSent does. `keep` = deliver and keep bytes (the connection wants payload); otherwise only ranges
  // are tracked. `peer_active` tells a one-byte keep-alive probe (not an inconsistency) from a rewrite.
  //
  // Inline: a connection whose payload nobody wants (conn.log only, or its analyzers detached) sends
  // nearly all its segments whole and in order with nothing buffered, and all the general path does for
  // them is move next_seq(); this does only that. A connection whose payload is wanted (request and
  // response polling) sends its segments whole and in order, or again over bytes not acknowledged yet,
  // with nothing waiting beyond a hole: segment_kept() does what the general path does for those. The
  // rest goes to segment_general.
  void segment(StreamStore& store, uint64_t seq, std::span<const uint8_t> captured, uint64_t len, uint64_t acked,
               bool keep, bool peer_active, const StreamLimits& limits, StreamSink& sink) {
    if (len != 0 && captured.size() >= len && seq >= acked && seq >= trim_seq()) {
      const uint64_t next = next_seq();
      if (!keep) {
        if (buf_ == 0 && seq == next) {
          set_next(seq + len);
          return;
        }
      } else if (seq <= next && seq + len > next && limits.keep_unacked_bytes != 0 &&
                 (buf_ == 0 || !store.at(buf_).waiting)) {
        segment_kept(store, seq, captured.first(len), peer_active, limits.keep_unacked_bytes, sink);
        return;
      }
    }
    segment_general(store, seq, captured, len, acked, keep, peer_active, limits, sink);
  }

  // The peer acknowledged everything below `up_to`: anything still missing below it never arrives.
  // `report` = false applies Zeek's partial-connection quirk (an ACK of 1 or 2 is not a gap).
  //
  // Inline: with no hole below the ACK (or none to report), an ACK only moves trim_seq() and drops the
  // kept bytes below it, which is all the general path does: without buffers the first, with kept bytes
  // and nothing waiting ack_kept().
  void ack(StreamStore& store, uint64_t up_to, bool keep, bool report, StreamSink& sink) {
    if (!ack_fast(store, up_to, report)) ack_general(store, up_to, keep, report, sink);
  }
  // ack()'s fast path alone: true when it did all of the ACK's work, false having changed nothing. Apart
  // so that a caller makes its sink only for the general path (the flow table's is 8 instructions to
  // make, on every ACK: 0.8 M on mb100k, callgrind); a fast ACK reports nothing to a sink.
  bool ack_fast(StreamStore& store, uint64_t up_to, bool report) {
    if (up_to <= trim_seq()) return true;
    if (up_to <= next_seq() || !report) {
      if (buf_ == 0) {
        set_trim(up_to);
        return true;
      }
      if (!store.at(buf_).waiting) {
        ack_kept(store, up_to);
        return true;
      }
    }
    return false;
  }

  // What segment() and ack() do when their fast path does not apply: every case, the fast paths'
  // included (public so the tests can hold the fast paths to them).
  void segment_general(StreamStore& store, uint64_t seq, std::span<const uint8_t> captured, uint64_t len,
                       uint64_t acked, bool keep, bool peer_active, const StreamLimits& limits, StreamSink& sink);
  void ack_general(StreamStore& store, uint64_t up_to, bool keep, bool report, StreamSink& sink);

  // The connection ends: deliver what waits beyond holes, reporting the holes (GapCause::End).
  void finish(StreamStore& store, bool keep, StreamSink& sink);

  // Heap bytes held by this stream (buffers, blocks, kept bytes); 0 in the common in-order case.
  size_t footprint(const StreamStore& store) const { return buf_ ? buffers_footprint(store.at(buf_)) : 0; }

  void reset(StreamStore& store);

  // A 64-bit relative sequence number from its low 32 bits and 16 more (split(): v >> 32 cut to 16
  // bits). The values are below 2^48 (the endpoints count 16-bit wraps of the 32-bit space), or within
  // 2^32 below 2^64 when Zeek's unsigned arithmetic goes below zero (a FIN numbered before the SYN; the
  // ACK limit fin_seq - 1 when fin_seq is 0): a high part of 0xffff stands for those, so every value is
  // kept exactly but the last 4 GiB before the wrap counters' own end at 2^48 (256 TiB in one direction).
  static uint64_t join(uint32_t lo, uint16_t hi) {
    return hi == 0xffff ? 0xffff'ffff'0000'0000ull | lo : uint64_t{hi} << 32 | lo;
  }
  static uint16_t high16(uint64_t v) { return static_cast<uint16_t>(v >> 32); }

 private:
  using Block = StreamBuffers::Block;
  static constexpr size_t kMaxBlocks = 1024;

  StreamBuffers* buffers_if_any(StreamStore& store) { return buf_ ? &store.at(buf_) : nullptr; }
  StreamBuffers& buffers(StreamStore& store) {
    if (!buf_) {
      buf_ = store.acquire();
      store.at(buf_).kept_base = next_seq();
    }
    return store.at(buf_);
  }
  static size_t buffers_footprint(const StreamBuffers& b) {
    const size_t waiting = b.waiting ? sizeof(StreamBuffers::Waiting) + b.waiting->blocks.capacity() * sizeof(Block) +
                                           b.waiting->data_bytes
                                     : 0;
    return waiting + b.kept.capacity();
  }
  // The general paths' work, which segment_general, ack_general, finish and reset wrap to keep the
  // store's held() in step.
  void segment_body(StreamStore& store, uint64_t seq, std::span<const uint8_t> captured, uint64_t len,
                    uint64_t acked, bool keep, bool peer_active, const StreamLimits& limits, StreamSink& sink);
  void ack_body(StreamStore& store, uint64_t up_to, bool keep, bool report, StreamSink& sink);
  void finish_body(StreamStore& store, bool keep, StreamSink& sink);
  // segment()'s and ack()'s fast paths for streams that keep bytes (see there).
  void segment_kept(StreamStore& store, uint64_t seq, std::span<const uint8_t> data, bool peer_active,
                    uint32_t keep_limit, StreamSink& sink);
  void ack_kept(StreamStore& store, uint64_t up_to);
  // Whether `data` at `seq` differs from the kept bytes it overlaps (TCP_Reassembler::Overlap). Inline:
  // a segment in order overlaps none.
  static bool kept_differs(const StreamBuffers& b, uint64_t seq, std::span<const uint8_t> data, bool peer_active) {
    const uint64_t kept_end = b.kept_base + b.kept.size();
    if (seq >= kept_end || seq + data.size() <= b.kept_base) return false;
    return kept_overlap_differs(b, seq, data, peer_active);
  }
  static bool kept_overlap_differs(const StreamBuffers& b, uint64_t seq, std::span<const uint8_t> data,
                                   bool peer_active);
  static StreamBuffers::Waiting& waiting(StreamBuffers& b);
  void check_overlap(const StreamBuffers& b, uint64_t seq, std::span<const uint8_t> data, bool peer_active,
                     StreamSink& sink) const;
  void insert(StreamStore& store, uint64_t seq, uint64_t len, const uint8_t* data, bool missing, bool keep,
              StreamSink& sink);
  void emit(StreamStore& store, uint64_t len, const uint8_t* data, bool missing, bool keep, StreamSink& sink);
  void pump(StreamStore& store, bool keep, StreamSink& sink);
  void skip_to(StreamStore& store, uint64_t seq, GapCause why, bool keep, StreamSink& sink);
  void keep_bytes(StreamStore& store, const uint8_t* data, uint64_t len, bool keep);
  // keep_bytes with the stream's buffers `b` and next_seq() `next` given (segment_kept has both at hand).
  static void keep_in(StreamStore& store, StreamBuffers& b, uint64_t next, const uint8_t* data, uint64_t len,
                      bool keep);
  void drop_kept_below(StreamStore& store, uint64_t seq);
  void release_if_empty(StreamStore& store);

  void set_next(uint64_t v) {
    next_lo_ = static_cast<uint32_t>(v);
    next_hi_ = high16(v);
  }
  void set_trim(uint64_t v) {
    trim_lo_ = static_cast<uint32_t>(v);
    trim_hi_ = high16(v);
  }

  uint32_t next_lo_ = 1;
  uint32_t trim_lo_ = 1;
  uint32_t buf_ = 0;  // StreamStore handle, 0 = no buffers
  uint16_t next_hi_ = 0;
  uint16_t trim_hi_ = 0;
};
static_assert(sizeof(TcpStream) == 16, "a TCP stream grew: every TCP connection holds two");

}  // namespace ots::flow
