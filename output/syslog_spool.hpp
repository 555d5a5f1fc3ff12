// The on-disk spool of one tcp/tls syslog destination: an append-only log of segment files in its
// spool_dir, every message written to it before it is sent (write-ahead), sent from it in order, and
// removed once acknowledged.
//
//   NNNNNNNNNNNNNNNNNNNN.seg   records: u32 length (LE), u32 CRC-32C of the bytes (LE), the message bytes
//   acked                      "SEGMENT OFFSET": everything before it is delivered; replaced by rename
//   lock                       flock()ed while a sensor uses the directory
//
// Bounded by max_bytes: when an append does not fit, the oldest segment is deleted and its undelivered
// records are counted as dropped. A record that does not check out (a torn write at a crash, a damaged
// disk) ends its segment's readable part: the last segment is truncated there, the rest is skipped and
// counted, never a crash. Used by one thread (the destination's sender).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace ots {

struct SpoolPos {
  uint64_t segment = 0;
  uint64_t offset = 0;
  auto operator<=>(const SpoolPos&) const = default;
};

class SyslogSpool {
 public:
  // Opens (creating the directory) and scans the spool; throws std::runtime_error with a one-line
  // reason (cannot create, in use by another process, unreadable). segment_bytes 0: max_bytes / 16,
  // between 64 KiB and 64 MiB.
  SyslogSpool(const std::string& dir, uint64_t max_bytes, uint64_t segment_bytes = 0);
  ~SyslogSpool();
  SyslogSpool(const SyslogSpool&) = delete;
  SyslogSpool& operator=(const SyslogSpool&) = delete;

  // Appends one message (buffered until flush(), durable after sync()). Deletes the oldest segments when
  // it would not fit. Returns the number of undelivered messages that were dropped for it (the message
  // itself when it alone exceeds max_bytes).
  uint64_t append(std::string_view msg);
  void flush();  // write(2) what append buffered
  void sync();   // flush and fdatasync (and the directory when segments came or went)

  // The next message after the read cursor, and the position after it (for ack). False when none.
  bool next(std::string& msg, SpoolPos& after);
  // Back to the first unacknowledged message (after a connection was lost).
  void rewind() { read_ = ack_; }
  // Every message before `after` is delivered (positions come from next(), in order; stale ones are
  // ignored). Fully delivered segments are deleted.
  void ack(SpoolPos after);
  // Writes the acknowledged position to `acked` (temporary file, fsync, rename) if it changed.
  void save_ack();

  uint64_t pending() const;        // undelivered messages (acknowledged ones excluded)
  uint64_t bytes() const { return total_bytes_; }
  uint64_t corrupt() const { return corrupt_; }  // damaged records (or damaged segment tails) skipped
  uint64_t recovered() const { return recovered_; }  // undelivered messages found when the spool was opened
  const std::string& dir() const { return dir_; }
  // The last write or sync error ("spool ...: No space left on device"), empty when the last one worked.
  // Appended messages stay buffered (and counted in bytes()) until a write succeeds.
  const std::string& io_error() const { return io_error_; }

 private:
  struct Segment {
    uint64_t id = 0;
    uint64_t size = 0;     // readable bytes (written + buffered for the active one)
    uint64_t records = 0;
  };
  std::string seg_path(uint64_t id) const;
  void scan();
  void open_active(uint64_t id, bool fresh);
  void roll();
  void drop_oldest(uint64_t& dropped);
  void delete_front();
  void normalise_ack();
  Segment* find(uint64_t id);
  bool fill(uint64_t segment, uint64_t offset, size_t need);
  void set_error(const std::string& what);

  std::string dir_;
  uint64_t max_bytes_, segment_bytes_;
  int lock_fd_ = -1;
  int active_fd_ = -1;
  std::deque<Segment> segs_;  // oldest first; the back one is active (appended to)
  uint64_t total_bytes_ = 0;
  std::string wbuf_;          // appended, not yet written
  bool dir_dirty_ = false, data_dirty_ = false;
  SpoolPos ack_, read_, saved_ack_{~0ull, ~0ull};
  uint64_t acked_in_seg_ = 0;  // records of ack_.segment before ack_.offset
  // A window of one segment's bytes for next().
  std::string rbuf_;        // its first rbuf_len_ bytes are valid
  size_t rbuf_len_ = 0;
  uint64_t rbuf_seg_ = ~0ull, rbuf_off_ = 0;
  int read_fd_ = -1;
  uint64_t read_fd_seg_ = ~0ull;
  uint64_t corrupt_ = 0, recovered_ = 0;
  std::string io_error_;
};

}  // namespace ots
