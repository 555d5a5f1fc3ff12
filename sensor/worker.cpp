#include "sensor/worker.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "conduits/site_policy.hpp"
#include "sensor/core_logs.hpp"

namespace ots {

// A connection's analyzers (usually one, chosen by port; a few when ports are ambiguous) and its place in
// the zone model. Allocated once per connection that has either.
struct AppState {
  static constexpr size_t kMax = 4;
  std::unique_ptr<Analyzer> analyzers[kMax];
  uint8_t module[kMax] = {};
  uint8_t count = 0;
  FlowPolicy policy;
};

PipelineLogs PipelineLogs::register_all(LogManager& logs) {
  PipelineLogs ids;
  ids.conn = logs.add(conn_schema());
  ids.conn_long = logs.add(conn_long_schema());
  ids.weird = logs.add(weird_schema());
  ids.notice = logs.add(notice_schema());
  for (const DissectorModule* m : dissector_modules()) {
    std::vector<LogId> mine;
    for (const LogSchema* s : m->logs) mine.push_back(logs.add(*s));
    ids.modules.push_back(std::move(mine));
  }
  ids.assets = logs.add(assets_schema());
  return ids;
}

Worker::Worker(const PipelineConfig& cfg, LogManager& logs, const PipelineLogs& ids, const SitePolicy* policy,
               NoticeOutbox& notices)
    : ids_(ids),
      policy_(policy && policy->enabled() ? policy : nullptr),
      sink_(logs.make_sink()),
      notices_(notices),
      decoder_(cfg.decode),
      assets_(cfg.inventory, this) {
  flows_ = std::make_unique<FlowTable>(cfg.flows, static_cast<FlowEvents&>(*this), static_cast<WeirdSink&>(*this));
  const auto mods = dissector_modules();
  module_ctx_.resize(mods.size());
  for (size_t i = 0; i < mods.size(); ++i) {
    module_ctx_[i] = AnalyzerContext{sink_.get(), this, this, ids_.modules[i].data(), this};
  }
}

Worker::~Worker() = default;

void Worker::process(const PacketView* pkts, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const PacketView& pv = pkts[i];
    ++stats_.packets;
    stats_.bytes += pv.caplen;
    if (decoder_.decode(pv, pkt_, *this) != DecodeResult::Ok) continue;
    flows_->process(pkt_);
  }
}

void Worker::advance(uint64_t now_ns) {
  decoder_.expire(now_ns, *this);
  flows_->advance_time(now_ns);
  notices_.close_tick();
  track_peaks();
}

void Worker::finish() {
  flows_->flush_all();
  notices_.close_tick();
  track_peaks();
  sink_->handoff();
}

void Worker::maybe_handoff() {
  if (sink_->wants_handoff()) sink_->handoff();
}

void Worker::track_peaks() {
  const FlowTable::Stats s = flows_->stats();
  stats_.flows_peak = std::max(stats_.flows_peak, s.active);
  stats_.flow_memory_peak = std::max(stats_.flow_memory_peak, s.memory_bytes);
}

WorkerStats Worker::stats() const {
  WorkerStats s = stats_;
  s.decode = decoder_.stats();
  s.flows = flows_->stats();
  return s;
}

AppState& Worker::app_of(Conn& c) {
  if (!c.app) c.app = new AppState();
  return *c.app;
}

void Worker::on_new_flow(Conn& c, const DecodedPacket& first) {
  const auto mods = dissector_modules();
  AppState* app = nullptr;
  if (policy_) {
    // Classified once, from the first packet; only a protocol confirmation or the flow's end refine it.
    app = &app_of(c);
    app->policy = policy_->classify(c);
    if (is_violation(app->policy.verdict)) flow_notice(c, app->policy, first.ts_ns);
  }
  for (size_t i = 0; i < mods.size(); ++i) {
    const DissectorModule& m = *mods[i];
    std::span<const uint16_t> ports;
    if (c.id.proto == Transport::Tcp) ports = m.tcp_ports;
    else if (c.id.proto == Transport::Udp) ports = m.udp_ports;
    else continue;
    // Zeek selects analyzers by the responder port; a flow picked up midstream may have been flipped by
    // the flow table already, so the responder port is the server's.
    if (std::find(ports.begin(), ports.end(), c.id.resp_p) == ports.end()) continue;
    if (!app) app = &app_of(c);
    if (app->count == AppState::kMax) break;
    app->analyzers[app->count] = m.create(module_ctx_[i], c.id.proto);
    app->module[app->count] = static_cast<uint8_t>(i);
    ++app->count;
  }
  if (app && app->count) c.wants_payload = true;
}

