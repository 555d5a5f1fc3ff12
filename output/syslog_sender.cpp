#include "output/syslog_sender.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>

#include <fmt/format.h>

#include "output/syslog_message.hpp"
#include "output/syslog_spool.hpp"
#include "output/syslog_tls.hpp"

namespace ots {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxUdpPayload = 65507;  // IPv4: 65535 - 20 (IP) - 8 (UDP)
constexpr size_t kOutBatch = 256u << 10;   // framed bytes taken from the spool at a time
constexpr size_t kTlsRecord = 16u << 10;   // one TLS record's plaintext at most

int millis_until(Clock::time_point now, Clock::time_point t) {
  if (t <= now) return 0;
  return static_cast<int>(std::min<int64_t>(std::chrono::ceil<milliseconds>(t - now).count(), 1000));
}

// A warning from the sender's thread: one line on stderr, as the sensor's other warnings.
void warn(const std::string& line) { std::fprintf(stderr, "otsensor: %s\n", line.c_str()); }

}  // namespace

struct SyslogSender::Impl {
  enum class State : uint8_t { Down, Connecting, Handshake, Up, Closing };
  struct Inflight {
    SpoolPos after;
    uint64_t plain_end = 0;        // stream offset of the message's end (before TLS)
    uint64_t wire_end = 0;         // TCP stream offset once written
    Clock::time_point acked_at{};  // when the receiver's TCP acknowledged it
  };

  const SyslogDestination& d;
  SyslogTiming timing;
  std::string label;  // "syslog output 'soc' (tls 127.0.0.1:6514)"
  int wake_fd = -1;

  // The queue (the notice stage's thread and this one).
  std::mutex mu;
  std::vector<std::string> queue;
  size_t queue_bytes = 0;
  bool stopping = false;
  // drain(): messages accepted by enqueue(), and handled by this thread (spooled or sent); `exited` once
  // the thread handles no more.
  uint64_t accepted = 0, handled = 0;
  bool exited = false;
  std::condition_variable handled_cv;
  Clock::time_point deadline{};

  // Counters, read by counters() from other threads.
  std::atomic<uint64_t> sent{0}, spooled{0}, dropped{0}, dropped_spool{0}, reconnects{0}, resent{0}, pending{0},
      recovered{0};

  // Sender thread only.
  std::unique_ptr<SyslogSpool> spool;
  std::unique_ptr<TlsCredentials> creds;
  std::unique_ptr<TlsSession> tls;
  State state = State::Down;
  int fd = -1;
  Clock::time_point retry_at{}, op_deadline{}, next_sync{}, next_ack_save{};
  milliseconds backoff{0};
  bool ever_up = false, close_attempted = false, close_done = false, want_write = false;
  bool unreachable = false;  // a connection failed or was lost, and none is up again yet
  std::string reported;  // the last problem printed
  std::string out;       // framed messages taken from the spool
  size_t out_off = 0;
  uint64_t plain_written = 0;  // bytes of `out` written on this connection, before TLS
  std::deque<Inflight> inflight;
  size_t marked = 0, acked = 0;  // inflight entries with wire_end known / with acked_at set
  uint64_t addr_turn = 0;

