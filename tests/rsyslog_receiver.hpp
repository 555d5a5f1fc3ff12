// A private rsyslogd for the syslog tests: its own configuration in a scratch directory, inputs on free
// loopback ports (imudp, imtcp, imtcp with the gtls driver), each input writing the raw messages it
// receives (%rawmsg%, one per line) to its own file. Started and stopped by pid; it also dies with the test
// process (PR_SET_PDEATHSIG), so no test leaves one running, whatever happens to the test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_support.hpp"

namespace ots::test {

inline constexpr const char* kRsyslogd = "/usr/sbin/rsyslogd";
inline constexpr const char* kCerttool = "/usr/bin/certtool";

// Exits the test process with 77 (CTest: skipped) and says why when rsyslog, its TLS driver or certtool
// is missing.
inline void require_rsyslog() {
  auto missing = [](const char* what, const char* hint) {
    std::fprintf(stderr, "SKIPPED: %s not found; install %s (tools/setup.sh does)\n", what, hint);
    std::exit(77);
  };
  if (::access(kRsyslogd, X_OK) != 0) missing(kRsyslogd, "rsyslog");
  bool gtls = false;
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog"})
    gtls |= std::filesystem::exists(std::string(dir) + "/lmnsd_gtls.so");
  if (!gtls) missing("rsyslog's GnuTLS driver (lmnsd_gtls.so)", "rsyslog-gnutls");
  if (::access(kCerttool, X_OK) != 0) missing(kCerttool, "gnutls-bin");
}

// A loopback port nobody listens on now (TCP and UDP).
inline int free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    const int port = ntohs(a.sin_port);
    const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    const bool udp_free = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(u);
    if (udp_free) return port;
  }
  return 0;
}

