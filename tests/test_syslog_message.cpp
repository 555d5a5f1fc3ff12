// Syslog messages for notices: the RFC 5424 header and structured data, the octet-counting frame, and the
// CEF, LEEF and JSON payloads, exact and read back with the tests' own parsers.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "output/log_format.hpp"
#include "output/syslog_message.hpp"
#include "tests/syslog_parse.hpp"

using namespace ots;
using namespace ots::test;

namespace {

IpAddr ip(const char* s) {
  IpAddr a;
  REQUIRE(IpAddr::parse(s, a));
  return a;
}

// An Operation_Not_Allowed notice of a Modbus flow, with text that needs every escape.
Notice modbus_write() {
  Notice n;
  n.ts_ns = 1710144001123456789ull;  // 2024-03-11 08:00:01.123456789 UTC
  n.note = "OT::Operation_Not_Allowed";
  n.msg = "Modbus write_single_coil from mes to control | not allowed";
  n.sub = "coil=5 \\ value\non";
  n.severity = Severity::High;
  n.uid = Uid{0x0123456789abcdefull, 42};
  n.has_conn = true;
  n.id = ConnId{ip("10.20.0.5"), ip("192.168.10.20"), 50123, 502, Transport::Tcp};
  n.has_orig_mac = true;
  n.orig_mac = {0x00, 0x1b, 0x1b, 0x7c, 0x05, 0xe1};
  n.zone_orig = "mes";
  n.zone_resp = "control";
  n.conduit = "mes-to-control";
  n.protocol = "modbus";
  n.operation = "write_single_coil";
  return n;
}

SyslogDestination destination(SyslogFormat f) {
  SyslogDestination d;
  d.name = "soc";
  d.host = "127.0.0.1";
  d.transport = SyslogTransport::Tcp;
  d.format = f;
  d.facility = 20;  // local4
  d.app_name = "otsensor";
  return d;
}

SyslogIdentity identity() { return {"sensor-7.plant.example", "4242", "sensor-7", "0.1.0"}; }

}  // namespace

TEST_CASE("syslog: RFC 5424 header with PRI from facility and severity, microsecond UTC time, msgid, sensor id",
          "[syslog]") {
  std::string out;
  format_syslog_message(destination(SyslogFormat::Cef), identity(), modbus_write(), 0, 0, out);
  // local4 (20) * 8 + error (3) = 163.
  const std::string head =
      "<163>1 2024-03-11T08:00:01.123456Z sensor-7.plant.example otsensor 4242 OT::Operation_Not_Allowed "
      "[otsensor@32473 sensor=\"sensor-7\"] CEF:0|";
  CHECK(out.substr(0, head.size()) == head);
  const auto m = parse_rfc5424(out);
  REQUIRE(m);
  CHECK(m->pri == 163);
  CHECK(m->msgid == "OT::Operation_Not_Allowed");
  CHECK(m->sd.at("otsensor@32473").at("sensor") == "sensor-7");
  CHECK(m->msg.rfind("CEF:0|", 0) == 0);

  // Each notice severity maps to its syslog severity; the facility comes from the destination.
  const std::pair<Severity, int> sev[] = {
      {Severity::Low, 5}, {Severity::Medium, 4}, {Severity::High, 3}, {Severity::Critical, 2}};
  for (const auto& [s, code] : sev) {
    Notice n = modbus_write();
    n.severity = s;
    SyslogDestination d = destination(SyslogFormat::Json);
    d.facility = 1;
    out.clear();
    format_syslog_message(d, identity(), n, 0, 0, out);
    CHECK(parse_rfc5424(out)->pri == 8 + code);
  }
}

