// Syslog to a real receiver (a private rsyslogd, no mock): every notice of a replay arrives intact over
// UDP, TCP and TLS in CEF, LEEF and JSON; nothing is lost when the receiver stops in the middle of a replay
// and comes back; a server certificate from another CA is refused in one line and the notices wait in the
// spool for the next run; a full spool drops the oldest and says so with a notice.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "output/syslog_sender.hpp"
#include "tests/rsyslog_receiver.hpp"
#include "tests/syslog_parse.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace ots::test;
using Kind = RsyslogReceiver::Kind;

namespace {

constexpr const char* kSensorId = "sensor-under-test";

struct Destination {
  Destination(std::string n, std::string t, std::string f, const RsyslogReceiver::Input* in, int p = 0)
      : name(std::move(n)), transport(std::move(t)), format(std::move(f)), input(in), port(p) {}
  std::string name, transport, format;
  const RsyslogReceiver::Input* input;  // where it goes (nullptr: `port`, where nobody need listen)
  int port;
  std::string ca_file, cert_file, key_file, facility = "local4";
  int spool_max_mb = 0;
};

std::string outputs_yaml(const fs::path& dir, const std::vector<Destination>& ds) {
  std::string y = "outputs:\n  syslog:\n";
  for (const Destination& d : ds) {
    y += "    - name: " + d.name + "\n      host: 127.0.0.1\n";
    y += "      port: " + std::to_string(d.input ? d.input->port : d.port) + "\n";
    y += "      transport: " + d.transport + "\n      format: " + d.format + "\n";
    y += "      facility: " + d.facility + "\n";
    if (!d.ca_file.empty()) y += "      ca_file: " + d.ca_file + "\n";
    if (!d.cert_file.empty()) y += "      cert_file: " + d.cert_file + "\n      key_file: " + d.key_file + "\n";
    if (d.transport != "udp") y += "      spool_dir: " + (dir / "spool" / d.name).string() + "\n";
    if (d.spool_max_mb) y += "      spool_max_mb: " + std::to_string(d.spool_max_mb) + "\n";
  }
  return y;
}

// The example plant's model (what the demo capture is traffic of) with `outputs` in place of any it has.
std::string demo_site(const fs::path& dir, const std::vector<Destination>& ds) {
  std::string out;
  bool skipping = false;
  std::istringstream f(example_site_model());
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') skipping = line.rfind("outputs:", 0) == 0;
    if (!skipping) out += line + "\n";
  }
  return out + outputs_yaml(dir, ds);
}

// Two zones and no conduit: every flow of the many-flows scenario (clients 10.64/10 to servers 172.20/16)
// is an OT::No_Conduit notice, none suppressed.
std::string many_flows_site(const fs::path& dir, const std::vector<Destination>& ds) {
  return "site: syslog test\n"
         "defaults:\n  notice_suppress_s: 0\n"
         "zones:\n"
         "  - name: clients\n    security_level: 1\n    networks: [\"10.64.0.0/10\"]\n"
         "  - name: servers\n    security_level: 1\n    networks: [\"172.20.0.0/16\"]\n" +
         outputs_yaml(dir, ds);
}

fs::path write_site(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}

fs::path many_flows_capture(const fs::path& dir, int flows) {
  const fs::path out = dir / "many-flows.pcap";
  const auto r = run("/usr/bin/python3 " + (source_dir() / "tools" / "gen_pcap.py").string() +
                     " many-flows --seed 7 --flows " + std::to_string(flows) +
                     " --packets-per-flow 6 --concurrent 40 -o " + out.string());
  REQUIRE(r.exit_code == 0);
  return out;
}

std::string sensor_command(const fs::path& site, const std::string& capture, const fs::path& logs,
                           const std::string& extra = "") {
  return otsensor() + " -r " + capture + " -c " + site.string() + " -l " + logs.string() + " --json --stats-json " +
         (logs / "stats.json").string() + " --sensor-id " + kSensorId + " " + extra;
}

