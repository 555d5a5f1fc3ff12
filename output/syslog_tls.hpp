// GnuTLS, wrapped once: the client side of RFC 5425 (syslog over TLS) on a non-blocking socket. TLS 1.2
// or 1.3 only; the server's certificate is verified against the configured CA and must name the host
// (RFC 5425 section 5.2, RFC 6125); an optional client certificate for mutual authentication.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <sys/types.h>

namespace ots {

// Why the CA file, or the client certificate and key, cannot be used; empty when they can. `cert` and
// `key` are both empty (no client certificate) or both given.
std::string tls_files_problem(const std::string& ca, const std::string& cert, const std::string& key);

// The certificates of one destination, loaded once.
class TlsCredentials {
 public:
  // Throws std::runtime_error with tls_files_problem's text.
  TlsCredentials(const std::string& ca, const std::string& cert, const std::string& key);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

 private:
  friend class TlsSession;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One TLS connection over a connected, non-blocking TCP socket (which the caller owns and closes).
class TlsSession {
 public:
  enum class Io : uint8_t {
    Done,       // finished (or sent/received something)
    WantRead,   // poll for POLLIN and call again
    WantWrite,  // poll for POLLOUT and call again
    Closed,     // the peer closed the connection (close_notify or end of stream)
    Failed,     // error() says why, in one line
  };

  TlsSession(const TlsCredentials& creds, int fd, const std::string& host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  Io handshake();
  // Sends up to `n` bytes of `data` (one TLS record at most); `sent` is what was taken. After WantRead or
  // WantWrite the same bytes must be offered again (GnuTLS keeps the record it started).
  Io send(const char* data, size_t n, size_t& sent);
  // Reads and discards what the server sends (syslog servers send nothing but alerts and close_notify).
  Io drain_input();
  // Our close_notify (the write side only; RFC 5425 section 4.4).
  Io bye();

  // Bytes GnuTLS has written to the socket, records and handshake included: the TCP stream offset that
  // the kernel's unacknowledged byte count is measured against.
  uint64_t wire_bytes() const { return wire_bytes_; }
  const std::string& error() const { return error_; }

 private:
  Io result(int rc, const char* what);
  static ssize_t push(void* self, const void* data, size_t n);
  static ssize_t pull(void* self, void* data, size_t n);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  int fd_;
  uint64_t wire_bytes_ = 0;
  std::string error_;
};

}  // namespace ots
