// One syslog destination's sender: a bounded queue that the notice stage fills without blocking, and a
// thread that sends what it takes from it. UDP (RFC 5426) sends each message as one datagram, best
// effort. TCP (RFC 6587 octet counting) and TLS (RFC 5425) write every message to the destination's spool
// first, send from the spool in order over a non-blocking socket, and remove a message from the spool
// once it is delivered (see deliveries in docs/LOGS.md: at least once); they reconnect with exponential
// backoff, and while the destination is unreachable the spool keeps what comes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "output/syslog_config.hpp"

namespace ots {

struct SyslogCounters {
  uint64_t sent = 0;        // delivered (tcp/tls: acknowledged by the receiver; udp: handed to the kernel)
  uint64_t spooled = 0;     // arrived while the destination was unreachable, so waited in the spool
  uint64_t dropped = 0;     // lost: queue full, spool full (oldest first), udp errors
  uint64_t dropped_spool_full = 0;  // of dropped: the oldest messages of a full spool
  uint64_t reconnects = 0;  // connections made again after one was lost or refused
  uint64_t resent = 0;      // sent again after a connection was lost (receivers may see these twice)
  uint64_t pending = 0;     // in the spool, not yet delivered (after close: left for the next run)
  uint64_t recovered = 0;   // undelivered messages of an earlier run found in the spool at start
};

// Timing of the sender; the defaults are the sensor's, tests shorten them.
struct SyslogTiming {
  std::chrono::milliseconds backoff_first{250}, backoff_max{30'000};
  std::chrono::milliseconds connect_timeout{5'000}, handshake_timeout{10'000};
  // A message the receiver's TCP acknowledged counts as delivered once the connection has stayed up this
  // long afterwards (a receiver that reads its socket has read it by then); at close, the receiver's
  // orderly close of the connection confirms everything at once.
  std::chrono::milliseconds settle{2'000};
  std::chrono::milliseconds sync_interval{100};  // fsync of the spool, batched
  size_t queue_messages = 100'000;
  size_t queue_bytes = 64u << 20;
};

class SyslogSender {
 public:
  // Opens the spool (tcp, tls) and loads the certificates (tls); throws std::runtime_error with a
  // one-line reason. The thread starts at once.
  SyslogSender(const SyslogDestination& d, SyslogTiming timing = {});
  ~SyslogSender();
  SyslogSender(const SyslogSender&) = delete;
  SyslogSender& operator=(const SyslogSender&) = delete;

  // Takes one message (no framing); never blocks. A full queue drops it (counted).
  void enqueue(std::string msg);
  // Waits (at most `limit`) until the thread has handled every message enqueued before the call: tcp and tls
  // have it in the spool (or dropped the oldest of a full one, counted), udp has sent it. Not its delivery:
  // the end of a run calls it so that the counters, and Syslog::Spool_Full, include the last notices.
  void drain(std::chrono::milliseconds limit);
  // Asks the thread to send what it can until `deadline` and stop (without waiting); then wait().
  void stop(std::chrono::steady_clock::time_point deadline);
  void wait();

  SyslogCounters counters() const;
  const SyslogDestination& destination() const { return dest_; }

 private:
  struct Impl;
  SyslogDestination dest_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace ots
