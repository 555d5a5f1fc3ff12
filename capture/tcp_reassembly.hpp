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
  uint64_t keep_unacked_bytes = 16384;   // delivered bytes kept until acknowledged, for overlap checks
};

class TcpStream {
 public:
  TcpStream() = default;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  // Next relative sequence number to deliver (Zeek's last_reassem_seq) and the highest acknowledged one
  // already processed (trim_seq).
  uint64_t next_seq() const { return next_; }
  uint64_t trim_seq() const { return trim_; }
  bool has_buffered() const { return buf_ && !buf_->blocks.empty(); }

  // A segment's payload at relative sequence `seq`: `captured` are the bytes present, `len` the length
  // the headers give (longer when the snaplen cut it). `acked` is the highest relative sequence the peer
  // has acknowledged: bytes below it were delivered (or given up) long ago and are dropped, as Zeek's
  // DataSent does. `keep` = deliver and keep bytes (the connection wants payload); otherwise only ranges
  // are tracked. `peer_active` tells a one-byte keep-alive probe (not an inconsistency) from a rewrite.
  void segment(uint64_t seq, std::span<const uint8_t> captured, uint64_t len, uint64_t acked, bool keep,
               bool peer_active, const StreamLimits& limits, StreamSink& sink);

  // The peer acknowledged everything below `up_to`: anything still missing below it never arrives.
  // `report` = false applies Zeek's partial-connection quirk (an ACK of 1 or 2 is not a gap).
  void ack(uint64_t up_to, bool keep, bool report, StreamSink& sink);

  // The connection ends: deliver what waits beyond holes, reporting the holes (GapCause::End).
  void finish(bool keep, StreamSink& sink);

  // Heap bytes held by this stream (buffers, blocks, kept bytes); 0 in the common in-order case.
  size_t footprint() const { return buf_ ? buffers_footprint() : 0; }

  void reset();

 private:
  struct Block {
    uint64_t seq = 0;
    uint64_t len = 0;
    bool missing = false;               // known never-captured bytes (a truncated segment's tail)
    std::unique_ptr<uint8_t[]> data;    // null for ranges tracked without bytes
    uint64_t end() const { return seq + len; }
  };
  struct Buffers {
    std::vector<Block> blocks;          // sorted, disjoint, all at or beyond next_
    uint64_t buffered = 0;              // sum of block lengths
    uint64_t data_bytes = 0;            // bytes held in blocks
    std::vector<uint8_t> kept;          // delivered bytes [kept_base, next_)
    uint64_t kept_base = 1;
    uint64_t keep_limit = 16384;
  };
  static constexpr size_t kMaxBlocks = 1024;

  Buffers& buffers();
  size_t buffers_footprint() const;
  void check_overlap(uint64_t seq, std::span<const uint8_t> data, bool peer_active, StreamSink& sink) const;
  void insert(uint64_t seq, uint64_t len, const uint8_t* data, bool missing, bool keep, StreamSink& sink);
  void emit(uint64_t len, const uint8_t* data, bool missing, bool keep, StreamSink& sink);
  void pump(bool keep, StreamSink& sink);
  void skip_to(uint64_t seq, GapCause why, bool keep, StreamSink& sink);
  void keep_bytes(const uint8_t* data, uint64_t len, bool keep);
  void drop_kept_below(uint64_t seq);
  void release_if_empty();

  uint64_t next_ = 1;
  uint64_t trim_ = 1;
  std::unique_ptr<Buffers> buf_;
};

}  // namespace ots::flow