int wait_exit(pid_t pid, int seconds) {
  for (int i = 0; i < seconds * 100; ++i) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

json stats_of(const fs::path& logs) { return json::parse(read_file(logs / "stats.json")); }

std::string rfc3339_us(double ts) {
  const auto us = std::llround(ts * 1e6);
  const time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
  return buf;
}

std::string text(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  const json& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// The columns a notice carries through CEF and LEEF, from notice.log's JSON record, and the same read back
// from a message: sorted lists of these must be equal.
using Fields = std::vector<std::string>;

Fields expected_fields(const json& n) {
  const bool conn = n.contains("id.orig_h");
  const bool summary = n.contains("n");
  return {text(n, "note"),
          text(n, "msg"),
          text(n, "sub"),
          text(n, "uid"),
          conn ? text(n, "id.orig_h") : text(n, "src"),
          conn ? text(n, "id.resp_h") : text(n, "dst"),
          conn ? text(n, "id.orig_p") : "",
          conn ? text(n, "id.resp_p") : text(n, "p"),
          text(n, "zone_orig"),
          text(n, "zone_resp"),
          text(n, "conduit"),
          text(n, "protocol"),
          text(n, "operation"),
          text(n, "device_id"),
          text(n, "verdict"),
          summary ? text(n, "n") : "",
          text(n, "orig_l2_addr")};
}

std::string get(const std::map<std::string, std::string>& m, const char* k) {
  const auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

Fields cef_fields(const Cef& c) {
  const auto& x = c.ext;
  return {c.header[4], c.header[5], get(x, "msg"), get(x, "externalId"), get(x, "src"), get(x, "dst"),
          get(x, "spt"), get(x, "dpt"), get(x, "cs1"), get(x, "flexString2"), get(x, "cs2"), get(x, "cs3"),
          get(x, "cs4"), get(x, "cs5"), get(x, "cs6"), get(x, "cnt"), get(x, "smac")};
}

Fields leef_fields(const Leef& l) {
  const auto& a = l.attrs;
  return {l.header[4], get(a, "msg"), get(a, "sub"), get(a, "uid"), get(a, "src"), get(a, "dst"),
          get(a, "srcPort"), get(a, "dstPort"), get(a, "zone_orig"), get(a, "zone_resp"), get(a, "conduit"),
          get(a, "protocol"), get(a, "operation"), get(a, "device_id"), get(a, "verdict"), get(a, "n"), get(a, "srcMAC")};
}

int severity_code(const std::string& s) {
  return s == "low" ? 5 : s == "medium" ? 4 : s == "high" ? 3 : s == "critical" ? 2 : -1;
}

// Every message is a well-formed RFC 5424 message for one notice of notice.log, its header taken from the
// notice (PRI, time, msgid) and the run (app name, sensor id); the payloads carry every notice exactly
// once (`ordered`: in notice.log's order too).
void check_delivery(const std::vector<std::string>& notice_lines, const std::vector<std::string>& received,
                    const std::string& format, int facility) {
  INFO("format " << format << ": " << received.size() << " messages for " << notice_lines.size() << " notices");
  REQUIRE(received.size() == notice_lines.size());
  std::vector<json> notices;
  for (const auto& l : notice_lines) notices.push_back(json::parse(l));
  // Header fields by notice: (msgid, timestamp, pri) for each notice, as a sorted list.
  std::vector<std::tuple<std::string, std::string, int>> want_head, got_head;
  for (const json& n : notices)
    want_head.emplace_back(text(n, "note"), rfc3339_us(n.at("ts").get<double>()),
                           facility * 8 + severity_code(text(n, "severity")));
  std::vector<Fields> want, got;
  std::vector<std::string> payloads;
  for (const std::string& line : received) {
    const auto m = parse_rfc5424(line);
    INFO(line);
    REQUIRE(m);
    CHECK(m->version == "1");
    CHECK(m->app_name == "otsensor");
    CHECK(m->procid != "-");
    CHECK(m->sd.at("otsensor@32473").at("sensor") == kSensorId);
    got_head.emplace_back(m->msgid, m->timestamp, m->pri);
    payloads.push_back(m->msg);
    if (format == "cef") {
      const auto c = parse_cef(m->msg);
      REQUIRE(c);
      got.push_back(cef_fields(*c));
    } else if (format == "leef") {
      const auto l = parse_leef(m->msg);
      REQUIRE(l);
      got.push_back(leef_fields(*l));
    }
  }
  std::sort(want_head.begin(), want_head.end());
  std::sort(got_head.begin(), got_head.end());
  CHECK(got_head == want_head);
  if (format == "json") {
    // Byte for byte the records of notice.log (which the sensor wrote as JSON too).
    std::vector<std::string> want_lines = notice_lines;
    std::sort(want_lines.begin(), want_lines.end());
    std::sort(payloads.begin(), payloads.end());
    CHECK(payloads == want_lines);
    return;
  }
  for (const json& n : notices) want.push_back(expected_fields(n));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  CHECK(got == want);
}

// smac: every zone and conduit notice of the demo (its frames are Ethernet) names its originator's MAC,
// the one assets.log has for that address (each demo host sends from one MAC), and the rogue laptop's
// Unknown_Host notice carries the laptop's.
void check_source_macs(const std::vector<std::string>& notice_lines, const std::vector<std::string>& received,
                       const fs::path& logs) {
  std::map<std::string, std::string> mac_of;
  for (const auto& l : log_lines(logs / "assets.log")) {
    const json a = json::parse(l);
    if (a.contains("mac")) mac_of[a.at("ip").get<std::string>()] = a.at("mac").get<std::string>();
  }
  std::map<std::string, std::string> smac_by_uid_note;  // (uid, note) -> smac from the CEF messages
  for (const auto& line : received) {
    const auto c = parse_cef(parse_rfc5424(line)->msg);
    REQUIRE(c);
    smac_by_uid_note[get(c->ext, "externalId") + " " + c->header[4]] = get(c->ext, "smac");
  }
  size_t ot = 0, rogue = 0;
  for (const auto& l : notice_lines) {
    const json n = json::parse(l);
    if (text(n, "note").rfind("OT::", 0) != 0) continue;
    ++ot;
    INFO(l);
    const std::string orig = text(n, "id.orig_h");
    REQUIRE(mac_of.count(orig));
    CHECK(text(n, "orig_l2_addr") == mac_of.at(orig));
    CHECK(smac_by_uid_note[text(n, "uid") + " " + text(n, "note")] == mac_of.at(orig));
    if (orig == "172.16.9.50" && text(n, "note") == "OT::Unknown_Host") ++rogue;
  }
  CHECK(ot >= 8);
  CHECK(rogue == 1);
}

// One receiver input per format for `kind`, a replay of the demo capture, and every notice checked in
// every format.
void demo_delivery(Kind kind, const std::string& transport, const std::string& name) {
  require_rsyslog();
  const fs::path dir = scratch_dir(name);
  make_certificates(dir);
  RsyslogReceiver rx(dir);
  const auto& cef = rx.add(kind, "cef");
  const auto& leef = rx.add(kind, "leef");
  // Over TLS the JSON output also presents a client certificate, to a receiver that requires one.
  const auto& js = rx.add(kind == Kind::Tls ? Kind::TlsClientCert : kind, "json");
  rx.start();
  std::vector<Destination> ds = {{"cef", transport, "cef", &cef}, {"leef", transport, "leef", &leef},
                                 {"json", transport, "json", &js}};
  for (auto& d : ds) {
    if (transport == "tls") d.ca_file = (dir / "ca.pem").string();
  }
  if (transport == "tls") {
    ds[2].cert_file = (dir / "client.pem").string();
    ds[2].key_file = (dir / "client.key").string();
  }
  const fs::path site = write_site(dir, "site.yaml", demo_site(dir, ds));
  const fs::path logs = dir / "logs";
  fs::create_directories(logs);
  const auto r = run(sensor_command(site, (source_dir() / "pcaps" / "demo.pcap").string(), logs));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto notices = log_lines(logs / "notice.log");
  REQUIRE(notices.size() >= 8);  // the demo's deliberate violations at least
  CHECK(r.output.find("syslog cef: " + std::to_string(notices.size()) + " sent, 0 spooled, 0 dropped, 0 reconnects") !=
        std::string::npos);
  const json stats = stats_of(logs);
  for (const char* d : {"cef", "leef", "json"}) {
    CHECK(stats.at("syslog").at(d).at("sent") == notices.size());
    CHECK(stats.at("syslog").at(d).at("dropped") == 0);
    CHECK(stats.at("syslog").at(d).at("pending") == 0);
  }
  check_delivery(notices, rx.wait_for(cef, notices.size()), "cef", 20);
  check_delivery(notices, rx.wait_for(leef, notices.size()), "leef", 20);
  check_delivery(notices, rx.wait_for(js, notices.size()), "json", 20);
  check_source_macs(notices, rx.received(cef), logs);
  // Nothing more comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(rx.received(cef).size() == notices.size());
}

// Writes the capture into a FIFO that the sensor reads, in three parts: the receiver is stopped after the
// first part has been delivered, the second part is replayed while it is down, and it comes back before
// the third.
void outage(Kind kind, const std::string& transport, const std::string& name) {
  require_rsyslog();
  const fs::path dir = scratch_dir(name);
  make_certificates(dir);
  const fs::path capture = many_flows_capture(dir, 3000);
  RsyslogReceiver rx(dir);
  const auto& in = rx.add(kind, "received");
  rx.start();
  Destination d{"siem", transport, "json", &in};
  if (transport == "tls") d.ca_file = (dir / "ca.pem").string();
  const fs::path site = write_site(dir, "site.yaml", many_flows_site(dir, {d}));
  const fs::path logs = dir / "logs";
  fs::create_directories(logs);
  const fs::path fifo = dir / "capture.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // The default threaded worker: while the FIFO stalls between the parts below, the run loop goes on taking
  // the worker's notices (CaptureLoop::run_files), so each part's notices are out before the next part.
  const pid_t sensor =
      spawn_process({"/bin/sh", "-c", "exec " + sensor_command(site, fifo.string(), logs)}, dir / "sensor.out");

  // The capture's records: a 24-byte file header, then a 16-byte header and the bytes of each packet.
  const std::string pcap = read_file(capture);
  std::vector<size_t> ends;
  for (size_t off = 24; off + 16 <= pcap.size();) {
    uint32_t caplen = 0;  // little-endian, at offset 8 of the record header
    for (int i = 3; i >= 0; --i) caplen = caplen << 8 | static_cast<uint8_t>(pcap[off + 8 + size_t(i)]);
    off += 16 + caplen;
    ends.push_back(off);
  }
  REQUIRE(ends.back() == pcap.size());
  const int w = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // not inherited by rsyslogd: EOF must reach the sensor
  REQUIRE(w >= 0);
  size_t written = 0;
  auto write_to = [&](size_t end) {
    while (written < end) {
      const ssize_t n = ::write(w, pcap.data() + written, end - written);
      REQUIRE(n > 0);
      written += static_cast<size_t>(n);
    }
  };
  // Part 1, and wait until the receiver has it (its count stops growing).
  write_to(ends[ends.size() / 3]);
  size_t before = 0;
  // 3 s: longer than the sender's settle time, so that what it sent before the outage counts as delivered.
  for (int stable = 0, i = 0; stable < 60 && i < 1200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const size_t now = rx.received(in).size();
    stable = now == before && now > 0 ? stable + 1 : 0;
    before = now;
  }
  REQUIRE(before > 100);
  rx.stop();
  // Part 2 while the receiver is down.
  write_to(ends[2 * ends.size() / 3]);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  rx.start();
  write_to(pcap.size());
  ::close(w);
  const int rc = wait_exit(sensor, 120);
  const std::string out = read_file(dir / "sensor.out");
  INFO(out);
  REQUIRE(rc == 0);

  const auto notices = log_lines(logs / "notice.log");
  REQUIRE(notices.size() >= 2900);
  const auto got = rx.wait_for(in, notices.size());
  // At least once: every notice arrives; the only extra messages are notices sent again after the outage.
  std::multiset<std::string> payloads;
  for (const auto& line : got) {
    const auto m = parse_rfc5424(line);
    REQUIRE(m);
    payloads.insert(m->msg);
  }
  size_t missing = 0;
  for (const auto& n : notices) missing += payloads.count(n) == 0;
  std::set<std::string> known(notices.begin(), notices.end());
  size_t strangers = 0;
  for (const auto& p : payloads) strangers += known.count(p) == 0;
  const json s = stats_of(logs).at("syslog").at("siem");
  INFO("received " << got.size() << " for " << notices.size() << " notices; stats " << s.dump());
  CHECK(missing == 0);
  CHECK(strangers == 0);
  CHECK(got.size() - notices.size() <= s.at("resent").get<size_t>());
  CHECK(s.at("reconnects").get<int>() >= 1);
  CHECK(s.at("spooled").get<int>() > 0);
  CHECK(s.at("sent") == notices.size());
  CHECK(s.at("pending") == 0);
  CHECK(s.at("dropped") == 0);
}

}  // namespace

// Tests run side by side: a port free_port() found may be bound by another test before rsyslogd binds it.
// The receiver then must not take the other listener for its own (its probes would succeed and the
// messages go elsewhere, as they did once in CI), but start again on other ports.
TEST_CASE("the test receiver moves off a port another process listens on", "[syslog]") {
  require_rsyslog();
  // Close-on-exec: rsyslogd, forked from this process, must not hold the other listener itself.
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(s, 4) == 0);
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const int taken = ntohs(a.sin_port);
  {
    RsyslogReceiver rx(scratch_dir("syslog_port_taken"));
    const auto& in = rx.add(Kind::Tcp, "received", taken);
    rx.start();
    CHECK(rx.running());
    CHECK(in.port != taken);
  }
  ::close(s);
}

TEST_CASE("syslog over UDP: every notice of the demo replay arrives intact in CEF, LEEF and JSON", "[syslog]") {
  demo_delivery(Kind::Udp, "udp", "syslog_udp");
}

TEST_CASE("syslog over TCP: every notice of the demo replay arrives intact in CEF, LEEF and JSON", "[syslog]") {
  demo_delivery(Kind::Tcp, "tcp", "syslog_tcp");
}

TEST_CASE("syslog over TLS: every notice of the demo replay arrives intact in CEF, LEEF and JSON", "[syslog]") {
  demo_delivery(Kind::Tls, "tls", "syslog_tls");
}

TEST_CASE("syslog over TCP: the receiver stops in the middle of a replay and comes back, no notice is lost",
          "[syslog]") {
  outage(Kind::Tcp, "tcp", "syslog_outage_tcp");
}

TEST_CASE("syslog over TLS: the receiver stops in the middle of a replay and comes back, no notice is lost",
          "[syslog]") {
  outage(Kind::Tls, "tls", "syslog_outage_tls");
}

// A demo replay to a TLS receiver whose certificate `d` refuses: the run ends well, one line says why
// (`reason`, GnuTLS's words), whatever the number of attempts, nothing arrives and every notice waits in the
// spool. Returns the notices.
std::vector<std::string> refused_tls_run(const fs::path& dir, const RsyslogReceiver& rx,
                                         const RsyslogReceiver::Input& in, const Destination& d,
                                         const std::string& reason) {
  const fs::path logs = dir / "logs";
  fs::create_directories(logs);
  const auto r = run(sensor_command(write_site(dir, "site.yaml", demo_site(dir, {d})),
                                    (source_dir() / "pcaps" / "demo.pcap").string(), logs));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  const auto notices = log_lines(logs / "notice.log");
  REQUIRE(!notices.empty());
  size_t lines = 0;
  std::istringstream out(r.output);
  for (std::string line; std::getline(out, line);) {
    if (line.find("warning: syslog output 'soc'") == std::string::npos) continue;
    ++lines;
    CHECK(line == "otsensor: warning: syslog output 'soc' (tls 127.0.0.1:" + std::to_string(in.port) +
                      "): TLS handshake failed: the server's certificate is refused: " + reason +
                      "; messages wait in the spool");
  }
  CHECK(lines == 1);
  const json s = stats_of(logs).at("syslog").at("soc");
  CHECK(s.at("sent") == 0);
  CHECK(s.at("spooled").get<size_t>() <= notices.size());  // those that came before the first refusal are not
  CHECK(s.at("pending") == notices.size());
  CHECK(rx.received(in).empty());
  return notices;
}

TEST_CASE("syslog over TLS: a server certificate from another CA is refused in one line, the notices wait in the "
          "spool and the next run delivers them",
          "[syslog]") {
  require_rsyslog();
  const fs::path dir = scratch_dir("syslog_tls_untrusted");
  make_certificates(dir);
  make_certificates(dir, "other-ca");
  RsyslogReceiver rx(dir);
  const auto& in = rx.add(Kind::Tls, "received");
  rx.start();
  Destination d{"soc", "tls", "cef", &in};
  d.ca_file = (dir / "other-ca.pem").string();
  const auto notices =
      refused_tls_run(dir, rx, in, d, "The certificate is NOT trusted. The certificate issuer is unknown.");

  // The next run trusts the receiver's CA; its model has no zones, so it raises no notice of its own: what
  // arrives is the first run's spool.
  d.ca_file = (dir / "ca.pem").string();
  const fs::path logs2 = dir / "logs2";
  fs::create_directories(logs2);
  const auto r2 = run(sensor_command(write_site(dir, "site2.yaml", outputs_yaml(dir, {d})),
                                     (source_dir() / "pcaps" / "demo.pcap").string(), logs2));
  INFO(r2.output);
  CHECK(r2.exit_code == 0);
  CHECK(log_lines(logs2 / "notice.log").empty());
  const json s2 = stats_of(logs2).at("syslog").at("soc");
  CHECK(s2.at("recovered") == notices.size());
  CHECK(s2.at("sent") == notices.size());
  CHECK(s2.at("pending") == 0);
  std::vector<Fields> want, got;
  for (const auto& l : notices) want.push_back(expected_fields(json::parse(l)));
  for (const auto& line : rx.wait_for(in, notices.size())) got.push_back(cef_fields(*parse_cef(parse_rfc5424(line)->msg)));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  CHECK(got == want);
}

TEST_CASE("syslog over TLS: a server certificate from the trusted CA but for another name is refused (hostname "
          "check), the notices wait in the spool",
          "[syslog]") {
  require_rsyslog();
  const fs::path dir = scratch_dir("syslog_tls_wrong_name");
  make_certificates(dir, "ca", "siem.example.net");  // the sensor connects to 127.0.0.1
  RsyslogReceiver rx(dir);
  const auto& in = rx.add(Kind::Tls, "received");
  rx.start();
  Destination d{"soc", "tls", "cef", &in};
  d.ca_file = (dir / "ca.pem").string();
  refused_tls_run(dir, rx, in, d,
                  "The certificate is NOT trusted. The name in the certificate does not match the expected.");
}

TEST_CASE("syslog over TCP: a full spool drops the oldest messages, counts them and raises Syslog::Spool_Full",
          "[syslog]") {
  const fs::path dir = scratch_dir("syslog_spool_full");
  if (::access("/usr/bin/python3", X_OK) != 0) {
    std::fprintf(stderr, "SKIPPED: /usr/bin/python3 (for tools/gen_pcap.py) not found\n");
    std::exit(77);
  }
  const fs::path capture = many_flows_capture(dir, 4000);
  const RefusingPort refusing;  // nobody listens there, and no parallel test can take the port
  Destination d{"soc", "tcp", "json", nullptr, refusing.port()};
  d.spool_max_mb = 1;
  const fs::path logs = dir / "logs";
  fs::create_directories(logs);
  const auto r = run(sensor_command(write_site(dir, "site.yaml", many_flows_site(dir, {d})), capture.string(), logs));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const json s = stats_of(logs).at("syslog").at("soc");
  const auto lines = log_lines(logs / "notice.log");
  CHECK(s.at("dropped").get<uint64_t>() > 0);
  CHECK(s.at("sent") == 0);
  // Every notice went to the spool; what is not there now was dropped.
  CHECK(s.at("pending").get<uint64_t>() + s.at("dropped").get<uint64_t>() == lines.size());
  // One notice says so (the later ones of its suppression window are counted in its summary).
  size_t full = 0;
  for (const auto& l : lines) {
    const json n = json::parse(l);
    if (n.at("note") != "Syslog::Spool_Full") continue;
    ++full;
    CHECK(n.at("device_id") == "soc");
    CHECK(text(n, "msg").find("spool is full (1 MB)") != std::string::npos);
  }
  CHECK(full >= 1);
  CHECK(r.output.find("the spool is full (1 MB): the oldest messages are dropped") != std::string::npos);
  // The spool stays within its bound.
  uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir / "spool" / "soc"))
    if (e.path().extension() == ".seg") bytes += fs::file_size(e.path());
  CHECK(bytes <= (1u << 20));
}

