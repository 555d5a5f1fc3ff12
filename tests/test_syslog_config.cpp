// The `outputs: syslog:` section: values, defaults and every validation message with its position.
#include <catch2/catch.hpp>

#include <fstream>

#include "output/syslog_config.hpp"
#include "tests/test_support.hpp"

using namespace ots;

namespace {

// A CA certificate (public part only) that GnuTLS loads; its key was thrown away.
constexpr const char* kCaPem = R"(-----BEGIN CERTIFICATE-----
MIIBiTCCATCgAwIBAgIUSy7LnS1X+vW5qQ+zSiALhhldHOwwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAxMXb3RzZW5zb3IgY29uZmlnIHRlc3QgQ0EwIBcNMjYxMTIzMDEx
NDEyWhgPMjEyNjEwMzAwMTE0MTJaMCIxIDAeBgNVBAMTF290c2Vuc29yIGNvbmZp
ZyB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeLd3YemJqo4pXpnn
w4s4d9TF1HxVcn9Nm0Lf5wCV+1bThVvohD1L69KjOp3w9x3ceBPgTwBBq/KTk7tp
4FRXc6NCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQwHQYDVR0O
BBYEFL7EYEM+afROrJUOw2KF+QvM9WkRMAoGCCqGSM49BAMCA0cAMEQCICnSN7lo
36Kakw+ChwususH9pnTVs5bDDaPuQXBkScbtAiBpq8pNdHotSyEO6yqaT2Cr6lRp
aXD8ixnKCvpqqJqgQQ==
-----END CERTIFICATE-----
)";

std::string write(const std::string& name, const std::string& text) {
  static const auto dir = ots::test::scratch_dir("syslog_config");
  std::ofstream(dir / name) << text;
  return (dir / name).string();
}

std::vector<std::string> errors_of(const std::string& name, const std::string& text) {
  const std::string path = write(name, text);
  SyslogSection s;
  std::vector<std::string> errors;
  CHECK_FALSE(load_syslog_section(path, s, errors));
  for (auto& e : errors) {
    REQUIRE(e.rfind(path + ":", 0) == 0);
    e = e.substr(path.size() + 1);
  }
  return errors;
}

}  // namespace

TEST_CASE("syslog config: several destinations with their values and defaults", "[syslog][config]") {
  const std::string ca = write("ca.pem", kCaPem);
  const std::string path = write("ok.yaml",
                                 "site: test\n"
                                 "outputs:\n"
                                 "  syslog:\n"
                                 "    - name: soc\n"
                                 "      host: 127.0.0.1\n"
                                 "      port: 16514\n"
                                 "      transport: tls\n"
                                 "      format: cef\n"
                                 "      facility: local4\n"
                                 "      app_name: ot-sensor\n"
                                 "      ca_file: " + ca + "\n"
                                 "      spool_dir: /var/lib/otsensor/spool/soc\n"
                                 "      spool_max_mb: 16\n"
                                 "    - name: qradar\n"
                                 "      host: siem.example.com\n"
                                 "      transport: udp\n"
                                 "      format: leef\n"
                                 "    - name: lake\n"
                                 "      host: \"fd00::5\"\n"
                                 "      transport: tcp\n"
                                 "      format: json\n"
                                 "      spool_dir: spool/lake\n");
  SyslogSection s;
  std::vector<std::string> errors;
  REQUIRE(load_syslog_section(path, s, errors));
  REQUIRE(s.destinations.size() == 3);
  const SyslogDestination& soc = s.destinations[0];
  CHECK(soc.name == "soc");
  CHECK(soc.port == 16514);
  CHECK(soc.transport == SyslogTransport::Tls);
  CHECK(soc.format == SyslogFormat::Cef);
  CHECK(soc.facility == 20);
  CHECK(soc.app_name == "ot-sensor");
  CHECK(soc.ca_file == ca);
  CHECK(soc.spool_max_bytes == 16ull << 20);
  const SyslogDestination& q = s.destinations[1];
  CHECK(q.port == 514);
  CHECK(q.facility == 16);  // local0
  CHECK(q.app_name == "otsensor");
  CHECK(q.spool_dir.empty());
  const SyslogDestination& lake = s.destinations[2];
  CHECK(lake.host == "fd00::5");
  CHECK(lake.port == 514);
  CHECK(lake.spool_max_bytes == 256ull << 20);
  CHECK(syslog_facility_code("local7") == 23);
  CHECK(syslog_facility_name(4) == "auth");
}

