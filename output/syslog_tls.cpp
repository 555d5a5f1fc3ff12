#include "output/syslog_tls.hpp"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "capture/net_types.hpp"

namespace ots {

namespace {

// TLS 1.2 and 1.3 only (RFC 9662 updates RFC 5425: nothing older).
constexpr const char* kPriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

std::string unreadable(const std::string& what, const std::string& path) {
  if (::access(path.c_str(), R_OK) == 0) return {};
  return fmt::format("{} '{}' cannot be read: {}", what, path, std::strerror(errno));
}

// Loads the files into `cred`; returns why not, or empty.
std::string load_files(gnutls_certificate_credentials_t cred, const std::string& ca, const std::string& cert,
                       const std::string& key) {
  if (std::string e = unreadable("ca_file", ca); !e.empty()) return e;
  const int n = gnutls_certificate_set_x509_trust_file(cred, ca.c_str(), GNUTLS_X509_FMT_PEM);
  if (n < 0) return fmt::format("ca_file '{}' is not a PEM certificate file: {}", ca, gnutls_strerror(n));
  if (n == 0) return fmt::format("ca_file '{}' holds no PEM certificate", ca);
  if (cert.empty()) return {};
  if (std::string e = unreadable("cert_file", cert); !e.empty()) return e;
  if (std::string e = unreadable("key_file", key); !e.empty()) return e;
  const int rc = gnutls_certificate_set_x509_key_file(cred, cert.c_str(), key.c_str(), GNUTLS_X509_FMT_PEM);
  if (rc < 0) return fmt::format("cert_file '{}' with key_file '{}' cannot be used: {}", cert, key, gnutls_strerror(rc));
  return {};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

}  // namespace

struct TlsCredentials::Impl {
  gnutls_certificate_credentials_t cred = nullptr;
};

std::string tls_files_problem(const std::string& ca, const std::string& cert, const std::string& key) {
  gnutls_certificate_credentials_t cred = nullptr;
  if (gnutls_certificate_allocate_credentials(&cred) < 0) return "cannot allocate TLS credentials";
  std::string why = load_files(cred, ca, cert, key);
  gnutls_certificate_free_credentials(cred);
  return why;
}

TlsCredentials::TlsCredentials(const std::string& ca, const std::string& cert, const std::string& key)
    : impl_(std::make_unique<Impl>()) {
  if (gnutls_certificate_allocate_credentials(&impl_->cred) < 0) throw std::runtime_error("cannot allocate TLS credentials");
  if (std::string why = load_files(impl_->cred, ca, cert, key); !why.empty()) {
    gnutls_certificate_free_credentials(impl_->cred);
    throw std::runtime_error(why);
  }
}

TlsCredentials::~TlsCredentials() {
  if (impl_ && impl_->cred) gnutls_certificate_free_credentials(impl_->cred);
}

struct TlsSession::Impl {
  gnutls_session_t session = nullptr;
};

TlsSession::TlsSession(const TlsCredentials& creds, int fd, const std::string& host)
    : impl_(std::make_unique<Impl>()), fd_(fd) {
  gnutls_session_t s = nullptr;
  if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) throw std::runtime_error("cannot create a TLS session");
  impl_->session = s;
  const char* bad = nullptr;
  if (gnutls_priority_set_direct(s, kPriorities, &bad) < 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds.impl_->cred) < 0) {
    gnutls_deinit(s);  // the destructor does not run for a constructor that throws
    throw std::runtime_error("cannot configure the TLS session");
  }
  // SNI carries DNS names only (RFC 6066 section 3); the certificate check covers IP addresses too.
  IpAddr ip;
  if (!IpAddr::parse(host, ip)) gnutls_server_name_set(s, GNUTLS_NAME_DNS, host.data(), host.size());
  gnutls_session_set_verify_cert(s, host.c_str(), 0);
  gnutls_transport_set_ptr(s, this);
  gnutls_transport_set_push_function(s, &TlsSession::push);
  gnutls_transport_set_pull_function(s, &TlsSession::pull);
}

TlsSession::~TlsSession() {
  if (impl_->session) gnutls_deinit(impl_->session);
}

ssize_t TlsSession::push(void* self, const void* data, size_t n) {
  auto* t = static_cast<TlsSession*>(self);
  const ssize_t w = ::send(t->fd_, data, n, MSG_NOSIGNAL);
  if (w < 0) {
    gnutls_transport_set_errno(t->impl_->session, errno);
    return -1;
  }
  t->wire_bytes_ += static_cast<uint64_t>(w);
  return w;
}

ssize_t TlsSession::pull(void* self, void* data, size_t n) {
  auto* t = static_cast<TlsSession*>(self);
  const ssize_t r = ::recv(t->fd_, data, n, 0);
  if (r < 0) gnutls_transport_set_errno(t->impl_->session, errno);
  return r;
}

TlsSession::Io TlsSession::result(int rc, const char* what) {
  if (rc >= 0) return Io::Done;
  if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
    return gnutls_record_get_direction(impl_->session) == 1 ? Io::WantWrite : Io::WantRead;
  if (rc == GNUTLS_E_PREMATURE_TERMINATION) {
    error_ = fmt::format("{}: the server closed the connection", what);
    return Io::Closed;
  }
  if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
    const unsigned status = gnutls_session_get_verify_cert_status(impl_->session);
    gnutls_datum_t text{};
    std::string why = "verification failed";
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
      why = trim(std::string(reinterpret_cast<const char*>(text.data), text.size));
      gnutls_free(text.data);
    }
    error_ = fmt::format("{}: the server's certificate is refused: {}", what, why);
    return Io::Failed;
  }
  error_ = fmt::format("{}: {}", what, gnutls_strerror(rc));
  if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
    error_ += fmt::format(" ({})", gnutls_alert_get_name(gnutls_alert_get(impl_->session)));
  return Io::Failed;
}

TlsSession::Io TlsSession::handshake() { return result(gnutls_handshake(impl_->session), "TLS handshake failed"); }

TlsSession::Io TlsSession::send(const char* data, size_t n, size_t& sent) {
  sent = 0;
  const ssize_t rc = gnutls_record_send(impl_->session, data, n);
  if (rc > 0) {
    sent = static_cast<size_t>(rc);
    return Io::Done;
  }
  return result(static_cast<int>(rc), "TLS send failed");
}

TlsSession::Io TlsSession::drain_input() {
  char buf[4096];
  for (;;) {
    const ssize_t rc = gnutls_record_recv(impl_->session, buf, sizeof buf);
    if (rc > 0) continue;
    if (rc == 0) return Io::Closed;
    const Io io = result(static_cast<int>(rc), "TLS receive failed");
    return io == Io::WantWrite ? Io::WantRead : io;
  }
}

TlsSession::Io TlsSession::bye() { return result(gnutls_bye(impl_->session, GNUTLS_SHUT_WR), "TLS close failed"); }

}  // namespace ots
