#include "capture/tcp_reassembly.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ots::flow {

uint32_t StreamStore::acquire_new() {
  if (used_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<StreamBuffers[]>(kChunk));
  return ++used_;
}

void StreamStore::release(uint32_t h) {
  // A fresh state for the next stream, its heap parts freed now (the kept bytes' capacity kept apart).
  StreamBuffers& b = at(h);
  b.waiting.reset();
  const size_t cap = b.kept.capacity();
  if (cap != 0 && cap <= kSpareCapacity) {
    give_spare(b.kept);
  } else if (cap != 0) {
    std::vector<uint8_t>().swap(b.kept);
  }
  b.kept_base = 1;
  b.keep_limit = StreamBuffers::kDefaultKeepLimit;
  free_.push_back(h);
}

namespace {

constexpr uint64_t kByteOnes = 0x0101010101010101ull;
constexpr uint64_t kByteHigh = 0x8080808080808080ull;
constexpr uint64_t kByteLow7 = 0x7f7f7f7f7f7f7f7full;

// The bytes of w but the i-th, those above it a byte down (two shifts: by 64 at once is undefined).
uint64_t without_byte(uint64_t w, unsigned i) {
  return (w & ((uint64_t{1} << (8 * i)) - 1)) | (w >> (8 * i) >> 8 << (8 * i));
}

}  // namespace

void StreamStore::give_spare(std::vector<uint8_t>& kept) {
  if (!spare_) spare_ = std::make_unique<std::vector<uint8_t>[]>(kSpares);
  if (spare_count_ == kSpares) {  // the oldest spare goes: sizes seen lately are the likely ones
    const auto oldest = static_cast<uint8_t>(spare_order_);
    spare_bytes_ -= static_cast<uint8_t>(spare_caps_);
    std::vector<uint8_t>().swap(spare_[oldest]);
    spare_order_ >>= 8;
    spare_caps_ >>= 8;
    --spare_count_;
    spare_free_ = static_cast<uint8_t>(spare_free_ | 1u << oldest);
  }
  const auto slot = static_cast<uint8_t>(std::countr_zero(spare_free_));
  spare_free_ = static_cast<uint8_t>(spare_free_ & ~(1u << slot));
  const size_t cap = kept.capacity();
  kept.clear();
  spare_[slot].swap(kept);  // the slot's vector has no capacity: kept is left without any
  spare_bytes_ += cap;
  spare_order_ |= uint64_t{slot} << (8 * spare_count_);
  spare_caps_ |= uint64_t{cap} << (8 * spare_count_);
  ++spare_count_;
}

void StreamStore::take_spare_fit(std::vector<uint8_t>& kept, size_t len) {
  // All eight capacities at once (1 <= len <= kSpareCapacity): a byte cap + 128 - len neither borrows
  // nor carries, and it is 1000xxxx exactly when len <= cap < len + kSpareSlack. Bytes past the spares
  // held are 0 (shifted in), 128 - len: no fit.
  static_assert(kSpareSlack == 16, "a fit is the high nibble 8 of cap + 128 - len");
  const uint64_t t = spare_caps_ + (128 - len) * kByteOnes;
  const uint64_t x = (t & 0xf0f0f0f0f0f0f0f0ull) ^ kByteHigh;  // a zero byte where the spare fits
  const uint64_t fits = ~(((x & kByteLow7) + kByteLow7) | x | kByteLow7);  // its high bit set there
  if (fits == 0) return;
  const auto i = static_cast<unsigned>(63 - std::countl_zero(fits)) / 8;  // the latest that fits
  const auto slot = static_cast<uint8_t>(spare_order_ >> (8 * i));
  spare_bytes_ -= static_cast<uint8_t>(spare_caps_ >> (8 * i));
  kept.swap(spare_[slot]);
  spare_order_ = without_byte(spare_order_, i);
  spare_caps_ = without_byte(spare_caps_, i);
  --spare_count_;
  spare_free_ = static_cast<uint8_t>(spare_free_ | 1u << slot);
}