// A loopback TCP port held bound but not listening for the object's lifetime: connections to it are
// refused (RST), and no other test process can be given it meanwhile, as it could a port that
// free_port() returned and released.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot bind a loopback TCP port");
    port_ = ntohs(a.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A CA, a server certificate it signed (for localhost and 127.0.0.1, or only for the DNS name
// `server_name` when one is given) and a client certificate, made with certtool into `dir`: ca.pem,
// server.pem/server.key, client.pem/client.key.
inline void make_certificates(const std::filesystem::path& dir, const std::string& ca_name = "ca",
                              const std::string& server_name = "") {
  auto sh = [&](const std::string& cmd) {
    const auto r = run("cd '" + dir.string() + "' && " + cmd);
    if (r.exit_code != 0) throw std::runtime_error("certtool failed: " + cmd + "\n" + r.output);
  };
  std::ofstream(dir / (ca_name + ".tmpl")) << "cn = \"otsensor test " << ca_name << "\"\nca\ncert_signing_key\n"
                                            << "expiration_days = 2\n";
  sh(std::string(kCerttool) + " --generate-privkey --key-type=ecdsa --outfile " + ca_name + ".key");
  sh(std::string(kCerttool) + " --generate-self-signed --load-privkey " + ca_name + ".key --template " + ca_name +
     ".tmpl --outfile " + ca_name + ".pem");
  if (ca_name != "ca") return;
  const std::string names = server_name.empty()
                                ? "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
                                : "cn = \"" + server_name + "\"\ndns_name = \"" + server_name + "\"\n";
  std::ofstream(dir / "server.tmpl") << names << "tls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n";
  std::ofstream(dir / "client.tmpl") << "cn = \"otsensor test client\"\ntls_www_client\nsigning_key\n"
                                        "expiration_days = 2\n";
  for (const char* who : {"server", "client"}) {
    const std::string w = who;
    sh(std::string(kCerttool) + " --generate-privkey --key-type=ecdsa --outfile " + w + ".key");
    sh(std::string(kCerttool) + " --generate-certificate --load-privkey " + w + ".key --load-ca-certificate ca.pem "
       "--load-ca-privkey ca.key --template " + w + ".tmpl --outfile " + w + ".pem");
  }
}

// Starts argv[0] with `argv` in the background, stdout and stderr to `log` (appended); the child dies with the
// test process (PR_SET_PDEATHSIG), whatever happens to the test.
inline pid_t spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

class RsyslogReceiver {
 public:
  enum class Kind { Udp, Tcp, Tls, TlsClientCert };
  struct Input {
    Kind kind;
    int port;
    std::filesystem::path file;  // received messages, one per line
  };

  // `dir` holds the configuration, its work directory, the received files and (for TLS) ca.pem,
  // server.pem and server.key.
  explicit RsyslogReceiver(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ / "work");
  }
  ~RsyslogReceiver() { stop(); }
  RsyslogReceiver(const RsyslogReceiver&) = delete;
  RsyslogReceiver& operator=(const RsyslogReceiver&) = delete;

  // On `port`, or on a free one when 0.
  const Input& add(Kind kind, const std::string& name, int port = 0) {
    inputs_.push_back({kind, port ? port : free_port(), dir_ / (name + ".log")});
    return inputs_.back();
  }

  // free_port() only found each port free: a test running beside this one may bind it first, and then
  // rsyslogd skips that input while a probe reaches the other test's listener. A first start takes new
  // ports and tries again; a restart keeps its ports (the sensor under test was configured with them).
  void start() {
    for (int attempt = 1;; ++attempt) {
      write_config();
      pid_ = spawn_process({kRsyslogd, "-n", "-f", (dir_ / "rsyslog.conf").string(), "-i",
                            (dir_ / "rsyslog.pid").string()},
                           dir_ / "rsyslogd.out");
      const Ready r = wait_ready();
      if (r == Ready::Yes) {
        started_ = true;
        return;
      }
      const std::string out = read_file(dir_ / "rsyslogd.out");
      stop();
      if (r == Ready::No || started_ || attempt == 5) {
        throw std::runtime_error(std::string(r == Ready::No ? "rsyslogd did not start listening: "
                                                            : "another process holds a port of rsyslogd's: ") +
                                 out);
      }
      for (Input& in : inputs_) in.port = free_port();
    }
  }

  // SIGTERM, then SIGKILL after 10 s; waits for the process either way.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }

  // The messages received on `in` (probe messages excluded).
  std::vector<std::string> received(const Input& in) const {
    std::vector<std::string> out;
    std::ifstream f(in.file);
    for (std::string line; std::getline(f, line);)
      if (line.find(" otsensor-test-probe ") == std::string::npos) out.push_back(line);
    return out;
  }

  // Waits until `in` has at least `n` messages (or the time is up); returns what it has.
  std::vector<std::string> wait_for(const Input& in, size_t n, std::chrono::seconds limit = std::chrono::seconds(60)) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto got = received(in);
      if (got.size() >= n || std::chrono::steady_clock::now() >= until) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  void write_config() {
    std::ofstream c(dir_ / "rsyslog.conf");
    const std::string d = dir_.string();
    c << "global(workDirectory=\"" << d << "/work\" maxMessageSize=\"64k\"\n"
      << "       parser.escapeControlCharactersOnReceive=\"off\"\n"
      << "       defaultNetstreamDriverCAFile=\"" << d << "/ca.pem\"\n"
      << "       defaultNetstreamDriverCertFile=\"" << d << "/server.pem\"\n"
      << "       defaultNetstreamDriverKeyFile=\"" << d << "/server.key\")\n"
      << "module(load=\"imudp\")\nmodule(load=\"imtcp\" maxSessions=\"200\")\n"
      << "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n";
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const Input& in = inputs_[i];
      c << "ruleset(name=\"r" << i << "\") { action(type=\"omfile\" file=\"" << in.file.string()
        << "\" template=\"raw\") }\n";
      switch (in.kind) {
        case Kind::Udp: c << "input(type=\"imudp\""; break;
        case Kind::Tcp: c << "input(type=\"imtcp\""; break;
        case Kind::Tls:
          c << "input(type=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\"";
          break;
        case Kind::TlsClientCert:
          c << "input(type=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" "
               "streamDriver.authMode=\"x509/certvalid\"";
          break;
      }
      c << " address=\"127.0.0.1\" port=\"" << in.port << "\" ruleset=\"r" << i << "\")\n";
    }
  }

  enum class Ready { Yes, No, PortTaken };

  // TCP inputs accept connections on a socket of rsyslogd's own; a UDP input has written a probe message
  // to its file.
  Ready wait_ready() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (const Input& in : inputs_) {
      for (int n = 0;; ++n) {
        if (std::chrono::steady_clock::now() >= until || ::waitpid(pid_, nullptr, WNOHANG) == pid_) return Ready::No;
        if (in.kind == Kind::Udp) {
          if (probe_udp(in, n)) break;
        } else if (probe_tcp(in.port)) {
          if (listens(pid_, in.port)) break;
          return Ready::PortTaken;  // a listener that is not rsyslogd's: it cannot bind the port meanwhile
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return Ready::Yes;
  }

  // The inode of the socket listening on 127.0.0.1:`port` (/proc/net/tcp), 0 for none.
  static unsigned long listener_inode(int port) {
    std::ifstream f("/proc/net/tcp");
    std::string line;
    std::getline(f, line);  // the column names
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::string sl, local, remote, state, skip;
      unsigned long inode = 0;
      in >> sl >> local >> remote >> state >> skip >> skip >> skip >> skip >> skip >> inode;
      const size_t colon = local.find(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) return inode;
    }
    return 0;
  }

  // Whether process `pid`, rsyslogd by now, holds the socket listening on `port`. Until the fork has
  // exec'd rsyslogd it holds the test's descriptors, so it is asked only then.
  static bool listens(pid_t pid, int port) {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::error_code ec;
    for (int i = 0; i < 400 && std::filesystem::read_symlink(proc + "/exe", ec).filename() != "rsyslogd"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const unsigned long inode = listener_inode(port);
    if (inode == 0) return false;
    const std::string want = "socket:[" + std::to_string(inode) + "]";
    for (const auto& e : std::filesystem::directory_iterator(proc + "/fd", ec)) {
      std::error_code lec;
      if (std::filesystem::read_symlink(e.path(), lec).string() == want) return true;
    }
    return false;
  }

  static bool probe_tcp(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
  }

  bool probe_udp(const Input& in, int n) const {
    if (std::filesystem::exists(in.file) && read_file(in.file).find("otsensor-test-probe") != std::string::npos)
      return true;
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(in.port));
    const std::string m = "<14>1 - - otsensor-test-probe - - - probe " + std::to_string(n);
    ::sendto(s, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(s);
    return false;
  }

  std::filesystem::path dir_;
  std::deque<Input> inputs_;  // add() hands out references
  pid_t pid_ = -1;
  bool started_ = false;  // once started, the ports are the sensor's too: a restart keeps them
};

}  // namespace ots::test