void Worker::on_packet(Conn& c, bool is_orig, const DecodedPacket& p) {
  // The first packet each end sends names a device: one inventory lookup per end and flow, not per packet.
  if ((is_orig ? c.orig : c.resp).pkts == 1) assets_.first_packet(p);
}

void Worker::on_payload(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) {
  AppState* app = c.app;
  if (!app) return;
  bool rejected = false;
  for (uint8_t i = 0; i < app->count; ++i) {
    Analyzer& a = *app->analyzers[i];
    a.data(c, is_orig, data, ts_ns);
    if (a.verdict() == Analyzer::Verdict::Confirmed && !(c.services & (1u << app->module[i]))) {
      c.services |= 1u << app->module[i];
      assets_.service_confirmed(c, app->module[i], ts_ns);
      // A flow is an ICS protocol when its payload parses as one: the policy learns it now.
      const Protocol proto = dissector_modules()[app->module[i]]->protocol;
      if (policy_ && policy_->set_protocol(app->policy, proto) && is_violation(app->policy.verdict)) {
        flow_notice(c, app->policy, ts_ns);
      }
    }
    rejected |= a.verdict() == Analyzer::Verdict::Rejected;
  }
  if (rejected) drop_rejected(c);
}

void Worker::on_gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) {
  AppState* app = c.app;
  if (!app) return;
  for (uint8_t i = 0; i < app->count; ++i) app->analyzers[i]->gap(c, is_orig, len, ts_ns);
}

// Analyzers that decided the flow is not their protocol are detached; with none left the flow table
// stops reassembling (Zeek's DPD removes a violating analyzer the same way).
void Worker::drop_rejected(Conn& c) {
  AppState* app = c.app;
  uint8_t kept = 0;
  for (uint8_t i = 0; i < app->count; ++i) {
    if (app->analyzers[i]->verdict() == Analyzer::Verdict::Rejected) {
      app->analyzers[i].reset();
      continue;
    }
    if (kept != i) {
      app->analyzers[kept] = std::move(app->analyzers[i]);
      app->module[kept] = app->module[i];
    }
    ++kept;
  }
  app->count = kept;
  if (kept == 0) {
    c.wants_payload = false;
    if (!policy_) {  // with a zone model the state stays: it holds the flow's policy
      delete app;
      c.app = nullptr;
    }
  }
}

ConnZones Worker::zones_of(const Conn& c) const {
  if (!policy_ || !c.app) return {};
  const FlowPolicy& fp = c.app->policy;
  return {policy_->zone_name(fp.zone_orig), policy_->zone_name(fp.zone_resp), policy_->conduit_name(fp.conduit)};
}

void Worker::on_interim(Conn& c, uint64_t now_ns) {
  assets_.flow_seen(c);
  write_conn_interim(*sink_, ids_.conn_long, c, zones_of(c), now_ns);
}

void Worker::on_flow_end(Conn& c, FlowEnd why) {
  (void)why;
  if (AppState* app = c.app) {
    for (uint8_t i = 0; i < app->count; ++i) app->analyzers[i]->end(c, c.last_ts_ns);
    // A flow still waiting for its protocol to be confirmed is decided now.
    if (policy_ && policy_->settle(app->policy, c) && is_violation(app->policy.verdict)) {
      flow_notice(c, app->policy, c.last_ts_ns);
    }
  }
  assets_.flow_seen(c);
  write_conn(*sink_, ids_.conn, c, zones_of(c));
  delete c.app;
  c.app = nullptr;
}

