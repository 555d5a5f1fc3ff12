#include "output/syslog_message.hpp"

#include <fmt/format.h>

#include "output/log_format.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

// HOSTNAME, APP-NAME, PROCID and MSGID are 1*N PRINTUSASCII (RFC 5424 section 6); NILVALUE when empty.
void append_header_field(std::string& out, std::string_view s, size_t max) {
  size_t n = 0;
  for (const char c : s) {
    if (n == max) break;
    out.push_back(c >= 33 && c <= 126 ? c : '_');
    ++n;
  }
  if (n == 0) out.push_back('-');
}

// PARAM-VALUE: '"', '\' and ']' are escaped with '\' (RFC 5424 section 6.3.3).
void append_sd_value(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
}

}  // namespace

uint8_t syslog_severity(Severity s) {
  switch (s) {
    case Severity::Low: return 5;
    case Severity::Medium: return 4;
    case Severity::High: return 3;
    case Severity::Critical: return 2;
  }
  return 4;
}

int siem_severity(Severity s) {
  switch (s) {
    case Severity::Low: return 3;
    case Severity::Medium: return 5;
    case Severity::High: return 8;
    case Severity::Critical: return 10;
  }
  return 5;
}

void append_rfc3339(std::string& out, uint64_t ts_ns, int digits) {
  // Arithmetic rather than gmtime_r and fmt: `otsensor sbom query` prints one per row, tens of thousands of
  // rows, and gmtime_r takes the time zone lock while fmt parses its format string every call. Days to the
  // civil date: H. Hinnant's days_from_civil inverse (proleptic Gregorian, as gmtime).
  const uint64_t secs = ts_ns / 1'000'000'000ull;
  const uint64_t z = secs / 86400 + 719468, sod = secs % 86400;
  const uint64_t era = z / 146097, doe = z % 146097;
  const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint64_t mp = (5 * doy + 2) / 153;
  const uint64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  const uint64_t year = yoe + era * 400 + (month <= 2);
  const uint64_t frac_ns = ts_ns % 1'000'000'000ull;
  const uint64_t frac = digits == 3 ? frac_ns / 1'000'000ull : frac_ns / 1'000ull;
  char buf[32];
  char* p = buf;
  const auto put = [&p](uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += width;
  };
  put(year, 4);
  *p++ = '-';
  put(month, 2);
  *p++ = '-';
  put(day, 2);
  *p++ = 'T';
  put(sod / 3600, 2);
  *p++ = ':';
  put(sod / 60 % 60, 2);
  *p++ = ':';
  put(sod % 60, 2);
  *p++ = '.';
  put(frac, digits == 3 ? 3 : 6);
  *p++ = 'Z';
  out.append(buf, static_cast<size_t>(p - buf));
}

void append_octet_counted(std::string& out, std::string_view msg) {
  text::append_u64(out, msg.size());
  out.push_back(' ');
  out.append(msg);
}

void KeyValueWriter::key(std::string_view k) {
  if (!first_) out_.push_back(separator_);
  first_ = false;
  out_.append(k);
  out_.push_back('=');
}

void KeyValueWriter::text(std::string_view k, std::string_view v) {
  if (v.empty()) return;
  key(k);
  escape_(out_, v);
}

void KeyValueWriter::number(std::string_view k, uint64_t v) {
  key(k);
  text::append_u64(out_, v);
}

void KeyValueWriter::addr(std::string_view k, const IpAddr* a) {
  if (!a) return;
  key(k);
  text::append_addr(out_, *a);
}

NoticeEndpoints notice_endpoints(const Notice& n) {
  NoticeEndpoints e;
  if (n.has_orig_mac) e.src_mac = &n.orig_mac;  // the originator's, or src's without a connection, as src
  if (n.has_conn) {
    e.src = &n.id.orig_h;
    e.dst = &n.id.resp_h;
    e.src_port = n.id.orig_p;
    e.dst_port = n.id.resp_p;
    switch (n.id.proto) {
      case Transport::Tcp: e.proto = "TCP"; break;
      case Transport::Udp: e.proto = "UDP"; break;
      case Transport::Icmp:
      case Transport::Icmp6: e.proto = "ICMP"; break;
      default: break;
    }
    return e;
  }
  if (n.has_src) e.src = &n.src;
  if (n.has_dst) e.dst = &n.dst;
  if (n.has_p) e.dst_port = n.p;
  return e;
}

void append_notice_json(std::string& out, const Notice& n, uint64_t count, uint64_t suppress_ns) {
  NoticeRecord rec;
  make_notice_record(n, count, suppress_ns, rec);
  const size_t mark = out.size();
  format_json(notice_schema(), rec.values, out);
  if (out.size() > mark && out.back() == '\n') out.pop_back();
}

void format_syslog_message(const SyslogDestination& d, const SyslogIdentity& id, const Notice& n, uint64_t count,
                           uint64_t suppress_ns, std::string& out) {
  out.push_back('<');
  text::append_u64(out, uint64_t{d.facility} * 8 + syslog_severity(n.severity));
  out.append(">1 ");
  append_rfc3339(out, n.ts_ns, 6);
  out.push_back(' ');
  append_header_field(out, id.hostname, 255);
  out.push_back(' ');
  append_header_field(out, d.app_name, 48);
  out.push_back(' ');
  append_header_field(out, id.procid, 128);
  out.push_back(' ');
  append_header_field(out, n.note, 32);
  out.append(" [");
  out.append(kSyslogSdId);
  out.append(" sensor=\"");
  append_sd_value(out, id.sensor_id);
  out.append("\"] ");
  // MSG without a BOM (RFC 5424 MSG-ANY): SIEM parsers of CEF and LEEF expect the payload's first bytes.
  switch (d.format) {
    case SyslogFormat::Cef: append_cef(out, n, count, id); break;
    case SyslogFormat::Leef: append_leef(out, n, count, id); break;
    case SyslogFormat::Json: append_notice_json(out, n, count, suppress_ns); break;
  }
}

}  // namespace ots
