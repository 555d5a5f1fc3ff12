// ArcSight Common Event Format (CEF) 0 for notices:
//   CEF:0|otsensor|otsensor|VERSION|NOTE|MSG|SEVERITY|EXTENSION
// Header fields escape '\' and '|'; extension values escape '\', '=', CR and LF (the CEF implementation
// standard). Standard keys where CEF has one (rt, src, dst, spt, dpt, proto, smac, act, msg, cnt, externalId,
// cat, outcome, deviceExternalId, dvchost), labelled custom strings (cs1-cs6, cn1, flexString1-2) for ours.
#include <fmt/format.h>

#include "output/syslog_message.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

// Control characters other than CR and LF have no CEF escape: they become spaces.
void append_cef_header(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (c == '\\' || c == '|') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      out.push_back(control_to_space(c));
    }
  }
  out.push_back('|');
}

void append_cef_value(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '=': out.append("\\="); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      default: out.push_back(control_to_space(c));
    }
  }
}

// csN / cnN / flexStringN with its label.
void labelled(KeyValueWriter& x, std::string_view k, std::string_view label, std::string_view v) {
  if (v.empty()) return;
  x.text(fmt::format("{}Label", k), label);
  x.text(k, v);
}

}  // namespace

void append_cef(std::string& out, const Notice& n, uint64_t count, const SyslogIdentity& id) {
  out.append("CEF:0|");
  for (const std::string_view f : {std::string_view("otsensor"), std::string_view("otsensor"),
                                   std::string_view(id.version), n.note, std::string_view(n.msg)})
    append_cef_header(out, f);
  text::append_u64(out, static_cast<uint64_t>(siem_severity(n.severity)));
  out.push_back('|');
  KeyValueWriter x(out, ' ', &append_cef_value);
  x.number("rt", n.ts_ns / 1'000'000ull);
  const NoticeEndpoints e = notice_endpoints(n);
  x.addr("src", e.src);
  x.addr("dst", e.dst);
  if (e.src_port >= 0) x.number("spt", static_cast<uint64_t>(e.src_port));
  if (e.dst_port >= 0) x.number("dpt", static_cast<uint64_t>(e.dst_port));
  if (e.proto) x.text("proto", e.proto);
  if (e.src_mac) x.text("smac", mac_text(*e.src_mac));
  // The sensor is passive: it logs; it never blocks.
  x.text("act", "log");
  x.text("msg", n.sub);
  if (count) x.number("cnt", count);
  if (n.uid.is_set()) x.text("externalId", n.uid.text().view());
  if (const size_t ns = n.note.find("::"); ns != std::string_view::npos) x.text("cat", n.note.substr(0, ns));
  // cs1-cs6 carry the six columns a SOC filters OT notices by, in this order: zone,
  // conduit, protocol, operation, device_id, verdict. A notice has two zones: the originator's is cs1
  // (where the traffic or the device comes from), the responder's goes to flexString2. The verdict is also
  // CEF's standard `outcome`, which SIEMs map to their own outcome field without a custom-string mapping.
  labelled(x, "cs1", "zone_orig", n.zone_orig);
  labelled(x, "cs2", "conduit", n.conduit);
  labelled(x, "cs3", "protocol", n.protocol);
  labelled(x, "cs4", "operation", n.operation);
  labelled(x, "cs5", "device_id", n.device_id);
  labelled(x, "cs6", "verdict", n.verdict);
  x.text("outcome", n.verdict);
  if (n.rule_id) labelled(x, "cn1", "rule_id", std::to_string(n.rule_id));
  labelled(x, "flexString1", "mitre", n.mitre);
  labelled(x, "flexString2", "zone_resp", n.zone_resp);
  x.text("deviceExternalId", id.sensor_id);
  x.text("dvchost", id.hostname);
}

}  // namespace ots