void TcpStream::reset(StreamStore& store) {
  set_next(1);
  set_trim(1);
  if (buf_) {
    store.held_ -= footprint(store);
    store.release(buf_);
  }
  buf_ = 0;
}

StreamBuffers::Waiting& TcpStream::waiting(StreamBuffers& b) {
  if (!b.waiting) b.waiting = std::make_unique<StreamBuffers::Waiting>();
  return *b.waiting;
}

void TcpStream::segment_general(StreamStore& store, uint64_t seq, std::span<const uint8_t> captured, uint64_t len,
                                uint64_t acked, bool keep, bool peer_active, const StreamLimits& limits,
                                StreamSink& sink) {
  const size_t before = footprint(store);
  segment_body(store, seq, captured, len, acked, keep, peer_active, limits, sink);
  store.held_ = store.held_ + footprint(store) - before;
}

// Flattened, as ack_kept: every request and response of a polling connection comes through both, and
// with keep_bytes, the vector's insert, take_spare_fit, release and give_spare out of line the calls
// between them cost 4.4 M instructions on mb100k (88,000 kept segments; callgrind), for 3 KB of code.
[[gnu::flatten]] void TcpStream::segment_kept(StreamStore& store, uint64_t seq, std::span<const uint8_t> data,
                                              bool peer_active, uint32_t keep_limit, StreamSink& sink) {
  // segment_body's steps for this case: the buffers (and their keep limit), the retransmission check
  // against the kept bytes (nothing waits), the part not delivered yet straight from the packet, kept.
  // The kept bytes are then not empty, so release_if_empty would have nothing to release.
  //
  // The buffers are used by reference after the sink's calls (their chunk never moves): a lookup by
  // handle after those (virtual: the store is read again) cost two lookups of about 7 instructions a
  // segment (mb100k, callgrind). The sink cannot change this stream: next_seq() is read once too.
  const uint64_t next = next_seq();
  const size_t before = buf_ ? store.at(buf_).kept.capacity() : 0;
  StreamBuffers& b = buffers(store);
  b.keep_limit = keep_limit;
  if (kept_differs(b, seq, data, peer_active)) sink.inconsistent();
  if (seq < next) data = data.subspan(next - seq);  // the leading part was delivered already: first bytes win
  sink.deliver(data);
  keep_in(store, b, next, data.data(), data.size(), true);
  set_next(next + data.size());
  store.held_ = store.held_ + b.kept.capacity() - before;
}

void TcpStream::segment_body(StreamStore& store, uint64_t seq, std::span<const uint8_t> captured, uint64_t len,
                             uint64_t acked, bool keep, bool peer_active, const StreamLimits& limits,
                             StreamSink& sink) {
  if (captured.size() > len) captured = captured.first(len);  // link-layer padding is not payload
  auto cut = [&](uint64_t n) {
    seq += n;
    len -= n;
    captured = captured.subspan(std::min<uint64_t>(n, captured.size()));
  };
  if (len == 0) return;
  const uint64_t upper = seq + len;

  // TCP_Reassembler::DataSent: what the peer acknowledged was dealt with (delivered or given up) before.
  if (seq < acked) {
    if (upper <= acked) return;
    cut(acked - seq);
  }
  // Reassembler::NewBlock: old data.
  const uint64_t trim = trim_seq();
  if (upper <= trim) return;

  if (keep && limits.keep_unacked_bytes > 0) buffers(store).keep_limit = limits.keep_unacked_bytes;
  if (keep && buf_) check_overlap(store.at(buf_), seq, captured, peer_active, sink);

  if (seq < trim) cut(trim - seq);
  const uint64_t next = next_seq();
  if (seq < next) {  // the leading part was delivered already: first bytes win
    if (upper <= next) {
      release_if_empty(store);
      return;
    }
    cut(next - seq);
  }

  const uint64_t cap = captured.size();
  if (cap > 0) insert(store, seq, cap, keep ? captured.data() : nullptr, false, keep, sink);
  if (cap < len) {
    // The captured part may have filled a hole and let segments waiting beyond it through: the missing
    // tail then starts below next_seq(), where what was delivered wins. (Inserted as it was, it became a
    // block below next_seq() that pump() never reaches: the next ACK past it, or the end, looped forever.)
    const uint64_t tail = std::max(seq + cap, next_seq());
    if (tail < seq + len) insert(store, tail, seq + len - tail, nullptr, true, keep, sink);
  }

  // Too much waiting on a hole: Zeek gives up on the stream ("excessive_data_without_further_acks"); we
  // give up on the hole instead and go on with the data after it.
  for (StreamBuffers* b = buffers_if_any(store);
       b && b->has_blocks() &&
       (b->waiting->buffered > limits.max_ooo_bytes || b->waiting->blocks.size() > kMaxBlocks);
       b = buffers_if_any(store)) {
    skip_to(store, b->waiting->blocks.front().seq, GapCause::BufferLimit, keep, sink);
  }
  release_if_empty(store);
}

