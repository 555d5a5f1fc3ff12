#include "rules/rule_notice.hpp"

#include <fmt/format.h>

namespace ots::rules {

void fill_rule_notice(const Rule& r, const Conn& c, const OperationEvent* ev, uint64_t ts_ns, Notice& n) {
  n.ts_ns = ts_ns;
  n.note = kRuleMatchNote;
  set_notice_conn(n, c);
  n.protocol = rule_protocol_name(r.protocol);
  if (ev) {
    n.protocol = protocol_name(ev->protocol);
    n.operation = ev->name;
  }
  n.severity = r.severity;
  n.rule_id = r.id;
  n.mitre = r.mitre_text;
  const std::string orig = c.id().orig_h.to_string(), resp = c.id().resp_h.to_string();
  n.msg = fmt::format("rule {} \"{}\": {}{}{} from {} to {}", r.id, r.name, n.protocol, ev ? " " : "",
                      ev ? ev->name : std::string_view(), orig, resp);
  if (ev) {
    n.sub = fmt::format("code {}", ev->code);
    if (ev->subfunction >= 0) n.sub += fmt::format(" subfunction {}", ev->subfunction);
    if (ev->unit >= 0) n.sub += fmt::format(" unit {}", ev->unit);
    if (ev->address >= 0) n.sub += fmt::format(" address {}", ev->address);
    if (ev->quantity >= 0) n.sub += fmt::format(" quantity {}", ev->quantity);
  } else {
    n.sub = fmt::format("{} datagram {} {}/udp", rule_protocol_name(r.protocol), c.orig_p() == port_only_udp_port(r.protocol) ? "from" : "to",
                        port_only_udp_port(r.protocol));
  }
}

void fill_rule_stream_notice(const Rule& r, const Conn& c, const StreamHit& hit, uint64_t ts_ns, Notice& n) {
  fill_rule_notice(r, c, nullptr, ts_ns, n);
  n.sub = fmt::format("{} stream {}, all patterns within its first {} bytes", n.protocol,
                      hit.to_server ? "to_server" : "to_client", hit.scanned);
}

}  // namespace ots::rules
