// One notice as one RFC 5424 syslog message: header, structured data with the sensor id, and the payload
// in the destination's format (CEF, LEEF or JSON); and the RFC 6587 / RFC 5425 octet-counting frame.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "output/notice.hpp"
#include "output/syslog_config.hpp"

namespace ots {

// Who sends: the same for every message of a run.
struct SyslogIdentity {
  std::string hostname;   // HOSTNAME (RFC 5424 section 6.2.4)
  std::string procid;     // PROCID: the sensor's process id
  std::string sensor_id;  // [otsensor@32473 sensor="..."]
  std::string version;    // the product version in CEF and LEEF headers
};

// The SD-ID of our structured data. 32473 is the private enterprise number RFC 5612 reserves for
// documentation; it stands until the project registers its own.
inline constexpr std::string_view kSyslogSdId = "otsensor@32473";

// RFC 5424 severity (table 2) of a notice: low = notice (5), medium = warning (4), high = error (3),
// critical = critical (2).
uint8_t syslog_severity(Severity s);

// The 0..10 scale of CEF's Severity and LEEF's sev: low 3, medium 5, high 8, critical 10.
int siem_severity(Severity s);

// Appends the message (without framing) for notice `n` as notice.log has it (a summary's ts and msg are the
// summary's), `count` its n field (0: none), `suppress_ns` the run's suppression interval.
void format_syslog_message(const SyslogDestination& d, const SyslogIdentity& id, const Notice& n, uint64_t count,
                           uint64_t suppress_ns, std::string& out);

// RFC 3339 in UTC with `digits` (3 or 6) fractional digits, e.g. "2024-03-11T08:00:01.123456Z".
void append_rfc3339(std::string& out, uint64_t ts_ns, int digits);

// "MSG-LEN SP SYSLOG-MSG" (RFC 6587 section 3.4.1, RFC 5425 section 4.3).
void append_octet_counted(std::string& out, std::string_view msg);

// The payloads (output/cef.cpp, output/leef.cpp, syslog_message.cpp).
void append_cef(std::string& out, const Notice& n, uint64_t count, const SyslogIdentity& id);
void append_leef(std::string& out, const Notice& n, uint64_t count, const SyslogIdentity& id);
// notice.log's JSON record (Zeek's JSON writer), without its newline.
void append_notice_json(std::string& out, const Notice& n, uint64_t count, uint64_t suppress_ns);

// CEF and LEEF have no escape for control characters other than CR and LF (CEF): they become spaces.
inline char control_to_space(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c; }

// key=value pairs as CEF's extension and LEEF's attributes are written: `separator` between pairs, each
// value through `escape`; empty values and absent addresses are left out.
class KeyValueWriter {
 public:
  using Escape = void (*)(std::string& out, std::string_view value);
  KeyValueWriter(std::string& out, char separator, Escape escape) : out_(out), separator_(separator), escape_(escape) {}
  void key(std::string_view k);  // the key and '='; the caller appends the value
  void text(std::string_view k, std::string_view v);
  void number(std::string_view k, uint64_t v);
  void addr(std::string_view k, const IpAddr* a);

 private:
  std::string& out_;
  char separator_;
  Escape escape_;
  bool first_ = true;
};

// The hosts and ports a notice is about, for the src/dst/port keys of CEF and LEEF: the connection's
// when there is one, else the notice's src, dst and p.
struct NoticeEndpoints {
  const IpAddr* src = nullptr;
  const IpAddr* dst = nullptr;
  int src_port = -1, dst_port = -1;
  const char* proto = nullptr;  // "TCP", "UDP", "ICMP"
  const std::array<uint8_t, 6>* src_mac = nullptr;  // src's link-layer address (the notice's orig_mac)
};
NoticeEndpoints notice_endpoints(const Notice& n);

}  // namespace ots