void TcpStream::insert(StreamStore& store, uint64_t seq, uint64_t len, const uint8_t* data, bool missing, bool keep,
                       StreamSink& sink) {
  const uint64_t end = seq + len;
  if (!has_buffered(store) && seq == next_seq()) {  // the common case: in order, straight from the packet
    emit(store, len, data, missing, keep, sink);
    return;
  }

  StreamBuffers::Waiting& b = waiting(buffers(store));
  size_t i = 0;
  while (i < b.blocks.size() && b.blocks[i].end() <= seq) ++i;
  uint64_t pos = seq;
  bool delivered = false;
  while (pos < end) {
    if (i < b.blocks.size() && b.blocks[i].seq <= pos) {  // covered already: first bytes win
      pos = std::max(pos, b.blocks[i].end());
      ++i;
      continue;
    }
    const uint64_t piece_end = i < b.blocks.size() ? std::min(end, b.blocks[i].seq) : end;
    const uint64_t piece_len = piece_end - pos;
    const uint8_t* piece = data ? data + (pos - seq) : nullptr;
    if (pos == next_seq()) {
      emit(store, piece_len, piece, missing, keep, sink);
      delivered = true;
    } else {
      Block blk;
      blk.seq = pos;
      blk.len = piece_len;
      blk.missing = missing;
      if (piece) {
        blk.data.reset(new uint8_t[piece_len]);
        std::memcpy(blk.data.get(), piece, piece_len);
        b.data_bytes += piece_len;
      }
      b.buffered += piece_len;
      b.blocks.insert(b.blocks.begin() + static_cast<std::ptrdiff_t>(i), std::move(blk));
      ++i;
    }
    pos = piece_end;
  }
  if (delivered) pump(store, keep, sink);
}

void TcpStream::emit(StreamStore& store, uint64_t len, const uint8_t* data, bool missing, bool keep,
                     StreamSink& sink) {
  if (missing) {
    sink.gap(len, GapCause::Truncated);
  } else if (data == nullptr) {
    if (keep) sink.gap(len, GapCause::NotKept);
  } else if (keep) {
    sink.deliver({data, static_cast<size_t>(len)});
  }
  keep_bytes(store, missing ? nullptr : data, len, keep);
  set_next(next_seq() + len);
}

void TcpStream::pump(StreamStore& store, bool keep, StreamSink& sink) {
  if (!buf_ || !store.at(buf_).waiting) return;
  StreamBuffers::Waiting& b = *store.at(buf_).waiting;
  size_t n = 0;
  while (n < b.blocks.size() && b.blocks[n].seq == next_seq()) {
    Block& blk = b.blocks[n];
    emit(store, blk.len, blk.data.get(), blk.missing, keep, sink);
    b.buffered -= blk.len;
    if (blk.data) b.data_bytes -= blk.len;
    ++n;
  }
  if (n > 0) b.blocks.erase(b.blocks.begin(), b.blocks.begin() + static_cast<std::ptrdiff_t>(n));
}