TEST_CASE("syslog: structured data escapes quote, backslash and bracket, empty header fields are NILVALUE",
          "[syslog]") {
  SyslogIdentity id{"", "", "a\"b\\c]d", "0.1.0"};
  Notice n = modbus_write();
  n.note = "Name With Spaces That Is Longer Than Thirty-Two Octets";
  std::string out;
  format_syslog_message(destination(SyslogFormat::Json), id, n, 0, 0, out);
  CHECK(out.find(" - otsensor - Name_With_Spaces_That_Is_Longer_ [otsensor@32473 sensor=\"a\\\"b\\\\c\\]d\"] {") !=
        std::string::npos);
  const auto m = parse_rfc5424(out);
  REQUIRE(m);
  CHECK(m->hostname == "-");
  CHECK(m->sd.at("otsensor@32473").at("sensor") == "a\"b\\c]d");
}

TEST_CASE("syslog: octet-counting frame is the message length in decimal, a space and the message", "[syslog]") {
  std::string out;
  append_octet_counted(out, "<14>1 - - - - - - hello");
  CHECK(out == "23 <14>1 - - - - - - hello");
}

TEST_CASE("syslog: CEF header and extension with CEF's escaping and the standard keys", "[syslog]") {
  std::string out;
  append_cef(out, modbus_write(), 0, identity());
  const std::string uid = Uid{0x0123456789abcdefull, 42}.to_string();
  CHECK(out == "CEF:0|otsensor|otsensor|0.1.0|OT::Operation_Not_Allowed|Modbus write_single_coil from mes to control "
               "\\| not allowed|8|rt=1710144001123 src=10.20.0.5 dst=192.168.10.20 spt=50123 dpt=502 proto=TCP "
               "smac=00:1b:1b:7c:05:e1 act=log "
               "msg=coil\\=5 \\\\ value\\non externalId=" +
                   uid +
                   " cat=OT cs1Label=zone_orig cs1=mes cs2Label=conduit cs2=mes-to-control cs3Label=protocol "
                   "cs3=modbus cs4Label=operation cs4=write_single_coil flexString2Label=zone_resp "
                   "flexString2=control deviceExternalId=sensor-7 dvchost=sensor-7.plant.example");
  const auto c = parse_cef(out);
  REQUIRE(c);
  CHECK(c->header[4] == "OT::Operation_Not_Allowed");
  CHECK(c->header[5] == "Modbus write_single_coil from mes to control | not allowed");
  CHECK(c->ext.at("msg") == "coil=5 \\ value\non");
  CHECK(c->ext.at("cs4") == "write_single_coil");
  CHECK(c->ext.at("cs4Label") == "operation");
  CHECK(c->ext.count("cs6") == 0);  // no verdict: no key, no label
  CHECK(c->ext.count("outcome") == 0);
  CHECK(c->ext.at("smac") == "00:1b:1b:7c:05:e1");
}

TEST_CASE("syslog: CEF of a summary, an attestation notice and a notice about hosts without a connection",
          "[syslog]") {
  Notice n;
  n.ts_ns = 1710144000000000000ull;
  n.note = "Attest::Replay";
  n.msg = "replayed telemetry";
  n.severity = Severity::Critical;
  n.has_src = true;
  n.src = ip("fd00:10::5");
  n.has_p = true;
  n.p = 62443;
  n.device_id = "dev=1";
  n.verdict = "replay";
  n.rule_id = 7;
  n.mitre = "T0830,T0856";
  std::string out;
  append_cef(out, n, 3, identity());
  const auto c = parse_cef(out);
  REQUIRE(c);
  CHECK(c->header[6] == "10");
  CHECK(c->ext.at("src") == "fd00:10::5");
  CHECK(c->ext.count("dst") == 0);
  CHECK(c->ext.count("spt") == 0);
  CHECK(c->ext.at("dpt") == "62443");
  CHECK(c->ext.at("cnt") == "3");
  CHECK(c->ext.at("cs5Label") == "device_id");
  CHECK(c->ext.at("cs5") == "dev=1");
  CHECK(c->ext.at("cs6Label") == "verdict");
  CHECK(c->ext.at("cs6") == "replay");
  CHECK(c->ext.at("outcome") == "replay");
  CHECK(c->ext.at("cn1") == "7");
  CHECK(c->ext.at("flexString1") == "T0830,T0856");
  CHECK(c->ext.at("cat") == "Attest");
  CHECK(c->ext.count("cs1") == 0);
  CHECK(c->ext.count("externalId") == 0);
  CHECK(c->ext.count("smac") == 0);  // no link-layer address known: no key

  // Without a connection the MAC is src's (a stale device's last), as CEF's src is.
  n.has_orig_mac = true;
  n.orig_mac = {0x02, 0xab, 0x00, 0x00, 0x0f, 0xf0};
  out.clear();
  append_cef(out, n, 0, identity());
  const auto s = parse_cef(out);
  REQUIRE(s);
  CHECK(s->ext.at("src") == "fd00:10::5");
  CHECK(s->ext.at("smac") == "02:ab:00:00:0f:f0");
}

