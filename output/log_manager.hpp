// Writes every log of a run. Workers append through their own LogSink (no locks on the packet path, and
// records only packed there: the manager's log thread formats them); the manager merges what they handed
// over and writes it ordered by (ts, uid, line), so a run's logs are the same whatever the number of
// workers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "output/log_schema.hpp"

namespace ots {

using LogId = uint16_t;

class LogManager;

// Thread-confined: one per worker.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // Copies the record now (values are views); it is formatted later, off the caller's thread. ts_ns and
  // uid are the sort key; uid may be unset.
  virtual void write(LogId log, uint64_t ts_ns, const Uid& uid, std::span<const Value> values) = 0;
  // Hands what was written so far to the manager. Workers call it at burst boundaries when
  // wants_handoff() says the manager is about to flush, and at the end of their run.
  virtual void handoff() = 0;
  virtual bool wants_handoff() const = 0;
  // False for a log the run does not write (LogManager::Options::only): callers may skip building the
  // record. write() drops such records anyway.
  virtual bool enabled(LogId /*log*/) const { return true; }
};

class LogManager {
 public:
  struct Options {
    std::string dir;                  // created if missing
    bool json = false;                // JSON lines instead of TSV
    size_t spill_bytes = 256u << 20;  // buffered record bytes above which sorted runs spill to disk
    // When not empty, only the logs with these paths ("conn", "notice") are written; records of the
    // others are dropped in the sink, before they are formatted.
    std::vector<std::string> only = {};
  };

  // Throws std::runtime_error with a one-line reason when the directory cannot be created or written.
  explicit LogManager(Options opts);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // Registers a log before any sink writes to it. The schema must outlive the manager.
  LogId add(const LogSchema& schema);
  bool enabled(LogId log) const;

  std::unique_ptr<LogSink> make_sink();

  // Asks sinks to hand over at their next burst boundary (thread-safe).
  void request_handoff();

  // Waits until every record handed over so far is formatted (and spilled, when that was due). flush()
  // does this first; tests use it to look at spill files.
  void settle();

  // Writes everything handed over so far, merged in order, to the log files (opened, with their header,
  // on the first record; a log with no records gets no file, as in Zeek).
  void flush();

  // Reopens every file (logrotate's SIGHUP). Files get a fresh header.
  void reopen();

  // flush(), then writes #close and closes every file.
  void close();

  struct LogCount {
    std::string path;
    uint64_t records;
  };
  std::vector<LogCount> counts() const;  // per log, records written to disk so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ots
