#include "sensor/core_logs.hpp"

#include <array>
#include <string>

#include "dissectors/analyzer.hpp"

namespace ots {

namespace {

using F = FieldType;

// Zeek's conn_id columns, shared by every log that carries one.
#define OTS_CONN_ID_FIELDS \
  {"id.orig_h", F::Addr}, {"id.orig_p", F::Port}, {"id.resp_h", F::Addr}, { "id.resp_p", F::Port }

LogSchema make_conn_schema(std::string_view path) {
  return LogSchema{path,
                   {{"ts", F::Time},
                    {"uid", F::String},
                    OTS_CONN_ID_FIELDS,
                    {"proto", F::Enum},
                    {"service", F::String},
                    {"duration", F::Interval},
                    {"orig_bytes", F::Count},
                    {"resp_bytes", F::Count},
                    {"conn_state", F::String},
                    {"local_orig", F::Bool},
                    {"local_resp", F::Bool},
                    {"missed_bytes", F::Count},
                    {"history", F::String},
                    {"orig_pkts", F::Count},
                    {"orig_ip_bytes", F::Count},
                    {"resp_pkts", F::Count},
                    {"resp_ip_bytes", F::Count},
                    {"tunnel_parents", F::SetString},
                    {"ip_proto", F::Count},
                    // Our extension columns, after Zeek's (issue 5): where the zone model places the flow.
                    {"zone_orig", F::String},
                    {"zone_resp", F::String},
                    {"conduit", F::String}}};
}

// Fills the 25 conn.log columns (Zeek's 22, then the zone columns). `end_ns` is the last packet (final record) or now (interim record).
void write_conn_columns(LogSink& sink, LogId log, const Conn& c, const ConnZones& z, uint64_t end_ns) {
  if (!sink.enabled(log)) return;
  const Uid u = c.uid();  // hashed from the key each time it is asked for: once here
  const std::string uid = u.to_string();
  const ConnId id = c.id();
  const HistoryText history = c.history();
  std::string service;
  services_text(c.services, service);
  // Zeek's set_conn() writes duration, orig_bytes and resp_bytes only when the duration is positive:
  // a single-packet connection shows "-" in all three.
  const int64_t duration = static_cast<int64_t>(end_ns - c.first_ts_ns);
  const bool sized = duration > 0;
  const auto opt = [](std::string_view t) { return t.empty() ? Value{Unset{}} : Value{t}; };
  std::array<Value, 25> v = {
      Value{c.first_ts_ns},
      Value{std::string_view(uid)},
      Value{id.orig_h},
      Value{uint64_t{id.orig_p}},
      Value{id.resp_h},
      Value{uint64_t{id.resp_p}},
      Value{std::string_view(transport_name(id.proto))},
      service.empty() ? Value{Unset{}} : Value{std::string_view(service)},
      sized ? Value{duration} : Value{Unset{}},
      sized ? Value{c.orig.bytes} : Value{Unset{}},
      sized ? Value{c.resp.bytes} : Value{Unset{}},
      Value{std::string_view(c.conn_state())},
      Value{Unset{}},  // local_orig: needs Site::local_nets; the zone model decides "local" (issue 5)
      Value{Unset{}},  // local_resp
      Value{c.missed_bytes},
      // Zeek's set_conn() sets history only when it is not empty.
      history.empty() ? Value{Unset{}} : Value{history.view()},
      Value{c.orig.pkts},
      Value{c.orig.ip_bytes},
      Value{c.resp.pkts},
      Value{c.resp.ip_bytes},
      Value{Unset{}},  // tunnel_parents: we do not decapsulate tunnels
      Value{uint64_t{c.ip_proto}},
      opt(z.orig),
      opt(z.resp),
      opt(z.conduit),
  };
  sink.write(log, c.first_ts_ns, u, v);
}

}  // namespace

const LogSchema& conn_schema() {
  static const LogSchema s = make_conn_schema("conn");
  return s;
}

const LogSchema& conn_long_schema() {
  static const LogSchema s = make_conn_schema("conn_long");
  return s;
}

const LogSchema& weird_schema() {
  static const LogSchema s{"weird",
                           {{"ts", F::Time},
                            {"uid", F::String},
                            OTS_CONN_ID_FIELDS,
                            {"name", F::String},
                            {"addl", F::String},
                            {"notice", F::Bool},
                            {"peer", F::String},
                            {"source", F::String}}};
  return s;
}

void services_text(uint32_t services, std::string& out) {
  const auto mods = dissector_modules();
  for (size_t i = 0; i < mods.size() && i < 32; ++i) {
    if (services & (1u << i)) {
      if (!out.empty()) out.push_back(',');
      out.append(mods[i]->service);
    }
  }
}

void write_conn(LogSink& sink, LogId log, const Conn& c, const ConnZones& z) {
  write_conn_columns(sink, log, c, z, c.last_ts_ns);
}

void write_conn_interim(LogSink& sink, LogId log, const Conn& c, const ConnZones& z, uint64_t now_ns) {
  write_conn_columns(sink, log, c, z, now_ns > c.last_ts_ns ? now_ns : c.last_ts_ns);
}

void write_weird(LogSink& sink, LogId log, const WeirdEvent& ev, UidTextCache& uids) {
  if (!sink.enabled(log)) return;
  const std::string_view uid = ev.uid.is_set() ? uids.get(ev.uid) : std::string_view();
  const bool ids = ev.uid.is_set() || ev.has_addrs;
  std::array<Value, 11> v = {
      Value{ev.ts_ns},
      uid.empty() ? Value{Unset{}} : Value{uid},
      ids ? Value{ev.id.orig_h} : Value{Unset{}},
      ids ? Value{uint64_t{ev.id.orig_p}} : Value{Unset{}},
      ids ? Value{ev.id.resp_h} : Value{Unset{}},
      ids ? Value{uint64_t{ev.id.resp_p}} : Value{Unset{}},
      Value{ev.name},
      ev.addl.empty() ? Value{Unset{}} : Value{std::string_view(ev.addl)},
      Value{false},  // notice: weird-to-notice escalation is not configured
      Value{std::string_view("otsensor")},  // peer: Zeek's cluster node name; ours is the sensor
      ev.source.empty() ? Value{Unset{}} : Value{ev.source},
  };
  sink.write(log, ev.ts_ns, ev.uid, v);
}

}  // namespace ots