  explicit Impl(const SyslogDestination& dest, SyslogTiming t) : d(dest), timing(t) {
    label = fmt::format("syslog output '{}' ({} {}:{})", d.name, transport_text(d.transport), d.host, d.port);
    if (d.transport != SyslogTransport::Udp) {
      spool = std::make_unique<SyslogSpool>(d.spool_dir, d.spool_max_bytes);
      recovered = spool->recovered();
      pending = spool->pending();
    }
    if (d.transport == SyslogTransport::Tls) creds = std::make_unique<TlsCredentials>(d.ca_file, d.cert_file, d.key_file);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) throw std::runtime_error(fmt::format("eventfd: {}", std::strerror(errno)));
    backoff = timing.backoff_first;
  }

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t w = ::write(wake_fd, &one, sizeof one);
  }

  // One line per new problem: a destination that stays down is not reported again at every retry.
  void report(const std::string& problem) {
    if (problem == reported) return;
    reported = problem;
    const char* fate = d.transport == SyslogTransport::Udp
                           ? "messages are dropped (udp is best effort)"
                           : "messages wait in the spool";
    warn(fmt::format("warning: {}: {}; {}", label, problem, fate));
  }

  // After a batch from take_queue() is spooled or sent.
  void mark_handled(size_t n) {
    {
      std::lock_guard<std::mutex> lock(mu);
      handled += n;
    }
    handled_cv.notify_all();
  }

  bool take_queue(std::vector<std::string>& batch, bool& stop, Clock::time_point& until) {
    std::lock_guard<std::mutex> lock(mu);
    batch.swap(queue);
    queue.clear();
    queue_bytes = 0;
    stop = stopping;
    until = deadline;
    return !batch.empty();
  }

  // ---- TCP and TLS ----

  void disconnect(std::string problem) {  // by value: it often comes from the session it ends
    if (tls) tls.reset();
    if (fd >= 0) ::close(fd);
    fd = -1;
    state = State::Down;
    resent += inflight.size();
    inflight.clear();
    marked = acked = 0;
    out.clear();
    out_off = 0;
    plain_written = 0;
    want_write = false;
    spool->rewind();
    if (!problem.empty()) {
      unreachable = true;
      report(problem);
    }
    retry_at = Clock::now() + backoff;
    backoff = std::min(backoff * 2, timing.backoff_max);
  }

  struct Address {
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = 0;
  };

  // The destination's address. A DNS name is resolved at every call (the SIEM may move), which blocks for
  // the resolver's timeout at most, on this thread only; several addresses take turns.
  bool resolve(int socktype, Address& found, std::string& why) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    addrinfo* res = nullptr;
    if (const int rc = ::getaddrinfo(d.host.c_str(), std::to_string(d.port).c_str(), &hints, &res); rc != 0) {
      why = fmt::format("cannot resolve {}: {}", d.host, gai_strerror(rc));
      return false;
    }
    size_t n = 0;
    for (const addrinfo* a = res; a; a = a->ai_next) ++n;
    const addrinfo* a = res;
    for (size_t skip = addr_turn++ % n; skip > 0; --skip) a = a->ai_next;
    std::memcpy(&found.addr, a->ai_addr, a->ai_addrlen);
    found.len = a->ai_addrlen;
    found.family = a->ai_family;
    freeaddrinfo(res);
    return true;
  }

  // A non-blocking socket of `type` for the destination's address, or -1 and why.
  int open_socket(int type, Address& a, std::string& why) {
    if (!resolve(type, a, why)) return -1;
    const int s = ::socket(a.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) why = fmt::format("socket: {}", std::strerror(errno));
    return s;
  }

  void connect_start(Clock::time_point now) {
    Address a;
    std::string why;
    fd = open_socket(SOCK_STREAM, a, why);
    if (fd < 0) {
      disconnect(why);
      return;
    }
    // A receiver that stops acknowledging (a dead host, a silent firewall) fails the connection in 30 s
    // instead of the kernel's 15 minutes of retransmission; keep-alive finds an idle dead connection.
    const int on = 1, idle = 30, intvl = 10, cnt = 3;
    const unsigned user_timeout = 30'000;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len);
    const int err = errno;
    if (rc != 0 && err != EINPROGRESS) {
      disconnect(fmt::format("cannot connect: {}", std::strerror(err)));
      return;
    }
    state = State::Connecting;
    op_deadline = now + timing.connect_timeout;
    if (rc == 0) connected(now);
  }

  void connected(Clock::time_point now) {
    if (d.transport == SyslogTransport::Tls) {
      try {
        tls = std::make_unique<TlsSession>(*creds, fd, d.host);
      } catch (const std::exception& e) {
        disconnect(e.what());
        return;
      }
      state = State::Handshake;
      op_deadline = now + timing.handshake_timeout;
      step_handshake();
      return;
    }
    up();
  }

  void step_handshake() {
    switch (tls->handshake()) {
      case TlsSession::Io::Done: up(); break;
      case TlsSession::Io::WantRead: want_write = false; break;
      case TlsSession::Io::WantWrite: want_write = true; break;
      case TlsSession::Io::Closed:
      case TlsSession::Io::Failed: disconnect(tls->error()); break;
    }
  }

  void up() {
    state = State::Up;
    unreachable = false;
    want_write = false;
    if (ever_up) ++reconnects;
    ever_up = true;
    backoff = timing.backoff_first;
    if (!reported.empty()) {
      warn(fmt::format("{}: connected again; sending the {} messages in the spool", label, spool->pending()));
      reported.clear();
    }
  }

  uint64_t wire_now() const { return tls ? tls->wire_bytes() : plain_written; }

  // Takes messages from the spool into `out`, framed (RFC 6587 octet counting, as RFC 5425 frames them).
  void refill() {
    if (out_off < out.size()) return;
    out.clear();
    out_off = 0;
    std::string msg;
    SpoolPos after;
    while (out.size() < kOutBatch && spool->next(msg, after)) {
      append_octet_counted(out, msg);
      inflight.push_back(Inflight{after, plain_written + out.size(), 0, {}});
    }
  }

  void mark_written() {
    const uint64_t w = wire_now();
    while (marked < inflight.size() && inflight[marked].plain_end <= plain_written) inflight[marked++].wire_end = w;
  }

  // Writes what it can; false when the connection failed.
  bool write_some() {
    for (;;) {
      refill();
      if (out_off == out.size()) return true;
      const char* p = out.data() + out_off;
      size_t n = out.size() - out_off;
      if (tls) {
        size_t sent_now = 0;
        const TlsSession::Io io = tls->send(p, std::min(n, kTlsRecord), sent_now);
        if (io == TlsSession::Io::WantWrite || io == TlsSession::Io::WantRead) {
          want_write = io == TlsSession::Io::WantWrite;
          return true;
        }
        if (io != TlsSession::Io::Done) {
          disconnect(tls->error());
          return false;
        }
        n = sent_now;
      } else {
        const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          want_write = true;
          return true;
        }
        if (w < 0) {
          disconnect(fmt::format("send failed: {}", std::strerror(errno)));
          return false;
        }
        n = static_cast<size_t>(w);
      }
      want_write = false;
      out_off += n;
      plain_written += n;
      mark_written();
    }
  }

  // Messages the receiver's TCP acknowledged, and those that have been acknowledged long enough.
  void settle(Clock::time_point now) {
    if (inflight.empty() || fd < 0) return;
    int unacked = 0;
    if (::ioctl(fd, SIOCOUTQ, &unacked) != 0) return;
    const uint64_t w = wire_now();
    const uint64_t acked_wire = w - std::min<uint64_t>(w, static_cast<uint64_t>(unacked));
    while (acked < marked && inflight[acked].wire_end <= acked_wire) inflight[acked++].acked_at = now;
    while (acked > 0 && now - inflight.front().acked_at >= timing.settle) deliver_front();
  }

  void deliver_front() {
    spool->ack(inflight.front().after);
    inflight.pop_front();
    --marked;
    --acked;
    ++sent;
  }

  // The receiver closed the connection after our close (its reply to our FIN or close_notify): it has read
  // everything we sent.
  void deliver_all() {
    marked = acked = inflight.size();
    while (!inflight.empty()) deliver_front();
  }

  // Reads what the server sends: nothing but the end of the connection, or TLS alerts.
  void read_input() {
    if (tls) {
      const TlsSession::Io io = tls->drain_input();
      if (io == TlsSession::Io::Closed) {
        if (state == State::Closing) {
          deliver_all();
          disconnect("");
          close_done = true;
        } else {
          disconnect("the server closed the connection");
        }
      } else if (io == TlsSession::Io::Failed) {
        disconnect(tls->error());
      }
      return;
    }
    char buf[4096];
    for (;;) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) continue;
      if (r == 0) {
        if (state == State::Closing) {
          deliver_all();
          disconnect("");
          close_done = true;
        } else {
          disconnect("the server closed the connection");
        }
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      disconnect(fmt::format("connection lost: {}", std::strerror(errno)));
      return;
    }
  }

  // Everything in the spool written and acknowledged by TCP: end our side (RFC 5425 section 4.4), then
  // wait for the receiver to close its side.
  void begin_close() {
    if (tls) {
      const TlsSession::Io io = tls->bye();
      if (io == TlsSession::Io::Failed) {
        disconnect(tls->error());
        return;
      }
      want_write = io == TlsSession::Io::WantWrite;
    } else {
      ::shutdown(fd, SHUT_WR);
    }
    state = State::Closing;
  }

  void run_stream() {
    std::vector<std::string> batch;
    next_sync = Clock::now();
    next_ack_save = Clock::now();
    for (;;) {
      bool stop = false;
      Clock::time_point until{};
      take_queue(batch, stop, until);
      for (std::string& m : batch) {
        if (unreachable) ++spooled;
        const uint64_t lost = spool->append(m);
        dropped += lost;
        dropped_spool += lost;
        if (lost && reported.find("spool is full") == std::string::npos)
          report(fmt::format("the spool is full ({} MB): the oldest messages are dropped", d.spool_max_bytes >> 20));
      }
      mark_handled(batch.size());
      batch.clear();
      Clock::time_point now = Clock::now();
      if (stop && (now >= until || close_done)) break;

      if (state == State::Down) {
        // At close, one attempt at once whatever the backoff; after that the run is over for this one.
        if (stop && (close_attempted || spool->pending() == 0)) break;
        if (now >= retry_at || (stop && !close_attempted)) {
          if (stop) close_attempted = true;
          connect_start(now);
        }
      }
      if ((state == State::Connecting || state == State::Handshake) && now >= op_deadline)
        disconnect(state == State::Connecting ? "connection timed out" : "TLS handshake timed out");
      if (state == State::Up) {
        write_some();
        if (state == State::Up) settle(now);
        if (state == State::Up && stop && out_off == out.size() && spool->pending() == inflight.size()) {
          // All written; once TCP has them all, close our side and let the receiver confirm.
          int unacked = 0;
          if (::ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked == 0) begin_close();
        }
      }
      if (now >= next_sync) {
        spool->sync();
        next_sync = now + timing.sync_interval;
      }
      if (now >= next_ack_save) {
        spool->save_ack();
        next_ack_save = now + milliseconds(500);
      }
      if (!spool->io_error().empty()) report(spool->io_error());
      pending = spool->pending();

      // Wait for the queue, the socket or the next timer.
      pollfd fds[2] = {{wake_fd, POLLIN, 0}, {fd, 0, 0}};
      nfds_t nfds = 1;
      if (fd >= 0 && state != State::Down) {
        short ev = 0;
        if (state == State::Connecting) ev = POLLOUT;
        if (state == State::Handshake) ev = want_write ? POLLOUT : POLLIN;
        if (state == State::Up || state == State::Closing) ev = static_cast<short>(POLLIN | (want_write ? POLLOUT : 0));
        fds[1].events = ev;
        nfds = 2;
      }
      now = Clock::now();
      int timeout = 1000;
      if (state == State::Down) timeout = millis_until(now, retry_at);
      if (state == State::Connecting || state == State::Handshake) timeout = millis_until(now, op_deadline);
      if (!inflight.empty()) timeout = std::min(timeout, 50);  // TCP acknowledgements have no event
      timeout = std::min(timeout, millis_until(now, next_sync));
      if (stop) timeout = std::min(timeout, millis_until(now, until));
      if (stop && state == State::Down && close_attempted) timeout = 0;
      ::poll(fds, nfds, timeout);
      if (fds[0].revents & POLLIN) {
        uint64_t v;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd, &v, sizeof v);
      }
      if (nfds == 2 && fds[1].revents) on_socket(fds[1].revents);
    }
    // What is not delivered stays in the spool for the next run.
    inflight.clear();
    marked = acked = 0;
    if (fd >= 0) disconnect("");
    spool->sync();
    spool->save_ack();
    pending = spool->pending();
  }

  void on_socket(short revents) {
    const Clock::time_point now = Clock::now();
    if (state == State::Connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        disconnect(fmt::format("cannot connect: {}", std::strerror(err)));
        return;
      }
      connected(now);
      return;
    }
    if (state == State::Handshake) {
      step_handshake();
      return;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) read_input();
    if (fd >= 0 && state == State::Closing && want_write && tls) {
      const TlsSession::Io io = tls->bye();
      want_write = io == TlsSession::Io::WantWrite;
    }
  }

  // ---- UDP ----

  void run_udp() {
    std::vector<std::string> batch;
    Clock::time_point next_resolve{};
    for (;;) {
      bool stop = false;
      Clock::time_point until{};
      take_queue(batch, stop, until);
      Clock::time_point now = Clock::now();
      if (fd < 0 && now >= next_resolve) {
        udp_open();
        if (fd < 0) next_resolve = now + milliseconds(5'000);
      }
      for (const std::string& m : batch) udp_send(m, stop ? until : now + milliseconds(100));
      mark_handled(batch.size());
      batch.clear();
      if (stop) break;
      pollfd p{wake_fd, POLLIN, 0};
      ::poll(&p, 1, fd < 0 ? millis_until(now, next_resolve) : 1000);
      if (p.revents & POLLIN) {
        uint64_t v;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd, &v, sizeof v);
      }
    }
  }

  void udp_open() {
    Address a;
    std::string why;
    fd = open_socket(SOCK_DGRAM, a, why);
    if (fd < 0) {
      report(why);
      return;
    }
    // Connected, so that the kernel reports the receiver's ICMP port unreachable to us.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0) {
      report(fmt::format("cannot connect: {}", std::strerror(errno)));
      ::close(fd);
      fd = -1;
    }
  }

  void udp_send(const std::string& m, Clock::time_point give_up) {
    if (fd < 0 || m.size() > kMaxUdpPayload) {
      ++dropped;
      return;
    }
    for (int attempt = 0;; ++attempt) {
      if (::send(fd, m.data(), m.size(), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
        ++sent;
        reported.clear();
        return;
      }
      const int e = errno;
      if ((e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) && Clock::now() < give_up) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, std::max(1, millis_until(Clock::now(), give_up)));
        continue;
      }
      // ECONNREFUSED reports an earlier datagram's ICMP error: this one was not sent; try it once more.
      if (e == ECONNREFUSED && attempt == 0) continue;
      if (e != EINTR) {
        ++dropped;
        report(fmt::format("send failed: {}", std::strerror(e)));
        return;
      }
    }
  }
};