void TcpStream::skip_to(StreamStore& store, uint64_t seq, GapCause why, bool keep, StreamSink& sink) {
  const uint64_t next = next_seq();
  if (seq > next) {
    const uint64_t len = seq - next;
    sink.gap(len, why);
    keep_bytes(store, nullptr, len, keep);
    set_next(seq);
  }
  pump(store, keep, sink);
}

void TcpStream::keep_bytes(StreamStore& store, const uint8_t* data, uint64_t len, bool keep) {
  if (buf_) keep_in(store, store.at(buf_), next_seq(), data, len, keep);
}

void TcpStream::keep_in(StreamStore& store, StreamBuffers& b, uint64_t next, const uint8_t* data, uint64_t len,
                        bool keep) {
  // The kept bytes always end at next_seq(); anything not kept (a hole, unwanted payload) restarts them.
  if (!keep || data == nullptr || b.keep_limit == 0 || b.kept_base + b.kept.size() != next) {
    b.kept.clear();
    b.kept_base = next;
    if (!keep || data == nullptr || b.keep_limit == 0) {
      b.kept_base = next + len;
      return;
    }
  }
  if (len >= b.keep_limit) {
    b.kept.assign(data + (len - b.keep_limit), data + len);
    b.kept_base = next + len - b.keep_limit;
    return;
  }
  if (b.kept.capacity() == 0) store.take_spare(b.kept, len);
  const uint64_t total = b.kept.size() + len;
  if (total > b.keep_limit) {
    const uint64_t drop = total - b.keep_limit;
    b.kept.erase(b.kept.begin(), b.kept.begin() + static_cast<std::ptrdiff_t>(drop));
    b.kept_base += drop;
  }
  b.kept.insert(b.kept.end(), data, data + len);
}

void TcpStream::drop_kept_below(StreamStore& store, uint64_t seq) {
  if (!buf_) return;
  StreamBuffers& b = store.at(buf_);
  if (seq <= b.kept_base) return;
  const uint64_t drop = std::min<uint64_t>(seq - b.kept_base, b.kept.size());
  b.kept.erase(b.kept.begin(), b.kept.begin() + static_cast<std::ptrdiff_t>(drop));
  b.kept_base += drop;
}

namespace {

// TCP_Reassembler::Overlap: a difference counts unless it is a lone byte on a connection whose peer never
// sent anything (a keep-alive probe carrying one garbage byte). `data` starts at `seq`; the n bytes in
// common start at `at`.
bool overlap_differs(const uint8_t* old_bytes, uint64_t at, uint64_t n, uint64_t seq, std::span<const uint8_t> data,
                     bool peer_active) {
  // No bytes in common (an empty kept range: its data() may be null, which memcmp must not get).
  if (n == 0) return false;
  return std::memcmp(old_bytes, data.data() + (at - seq), n) != 0 && (n > 1 || peer_active);
}

}  // namespace

bool TcpStream::kept_overlap_differs(const StreamBuffers& b, uint64_t seq, std::span<const uint8_t> data,
                                     bool peer_active) {
  const uint64_t end = seq + data.size();
  const uint64_t kept_end = b.kept_base + b.kept.size();
  const uint64_t lo = std::max(seq, b.kept_base), hi = std::min(end, kept_end);
  return overlap_differs(b.kept.data() + (lo - b.kept_base), lo, hi - lo, seq, data, peer_active);
}

