// IBM QRadar Log Event Extended Format (LEEF) 2.0 for notices:
//   LEEF:2.0|otsensor|otsensor|VERSION|NOTE|x09|key=value<TAB>key=value...
// The attribute delimiter is TAB, declared in hex as LEEF 2.0 allows. LEEF has no escapes: TAB, CR and
// LF inside a value (and '|' inside a header field) become spaces. Predefined keys where LEEF has one
// (cat, devTime, sev, src, dst, srcPort, dstPort, proto, srcMAC), notice.log's column names for the rest.
#include "output/syslog_message.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

void append_leef_header(std::string& out, std::string_view s) {
  for (const char c : s) out.push_back(c == '|' ? ' ' : control_to_space(c));
  out.push_back('|');
}

void append_leef_value(std::string& out, std::string_view v) {
  for (const char c : v) out.push_back(control_to_space(c));
}

}  // namespace

void append_leef(std::string& out, const Notice& n, uint64_t count, const SyslogIdentity& id) {
  out.append("LEEF:2.0|");
  for (const std::string_view f : {std::string_view("otsensor"), std::string_view("otsensor"),
                                   std::string_view(id.version), n.note})
    append_leef_header(out, f);
  out.append("x09|");
  KeyValueWriter a(out, '\t', &append_leef_value);
  if (const size_t ns = n.note.find("::"); ns != std::string_view::npos) a.text("cat", n.note.substr(0, ns));
  a.key("devTime");
  append_rfc3339(out, n.ts_ns, 3);
  // Java's SimpleDateFormat, which QRadar applies: XXX reads the 'Z' of UTC.
  a.text("devTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
  a.number("sev", static_cast<uint64_t>(siem_severity(n.severity)));
  const NoticeEndpoints e = notice_endpoints(n);
  a.addr("src", e.src);
  a.addr("dst", e.dst);
  if (e.src_port >= 0) a.number("srcPort", static_cast<uint64_t>(e.src_port));
  if (e.dst_port >= 0) a.number("dstPort", static_cast<uint64_t>(e.dst_port));
  if (e.proto) a.text("proto", e.proto);
  if (e.src_mac) a.text("srcMAC", mac_text(*e.src_mac));
  a.text("msg", n.msg);
  a.text("sub", n.sub);
  if (n.uid.is_set()) a.text("uid", n.uid.text().view());
  if (count) a.number("n", count);
  a.text("zone_orig", n.zone_orig);
  a.text("zone_resp", n.zone_resp);
  a.text("conduit", n.conduit);
  a.text("protocol", n.protocol);
  a.text("operation", n.operation);
  a.text("device_id", n.device_id);
  a.text("verdict", n.verdict);
  if (n.rule_id) a.number("rule_id", n.rule_id);
  a.text("mitre", n.mitre);
  a.text("sensor", id.sensor_id);
}

}  // namespace ots