SyslogSender::SyslogSender(const SyslogDestination& d, SyslogTiming timing)
    : dest_(d), impl_(std::make_unique<Impl>(dest_, timing)) {
  thread_ = std::thread([this] {
    if (dest_.transport == SyslogTransport::Udp) {
      impl_->run_udp();
    } else {
      impl_->run_stream();
    }
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->exited = true;
    }
    impl_->handled_cv.notify_all();
  });
}

SyslogSender::~SyslogSender() {
  if (thread_.joinable()) {
    stop(Clock::now());
    wait();
  }
}

void SyslogSender::enqueue(std::string msg) {
  Impl& s = *impl_;
  bool was_empty = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.queue.size() >= s.timing.queue_messages || s.queue_bytes + msg.size() > s.timing.queue_bytes) {
      ++s.dropped;
      return;
    }
    was_empty = s.queue.empty();
    ++s.accepted;
    s.queue_bytes += msg.size();
    s.queue.push_back(std::move(msg));
  }
  if (was_empty) s.wake();
}

void SyslogSender::drain(std::chrono::milliseconds limit) {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  const uint64_t target = s.accepted;
  if (s.handled >= target || s.exited) return;
  lock.unlock();
  s.wake();
  lock.lock();
  s.handled_cv.wait_for(lock, limit, [&] { return s.handled >= target || s.exited; });
}

void SyslogSender::stop(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->deadline = deadline;
  }
  impl_->wake();
}

void SyslogSender::wait() {
  if (thread_.joinable()) thread_.join();
}

SyslogCounters SyslogSender::counters() const {
  const Impl& s = *impl_;
  SyslogCounters c;
  c.sent = s.sent;
  c.spooled = s.spooled;
  c.dropped = s.dropped;
  c.dropped_spool_full = s.dropped_spool;
  c.reconnects = s.reconnects;
  c.resent = s.resent;
  c.pending = s.pending;
  c.recovered = s.recovered;
  return c;
}

}  // namespace ots