TEST_CASE("syslog sender: drain returns once every message handed over is in the spool or dropped from it",
          "[syslog]") {
  // What the end of a run relies on to raise Syslog::Spool_Full for its last notices: right after the
  // enqueues the thread may not have looked at them; after drain() the spool has taken all of them.
  const fs::path dir = scratch_dir("syslog_drain");
  const RefusingPort refusing;
  ots::SyslogDestination d;
  d.name = "soc";
  d.host = "127.0.0.1";
  d.port = static_cast<uint16_t>(refusing.port());
  d.transport = ots::SyslogTransport::Tcp;
  d.spool_dir = (dir / "spool").string();
  d.spool_max_bytes = 1u << 20;
  ots::SyslogSender sender(d);
  const std::string msg(1000, 'x');
  constexpr uint64_t kMessages = 3000;  // about 3 MB into a 1 MB spool
  for (uint64_t i = 0; i < kMessages; ++i) sender.enqueue(msg);
  sender.drain(std::chrono::seconds(30));
  const ots::SyslogCounters c = sender.counters();
  CHECK(c.dropped == c.dropped_spool_full);  // none lost in the queue
  CHECK(c.dropped_spool_full > kMessages / 2);
  CHECK(c.sent == 0);
  // A drain with nothing new to take returns at once, and one after the thread stopped does too.
  sender.drain(std::chrono::seconds(30));
  sender.stop(std::chrono::steady_clock::now());
  sender.wait();
  sender.enqueue(msg);
  const auto t0 = std::chrono::steady_clock::now();
  sender.drain(std::chrono::seconds(30));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(sender.counters().pending + sender.counters().dropped_spool_full == kMessages);
}