void TcpStream::check_overlap(const StreamBuffers& b, uint64_t seq, std::span<const uint8_t> data,
                              bool peer_active, StreamSink& sink) const {
  if (kept_differs(b, seq, data, peer_active)) {
    sink.inconsistent();
    return;
  }
  if (!b.waiting) return;
  const uint64_t end = seq + data.size();
  for (const Block& blk : b.waiting->blocks) {
    if (blk.seq >= end) break;
    if (blk.end() <= seq || !blk.data) continue;
    const uint64_t lo = std::max(seq, blk.seq), hi = std::min(end, blk.end());
    if (overlap_differs(blk.data.get() + (lo - blk.seq), lo, hi - lo, seq, data, peer_active)) {
      sink.inconsistent();
      return;
    }
  }
}

void TcpStream::ack_general(StreamStore& store, uint64_t up_to, bool keep, bool report, StreamSink& sink) {
  const size_t before = footprint(store);
  ack_body(store, up_to, keep, report, sink);
  store.held_ = store.held_ + footprint(store) - before;
}

[[gnu::flatten]] void TcpStream::ack_kept(StreamStore& store, uint64_t up_to) {
  // ack_body's steps for this case: trim, drop the kept bytes below the ACK, release the buffers if
  // nothing is left (nothing waits).
  set_trim(up_to);
  StreamBuffers& b = store.at(buf_);
  if (up_to > b.kept_base) {
    const uint64_t drop = std::min<uint64_t>(up_to - b.kept_base, b.kept.size());
    if (drop < b.kept.size()) {
      b.kept.erase(b.kept.begin(), b.kept.begin() + static_cast<std::ptrdiff_t>(drop));
      b.kept_base += drop;
      return;
    }
  } else if (!b.kept.empty()) {
    return;
  }
  store.held_ -= b.kept.capacity();
  store.release(buf_);
  buf_ = 0;
}

void TcpStream::ack_body(StreamStore& store, uint64_t up_to, bool keep, bool report, StreamSink& sink) {
  if (up_to <= trim_seq()) return;
  set_trim(up_to);
  drop_kept_below(store, up_to);
  if (up_to <= next_seq() || !report) {
    release_if_empty(store);
    return;
  }
  // TCP_Reassembler::Undelivered: blocks below the ACK are delivered after the holes before them.
  for (StreamBuffers* b = buffers_if_any(store); b && b->has_blocks() && b->waiting->blocks.front().seq < up_to;
       b = buffers_if_any(store)) {
    skip_to(store, b->waiting->blocks.front().seq, GapCause::Acked, keep, sink);
  }
  if (up_to > next_seq()) skip_to(store, up_to, GapCause::Acked, keep, sink);
  release_if_empty(store);
}

void TcpStream::release_if_empty(StreamStore& store) {
  // Nothing buffered and nothing kept: the buffers are in the state a fresh allocation starts in (kept
  // bytes restart at next_seq()), so freeing them changes nothing but memory. Without this, every
  // connection that once saw one out-of-order segment, or delivered payload, kept its buffers (and their
  // capacity) for life: 145 of the 578 bytes per flow at the perf capture's peak.
  if (!buf_) return;
  StreamBuffers& b = store.at(buf_);
  if (b.waiting && b.waiting->blocks.empty()) b.waiting.reset();  // nothing waits: the part goes first
  if (!b.waiting && b.kept.empty()) {
    store.release(buf_);
    buf_ = 0;
  }
}

void TcpStream::finish(StreamStore& store, bool keep, StreamSink& sink) {
  const size_t before = footprint(store);
  finish_body(store, keep, sink);
  store.held_ -= before;  // no buffers left
}

void TcpStream::finish_body(StreamStore& store, bool keep, StreamSink& sink) {
  for (StreamBuffers* b = buffers_if_any(store); b && b->has_blocks(); b = buffers_if_any(store)) {
    skip_to(store, b->waiting->blocks.front().seq, GapCause::End, keep, sink);
  }
  if (buf_) store.release(buf_);
  buf_ = 0;
}

}  // namespace ots::flow
