// Formatted records in log order, and the temporary sorted run files that keep the log manager's memory
// bounded on long replays: records are spilled sorted and merged back when the logs are written.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "output/log_manager.hpp"

namespace ots {

// One formatted line (with its '\n') and its sort key. `line` points into storage owned elsewhere.
struct RecordRef {
  uint64_t ts_ns = 0;
  uint64_t uid_hi = 0;
  uint64_t seq = 0;  // the writing sink's record counter
  const char* line = nullptr;
  uint32_t uid_lo = 0;
  uint32_t len = 0;
  LogId log = 0;
};

// Log order: time, then uid (unset first, as Uid's operator<=>); records of one connection at one time in
// the order they were written (a CIP Multiple Service Packet's services in wire order): one worker writes
// every record of a connection, in the same order whatever the number of workers. Records without a
// uid (and any tie left) go by the line's bytes, so equal input gives equal files whichever worker
// wrote which record.
inline bool record_less(const RecordRef& a, const RecordRef& b) {
  if (a.ts_ns != b.ts_ns) return a.ts_ns < b.ts_ns;
  if (a.uid_hi != b.uid_hi) return a.uid_hi < b.uid_hi;
  if (a.uid_lo != b.uid_lo) return a.uid_lo < b.uid_lo;
  if ((a.uid_hi | a.uid_lo) != 0 && a.seq != b.seq) return a.seq < b.seq;
  const int c = std::memcmp(a.line, b.line, a.len < b.len ? a.len : b.len);
  if (c != 0) return c < 0;
  return a.len < b.len;
}

// Sorts one log's records by record_less. They come mostly in order (each sink's records as its worker
// wrote them): an ordered vector is left as it is, and otherwise 16-byte keys (time, index) are sorted,
// the records themselves looked at only for equal times, and moved once, instead of 48-byte records
// moved at every step of the sort.
void sort_records(std::vector<RecordRef>& v);

// A run file holds records of several logs, sorted by (log, record_less), so that a merge can take the
// logs one after the other from every run.
inline bool run_less(const RecordRef& a, const RecordRef& b) {
  if (a.log != b.log) return a.log < b.log;
  return record_less(a, b);
}

// Where each log's records start in a run file (records are added in run_less order): the final merge
// reads every log's part on its own, so that logs are merged and written in parallel.
using RunLogStarts = std::vector<std::pair<LogId, uint64_t>>;

// Writes one run. Used off the packet path (the log thread, a flush): reports failure by return value,
// never throws (but std::bad_alloc).
class RunWriter {
 public:
  RunWriter() = default;
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;
  ~RunWriter();
  bool open(const std::string& path);
  bool add(const RecordRef& r);
  bool finish();  // writes what is buffered and closes; false on any earlier or final error
  int error() const { return err_; }
  const RunLogStarts& log_starts() const { return starts_; }

 private:
  bool drain();
  int fd_ = -1;
  int err_ = 0;
  std::string buf_;
  uint64_t drained_ = 0;  // bytes written to the file before buf_
  RunLogStarts starts_;
};

// Reads one run back in order, from the record at byte `offset` (a RunLogStarts entry, or 0). Throws
// std::runtime_error on a read error or a truncated file.
class RunReader {
 public:
  explicit RunReader(const std::string& path, uint64_t offset = 0);
  RunReader(const RunReader&) = delete;
  RunReader& operator=(const RunReader&) = delete;
  ~RunReader();
  // Moves to the next record; false at the end. current().line stays valid until the next call.
  bool next();
  const RecordRef& current() const { return cur_; }

 private:
  bool read_exact(void* dst, size_t n);  // false at a clean end of file before the first byte
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  std::string line_;
  RecordRef cur_;
};

}  // namespace ots