TEST_CASE("syslog config: a file without outputs has no destination", "[syslog][config]") {
  SyslogSection s;
  std::vector<std::string> errors;
  CHECK(load_syslog_section(write("none.yaml", "site: test\n"), s, errors));
  CHECK(s.destinations.empty());
}

TEST_CASE("syslog config: every problem with its line and column", "[syslog][config]") {
  const auto errors = errors_of("bad.yaml",
                                "site: test\n"
                                "outputs:\n"
                                "  syslog:\n"
                                "    - name: soc\n"
                                "      host: \"bad host\"\n"
                                "      port: 70000\n"
                                "      transport: tls\n"
                                "      format: xml\n"
                                "      facility: local9\n"
                                "      app_name: \"has space\"\n"
                                "      spool_max_mb: 0\n"
                                "      colour: blue\n"
                                "    - name: soc\n"
                                "      host: 10.0.0.1\n"
                                "      transport: udp\n"
                                "      format: cef\n"
                                "      spool_dir: /tmp/x\n"
                                "      ca_file: /tmp/ca.pem\n"
                                "    - name: plain\n"
                                "      host: 10.0.0.2\n"
                                "      transport: tcp\n"
                                "      format: json\n"
                                "    - name: t2\n"
                                "      host: 10.0.0.3\n"
                                "      transport: tls\n"
                                "      format: json\n"
                                "      ca_file: /nonexistent/ca.pem\n"
                                "      cert_file: /x.pem\n"
                                "      spool_dir: spool/t2\n"
                                "    - carrots\n");
  const std::vector<std::string> expected = {
      "4:7: syslog output 'soc': missing required key 'ca_file' (transport tls verifies the server's certificate "
      "against it)",
      "4:7: syslog output 'soc': missing required key 'spool_dir' (transport tls keeps messages there while the "
      "destination is unreachable)",
      "5:13: syslog output 'soc': host 'bad host' must be an IPv4 or IPv6 address or a DNS name",
      "6:13: syslog output 'soc': port is 70000, expected 1 to 65535",
      "8:15: syslog output 'soc': format is 'xml', expected cef, leef or json",
      "9:17: syslog output 'soc': facility is 'local9', expected an RFC 5424 facility name (kern, user, mail, daemon, "
      "auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0 to local7)",
      "10:17: syslog output 'soc': app_name 'has space' must be 1 to 48 printable ASCII characters without spaces "
      "(RFC 5424 APP-NAME)",
      "11:21: syslog output 'soc': spool_max_mb is 0, expected 1 to 1048576",
      "12:7: syslog output 'soc': unknown key 'colour', expected name, host, port, transport, format, facility, "
      "app_name, ca_file, cert_file, key_file, spool_dir, spool_max_mb",
      "13:13: syslog output 'soc' is defined twice (first at line 4)",
      "17:7: syslog output 'soc': spool_dir applies only to transports tcp and tls (udp is best effort and has no "
      "spool)",
      "18:7: syslog output 'soc': ca_file applies only to transport tls",
      "19:7: syslog output 'plain': missing required key 'spool_dir' (transport tcp keeps messages there while the "
      "destination is unreachable)",
      "27:16: syslog output 't2': ca_file '/nonexistent/ca.pem' cannot be read: No such file or directory",
      "28:7: syslog output 't2': cert_file and key_file go together (the client certificate and its key)",
      "30:7: outputs.syslog[4]: a syslog output must be a map (name, host, port, transport, format, ...), got "
      "'carrots'",
  };
  CHECK(errors == expected);
}

TEST_CASE("syslog config: wrong shapes of the section", "[syslog][config]") {
  CHECK(errors_of("list.yaml", "outputs: [syslog]\n") ==
        std::vector<std::string>{"1:10: outputs must be a map (syslog), got a list"});
  CHECK(errors_of("key.yaml", "outputs:\n  kafka: {}\n") ==
        std::vector<std::string>{"2:3: unknown key 'outputs.kafka', expected syslog"});
  CHECK(errors_of("map.yaml", "outputs:\n  syslog:\n    name: soc\n") ==
        std::vector<std::string>{"3:5: outputs.syslog must be a list, got a map"});
  const std::string ca = write("ca2.pem", "not a certificate\n");
  CHECK(errors_of("badca.yaml", "outputs:\n  syslog:\n    - {name: a, host: h, transport: tls, format: cef, ca_file: " +
                                    ca + ", spool_dir: s}\n") ==
        std::vector<std::string>{"3:64: syslog output 'a': ca_file '" + ca + "' holds no PEM certificate"});
}