TEST_CASE("syslog: stats.log has a row per destination every interval with its sent, spooled, dropped, "
          "reconnects and pending",
          "[syslog][stats_logs]") {
  require_rsyslog();
  const fs::path dir = scratch_dir("syslog_stats_log");
  RsyslogReceiver rx(dir);
  const auto& in = rx.add(Kind::Tcp, "received");
  rx.start();
  const RefusingPort refusing;
  const fs::path logs = dir / "logs";
  fs::create_directories(logs);
  const std::vector<Destination> ds = {{"soc", "tcp", "cef", &in}, {"down", "tcp", "json", nullptr, refusing.port()}};
  const fs::path site = write_site(dir, "site.yaml", demo_site(dir, ds));
  const auto r = run(sensor_command(site, (source_dir() / "pcaps" / "demo.pcap").string(), logs, "--stats-interval 5"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t notices = log_lines(logs / "notice.log").size();
  std::map<std::string, std::vector<json>> by_peer;
  for (const auto& l : log_lines(logs / "stats.log")) {
    const json row = json::parse(l);
    by_peer[row.at("peer").get<std::string>()].push_back(row);
  }
  const size_t measurements = by_peer["worker-1"].size();
  REQUIRE(measurements >= 2);
  for (const json& w : by_peer["worker-1"]) CHECK(!w.contains("syslog_sent"));  // the destinations' columns
  const auto sum = [&](const char* peer, const char* field) {
    uint64_t s = 0;
    for (const json& row : by_peer[peer]) s += row.at(field).get<uint64_t>();
    return s;
  };
  for (const char* peer : {"syslog:soc", "syslog:down"}) {
    INFO(peer);
    REQUIRE(by_peer[peer].size() == measurements);  // one row at every measurement
    for (const json& row : by_peer[peer]) {
      CHECK(!row.contains("pkts_proc"));  // the workers' columns
      CHECK(row.at("syslog_pending").is_number());
    }
    CHECK(sum(peer, "syslog_dropped") == 0);
    CHECK(sum(peer, "syslog_reconnects") == 0);
  }
  // The rows count what happened by then; the rest is sent as the run closes its outputs.
  CHECK(sum("syslog:soc", "syslog_sent") <= notices);
  CHECK(sum("syslog:down", "syslog_sent") == 0);
  CHECK(sum("syslog:down", "syslog_spooled") <= notices);
  CHECK(stats_of(logs).at("syslog").at("soc").at("sent") == notices);
}

TEST_CASE("syslog: check-config lists the syslog outputs and the sensor refuses an invalid outputs section",
          "[syslog][config]") {
  const fs::path dir = scratch_dir("syslog_check_config");
  Destination a{"soc", "tcp", "cef", nullptr, 6514};
  Destination b{"qradar", "udp", "leef", nullptr, 514};
  const fs::path site = write_site(dir, "site.yaml", "site: t\n" + outputs_yaml(dir, {a, b}));
  const auto ok = run(otsensor() + " check-config " + site.string());
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.find("syslog outputs: 2") != std::string::npos);
  CHECK(ok.output.find("  soc: tcp 127.0.0.1:6514, cef, facility local4, app_name otsensor, spool " +
                       (dir / "spool" / "soc").string() + " (at most 256 MB)") != std::string::npos);
  CHECK(ok.output.find("  qradar: udp 127.0.0.1:514, leef, facility local4, app_name otsensor (best effort)") !=
        std::string::npos);
  const fs::path bad = write_site(dir, "bad.yaml", "outputs:\n  syslog:\n    - name: soc\n      host: 127.0.0.1\n"
                                                   "      transport: carrier-pigeon\n      format: cef\n");
  const auto no = run(otsensor() + " check-config " + bad.string());
  CHECK(no.exit_code == 2);
  CHECK(no.output.find(bad.string() + ":5:18: syslog output 'soc': transport is 'carrier-pigeon', expected udp, tcp "
                                      "or tls") != std::string::npos);
  const auto refused = run(otsensor() + " -r " + (source_dir() / "pcaps" / "demo.pcap").string() + " -c " +
                           bad.string() + " -l " + dir.string());
  CHECK(refused.exit_code == 2);
  CHECK(refused.output.find(":5:18: syslog output 'soc': transport is 'carrier-pigeon'") != std::string::npos);
}