void Worker::flow_notice(const Conn& c, const FlowPolicy& fp, uint64_t ts_ns) {
  Notice n;
  n.ts_ns = ts_ns;
  n.note = notice_note(fp.verdict);
  n.uid = c.uid;
  n.has_conn = true;
  n.id = c.id;
  n.has_p = true;
  n.p = c.id.resp_p;
  n.zone_orig = policy_->zone_name(fp.zone_orig);
  n.zone_resp = policy_->zone_name(fp.zone_resp);
  n.conduit = policy_->conduit_name(fp.conduit);
  if (fp.protocol != FlowPolicy::kNoProtocol) n.protocol = protocol_name(static_cast<Protocol>(fp.protocol));
  const std::string orig = c.id.orig_h.to_string(), resp = c.id.resp_h.to_string();
  const auto zone_text = [&](int16_t z) {
    if (z < 0) return std::string("no zone");
    return fmt::format("zone {} (SL {})", policy_->zone_name(z), policy_->zones()[z].security_level);
  };
  const std::string what = fmt::format("{} {}/{}", n.protocol.empty() ? "traffic" : std::string(n.protocol),
                                       c.id.resp_p, transport_name(c.id.proto));
  switch (fp.verdict) {
    case FlowVerdict::UnknownHost: {
      // One notice per unknown address (per suppression window): src names it, dst is left out. When
      // both ends are unknown, the responder gets its own notice too.
      const bool orig_unknown = fp.unknown & FlowPolicy::kOrig;
      if (orig_unknown && (fp.unknown & FlowPolicy::kResp)) {
        FlowPolicy resp_only = fp;
        resp_only.unknown = FlowPolicy::kResp;
        flow_notice(c, resp_only, ts_ns);
      }
      n.has_src = true;
      n.src = orig_unknown ? c.id.orig_h : c.id.resp_h;
      n.msg = fmt::format("{} is in no zone of the site model but talks to {}", orig_unknown ? orig : resp,
                          orig_unknown ? resp : orig);
      n.sub = fmt::format("{} from {} to {}", what, orig, resp);
      n.severity = Severity::Medium;
      break;
    }
    case FlowVerdict::IntraZoneDenied:
      n.msg = fmt::format("{} between {} and {} inside {}, which denies traffic between its hosts", what, orig, resp,
                          zone_text(fp.zone_orig));
      n.severity = Severity::Medium;
      break;
    case FlowVerdict::NoConduit:
      n.msg = fmt::format("{} from {} in {} to {} in {} crosses no declared conduit", what, orig,
                          zone_text(fp.zone_orig), resp, zone_text(fp.zone_resp));
      n.severity = Severity::High;
      break;
    case FlowVerdict::ProtocolNotAllowed:
      n.msg = fmt::format("conduit {} does not allow {} from {} to {}", n.conduit, what, orig, resp);
      n.severity = Severity::High;
      break;
    case FlowVerdict::WrongInitiator:
      n.msg = fmt::format("{} on conduit {} was initiated by {} in {}, but only the other zone may initiate it",
                          what, n.conduit, orig, zone_text(fp.zone_orig));
      n.severity = Severity::High;
      break;
    default:
      return;
  }
  if (!n.has_src) {
    n.has_src = n.has_dst = true;
    n.src = c.id.orig_h;
    n.dst = c.id.resp_h;
  }
  if (n.sub.empty()) n.sub = std::string(verdict_name(fp.verdict));
  raise(std::move(n));
}

// Suppression is the notice stage's: a notice keyed by one address can come from flows on any worker.
void Worker::raise(Notice&& n) {
  ++stats_.notices;
  const uint64_t key = notice_key(n);
  notices_.put(RaisedNotice{std::move(n), key});
}

void Worker::weird(const WeirdEvent& ev) {
  ++stats_.weirds;
  write_weird(*sink_, ids_.weird, ev);
}

void Worker::on_identity(const DeviceIdentity& id) { assets_.identity(id); }

void Worker::on_operation(const OperationEvent& ev) {
  ++stats_.operations;
  if (!policy_ || !ev.conn || !ev.conn->app) return;
  const Conn& c = *ev.conn;
  FlowPolicy& fp = c.app->policy;
  // The event proves the protocol even when it comes before the analyzer's confirmation is seen.
  if (policy_->set_protocol(fp, ev.protocol) && is_violation(fp.verdict)) flow_notice(c, fp, ev.ts_ns);
  if (policy_->check_operation(fp, ev)) return;
  Notice n;
  n.ts_ns = ev.ts_ns;
  n.note = kOperationNotAllowedNote;
  n.uid = c.uid;
  n.has_conn = true;
  n.id = c.id;
  n.has_src = n.has_dst = n.has_p = true;
  n.src = c.id.orig_h;
  n.dst = c.id.resp_h;
  n.p = c.id.resp_p;
  n.zone_orig = policy_->zone_name(fp.zone_orig);
  n.zone_resp = policy_->zone_name(fp.zone_resp);
  n.conduit = policy_->conduit_name(fp.conduit);
  n.protocol = protocol_name(ev.protocol);
  n.operation = ev.name;
  n.severity = ev.op_class == OpClass::Control ? Severity::Critical : Severity::High;
  n.msg = fmt::format("{} {} from {} (zone {}) to {} (zone {}) is not allowed by conduit {}", n.protocol, ev.name,
                      c.id.orig_h.to_string(), n.zone_orig, c.id.resp_h.to_string(), n.zone_resp, n.conduit);
  n.sub = fmt::format("code {}{}{}", ev.code, ev.unit >= 0 ? fmt::format(" unit {}", ev.unit) : std::string(),
                      ev.address >= 0 ? fmt::format(" address {}", ev.address) : std::string());
  raise(std::move(n));
}

}  // namespace ots