TEST_CASE("syslog: LEEF 2.0 with a TAB delimiter declared in hex and the predefined keys", "[syslog]") {
  Notice n = modbus_write();
  n.msg = "tab\there";
  std::string out;
  append_leef(out, n, 0, identity());
  CHECK(out.rfind("LEEF:2.0|otsensor|otsensor|0.1.0|OT::Operation_Not_Allowed|x09|cat=OT\tdevTime=2024-03-11T08:00:01.123Z"
                  "\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSXXX\tsev=8\tsrc=10.20.0.5\tdst=192.168.10.20\tsrcPort=50123"
                  "\tdstPort=502\tproto=TCP\tsrcMAC=00:1b:1b:7c:05:e1\tmsg=tab here\tsub=coil=5 \\ value on\tuid=",
                  0) == 0);
  const auto l = parse_leef(out);
  REQUIRE(l);
  CHECK(l->header[4] == "OT::Operation_Not_Allowed");
  CHECK(l->attrs.at("msg") == "tab here");
  CHECK(l->attrs.at("zone_orig") == "mes");
  CHECK(l->attrs.at("conduit") == "mes-to-control");
  CHECK(l->attrs.at("sensor") == "sensor-7");
  CHECK(l->attrs.at("srcMAC") == "00:1b:1b:7c:05:e1");
  n.has_orig_mac = false;
  out.clear();
  append_leef(out, n, 0, identity());
  CHECK(parse_leef(out)->attrs.count("srcMAC") == 0);
}

TEST_CASE("syslog: the JSON payload is notice.log's JSON record", "[syslog]") {
  const Notice n = modbus_write();
  std::string payload;
  append_notice_json(payload, n, 2, 3600'000'000'000ull);
  NoticeRecord rec;
  make_notice_record(n, 2, 3600'000'000'000ull, rec);
  std::string line;
  format_json(notice_schema(), rec.values, line);
  CHECK(payload + "\n" == line);
  const auto j = nlohmann::json::parse(payload);
  CHECK(j.at("note") == "OT::Operation_Not_Allowed");
  CHECK(j.at("n") == 2);
  CHECK(j.at("sub") == "coil=5 \\ value\non");
  CHECK(j.at("id.resp_p") == 502);
  CHECK(j.at("suppress_for") == 3600.0);
  CHECK(j.at("orig_l2_addr") == "00:1b:1b:7c:05:e1");
  // Unset when the frames had no MAC (raw IP, or no connection and no known sender), as Zeek omits unset fields.
  Notice raw = n;
  raw.has_orig_mac = false;
  payload.clear();
  append_notice_json(payload, raw, 0, 0);
  CHECK(nlohmann::json::parse(payload).count("orig_l2_addr") == 0);
}

TEST_CASE("syslog: a MAC address is six lower-case hex pairs joined by colons, as CEF's smac expects", "[syslog]") {
  CHECK(mac_text(std::array<uint8_t, 6>{0x00, 0x1b, 0x1b, 0x7c, 0x05, 0xe1}) == "00:1b:1b:7c:05:e1");
  CHECK(mac_text(std::array<uint8_t, 6>{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) == "ff:ff:ff:ff:ff:ff");
  const uint8_t conn_mac[6] = {0xaa, 0xbb, 0xcc, 0x01, 0x02, 0x0a};  // as capture/flow.hpp's Conn keeps it
  CHECK(mac_text(conn_mac) == "aa:bb:cc:01:02:0a");
}
