#include "sensor/worker.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "conduits/site_policy.hpp"
#include "rules/rule_database.hpp"
#include "rules/rule_matcher.hpp"
#include "rules/rule_notice.hpp"
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
  // A port-only rule protocol (rules::RuleProtocol, e.g. TriStation on UDP 1502) whose rules see this
  // flow's datagrams; Count_ when none.
  uint8_t port_rules = static_cast<uint8_t>(rules::RuleProtocol::Count_);
  // Stream rules: whether an analyzer's protocol has some (a TCP flow), and the flow's open streams in
  // the worker's matcher.
  bool streamed = false;
  rules::FlowStreams streams;
  // The worker's list of every AppState, so that a reloaded site model reaches each tracked flow.
  Conn* conn = nullptr;
  AppState** head = nullptr;
  AppState* prev = nullptr;
  AppState* next = nullptr;

  AppState(Conn& c, AppState*& list) : conn(&c), head(&list), next(list) {
    if (next) next->prev = this;
    list = this;
  }
  ~AppState() {
    if (prev) prev->next = next;
    else *head = next;
    if (next) next->prev = prev;
  }
  AppState(const AppState&) = delete;
  AppState& operator=(const AppState&) = delete;
};

namespace {

// A UDP flow on the port of a protocol the rules know by port only (TriStation's 1502).
bool on_port_only_port(const Conn& c) {
  if (c.proto() != Transport::Udp) return false;
  for (size_t p = 0; p < rules::kRuleProtocols; ++p) {
    const uint16_t port = rules::port_only_udp_port(static_cast<rules::RuleProtocol>(p));
    if (port && (c.resp_p() == port || c.orig_p() == port)) return true;
  }
  return false;
}

rules::FlowZones policy_zones(const FlowPolicy& fp) { return {fp.zone_orig, fp.zone_resp, fp.conduit}; }

}  // namespace

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
  ids.attest = logs.add(attest_schema());
  return ids;
}

Worker::Worker(const PipelineConfig& cfg, LogManager& logs, const PipelineLogs& ids, const SitePolicy* policy,
               NoticeOutbox& notices, const rules::RuleDatabase* rules, AttestTap attest)
    : ids_(ids),
      policy_(policy && policy->enabled() ? policy : nullptr),
      sink_(logs.make_sink()),
      weird_filter_(cfg.weirds),
      notices_(notices),
      attest_(attest),
      attesting_(attest.outbox && attest.enabled),
      aqat_port_(attest.outbox ? attest.port : attest::kDefaultPort),
      decode_config_(cfg.decode),
      decoder_(cfg.decode),
      assets_(cfg.inventory, this) {
  flows_ = std::make_unique<FlowTable>(cfg.flows, static_cast<FlowEvents&>(*this), static_cast<WeirdSink&>(*this));
  const auto mods = dissector_modules();
  module_ctx_.resize(mods.size());
  for (size_t i = 0; i < mods.size(); ++i) {
    module_ctx_[i] = AnalyzerContext{sink_.get(), this, this, ids_.modules[i].data(), this};
  }
  if (rules && !rules->rules().empty()) {
    rules_ = rules;
    matcher_ = std::make_unique<rules::RuleMatcher>(*rules);
    ops_consumers_ = true;
  }
  stream_limits_ = cfg.rule_streams;
  if (matcher_) matcher_->set_stream_limits(stream_limits_);
  refresh_consumers();
}

// An analyzer's work after it has confirmed its protocol feeds its own logs, weird.log, the zone policy
// and rules (operations) and assets.log (device identities). When none of them is on (`--logs conn`),
// confirmation is all conn.log needs (its service column): the analyzer is then detached and the flow
// table stops delivering payload, as Zeek does not run analyzers whose events nobody handles.
void Worker::refresh_consumers() {
  // Attestation needs the OT protocols confirmed only, which happens before an analyzer retires.
  const bool shared = policy_ || sink_->enabled(ids_.weird) || sink_->enabled(ids_.assets) || ops_consumers_;
  module_needed_.assign(module_ctx_.size(), shared);
  wants_events_ = policy_ != nullptr || matcher_ != nullptr;  // what on_operation reads besides the counter
  for (size_t i = 0; i < module_ctx_.size(); ++i) {
    for (const LogId id : ids_.modules[i]) module_needed_[i] = module_needed_[i] || sink_->enabled(id);
  }
}

Worker::~Worker() = default;

void Worker::process(const PacketView* pkts, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const PacketView& pv = pkts[i];
    count(pv.caplen);
    if (decoder_.decode(pv, pkt_, *this) != DecodeResult::Ok) continue;
    flows_->process(pkt_);
  }
}

void Worker::process_decoded(const DecodedPacket& p, uint32_t caplen) {
  count(caplen);
  flows_->process(p);
}

void Worker::advance(uint64_t now_ns) {
  if (!decoded_elsewhere_) decoder_.expire(now_ns, *this);  // else the dispatcher's decoder expires
  flows_->advance_time(now_ns);
  weird_filter_.expire(now_ns);
  notices_.close_tick();
  if (attest_.outbox) attest_.outbox->close_tick();
  track_peaks();
}

void Worker::finish() {
  flows_->flush_all();
  notices_.close_tick();
  if (attest_.outbox) attest_.outbox->close_tick();
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

void Worker::set_policy(const SitePolicy* policy, uint64_t now_ns) {
  policy_ = policy && policy->enabled() ? policy : nullptr;
  refresh_consumers();
  for (AppState* app = apps_; app; app = app->next) {
    if (!policy_) {
      app->policy = FlowPolicy{};
      continue;
    }
    const FlowVerdict before = app->policy.verdict;
    const uint8_t proto = app->policy.protocol;
    app->policy = policy_->classify(*app->conn);
    if (proto != FlowPolicy::kNoProtocol) policy_->set_protocol(app->policy, static_cast<Protocol>(proto));
    if (app->policy.verdict != before && is_violation(app->policy.verdict)) {
      flow_notice(*app->conn, app->policy, now_ns);
    }
  }
}

void Worker::set_rules(const rules::RuleDatabase* rules, std::unique_ptr<rules::RuleMatcher> matcher) {
  // A stream's state belongs to the database it was opened with: none goes on under the new rules, and
  // the new rules' streams start at the next bytes. A pattern that straddles the swap is seen by neither
  // set, nor is an end-of-stream (`$`) match pending at it (docs/RULES.md, "Reloading").
  if (matcher_) {
    for (AppState* app = apps_; app; app = app->next) {
      if (!app->streams.empty()) close_rule_streams(*app->conn, rules::RuleProtocol::Count_, app->conn->last_ts_ns, true);
    }
    stream_stats_before_ += matcher_->stream_stats();
  }
  const bool any = rules && matcher && !rules->rules().empty();
  rules_ = any ? rules : nullptr;
  matcher_ = any ? std::move(matcher) : nullptr;
  if (matcher_) matcher_->set_stream_limits(stream_limits_);
  ops_consumers_ = any;
  refresh_consumers();
  constexpr auto kNone = static_cast<uint8_t>(rules::RuleProtocol::Count_);
  for (AppState* app = apps_; app; app = app->next) {
    const uint8_t was = app->port_rules;
    app->port_rules = port_rules_of(*app->conn);
    if (app->port_rules != was) app->conn->wants_payload = app->count || app->port_rules != kNone;
    app->streamed = streamed(*app->conn);
  }
}

void Worker::set_attestation(bool on, uint16_t port) {
  attesting_ = on && attest_.outbox;
  aqat_port_ = port;
}

WorkerStats Worker::stats() const {
  WorkerStats s = stats_;
  s.operations += counted_operations();  // those the analyzers counted without an event (wants_events)
  s.rule_streams = stream_stats_before_;
  if (matcher_) s.rule_streams += matcher_->stream_stats();
  s.decode = decoded_elsewhere_ ? decode_stats_ : decoder_.stats();
  s.flows = flows_->stats();
  s.weird_names = weird_filter_.counts();
  return s;
}

AppState& Worker::app_of(Conn& c) {
  if (!c.app) c.app = new AppState(c, apps_);
  return *c.app;
}

void Worker::on_new_flow(Conn& c, const DecodedPacket& first) {
  switch (c.proto()) {
    case Transport::Tcp: ++stats_.active_tcp, ++stats_.tcp_conns; break;
    case Transport::Udp: ++stats_.active_udp, ++stats_.udp_conns; break;
    case Transport::Icmp:
    case Transport::Icmp6: ++stats_.active_icmp, ++stats_.icmp_conns; break;
    default: break;
  }
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
    if (c.proto() == Transport::Tcp) ports = m.tcp_ports;
    else if (c.proto() == Transport::Udp) ports = m.udp_ports;
    else continue;
    // Zeek selects analyzers by the responder port; a flow picked up midstream may have been flipped by
    // the flow table already, so the responder port is the server's.
    if (std::find(ports.begin(), ports.end(), c.resp_p()) == ports.end()) continue;
    if (!app) app = &app_of(c);
    if (app->count == AppState::kMax) break;
    app->analyzers[app->count] = m.create(module_ctx_[i], c.proto());
    app->module[app->count] = static_cast<uint8_t>(i);
    ++app->count;
  }
  if (const uint8_t rp = port_rules_of(c); rp != static_cast<uint8_t>(rules::RuleProtocol::Count_)) {
    if (!app) app = &app_of(c);
    app->port_rules = rp;
    c.wants_payload = true;
  } else if (!app && on_port_only_port(c)) {
    // No rule watches the port now, but a reload may add one: set_rules() reaches tracked flows
    // through their AppState, which a flow without a model or an analyzer would not have.
    app = &app_of(c);
  }
  if (app && app->count) {
    c.wants_payload = true;
    app->streamed = streamed(c);
  }
}

// Protocols the rules know by port only (no dissector): their datagrams go to the rules.
uint8_t Worker::port_rules_of(const Conn& c) const {
  if (!rules_ || c.proto() != Transport::Udp) return static_cast<uint8_t>(rules::RuleProtocol::Count_);
  rules::RuleProtocol rp = rules_->udp_port_protocol(c.resp_p());
  if (rp == rules::RuleProtocol::Count_) rp = rules_->udp_port_protocol(c.orig_p());
  return static_cast<uint8_t>(rp);
}

// Stream rules see TCP only: a UDP datagram is a message of its own (PDU rules see it whole), and
// concatenating datagrams would make matches depend on their loss and order.
bool Worker::streamed(const Conn& c) const {
  if (!matcher_ || c.proto() != Transport::Tcp || !c.app) return false;
  for (uint8_t i = 0; i < c.app->count; ++i) {
    if (matcher_->has_stream_rules(rules::rule_protocol(dissector_modules()[c.app->module[i]]->protocol))) return true;
  }
  return false;
}

// Every packet comes here: the rare work is in functions called last, so that the common case saves and
// restores no registers (it did, 8 of its 19 instructions, with that work inline; callgrind).
void Worker::on_packet(Conn& c, bool is_orig, const DecodedPacket& p) {
  // The first packet each end sends names a device: one inventory lookup per end and flow, not per packet.
  if ((is_orig ? c.orig : c.resp).pkts == 1) return on_first_packet(c, p);
  if (is_aqat(p)) aqat_datagram(c, p);
}

void Worker::on_first_packet(Conn& c, const DecodedPacket& p) {
  assets_.first_packet(p);
  if (is_aqat(p)) aqat_datagram(c, p);
}

void Worker::aqat_datagram(Conn& c, const DecodedPacket& p) {
  if (attesting_) attest_datagram(c, p);
  // AQAT has no analyzer of its own: its header (magic and version, PROTOCOL.md) confirms the protocol
  // for the zone policy, as a dissector's confirmation does, so conduits can admit `protocol: aqat`.
  if (policy_ && c.app && p.payload.size() >= 5 && std::equal(p.payload.begin(), p.payload.begin() + 4, "AQAT") &&
      p.payload[4] == 1 && policy_->set_protocol(c.app->policy, Protocol::Aqat) &&
      is_violation(c.app->policy.verdict)) {
    flow_notice(c, c.app->policy, p.ts_ns);
  }
}

// The datagram's bytes are copied: the stage verifies them on its own thread, after this burst is gone.
void Worker::attest_datagram(const Conn& c, const DecodedPacket& p) {
  AttestEvent ev;
  ev.kind = AttestEvent::Kind::Datagram;
  ev.seq = attest_seq_++;
  ev.meta.ts_ns = p.ts_ns;
  ev.meta.uid = c.uid();
  ev.meta.src = p.src;
  ev.meta.dst = p.dst;
  ev.meta.src_port = p.sport;
  ev.meta.dst_port = p.dport;
  if (p.src_mac) {
    std::copy(p.src_mac, p.src_mac + 6, ev.meta.src_mac.begin());
    ev.meta.has_src_mac = true;
  }
  ev.payload.assign(p.payload.begin(), p.payload.end());
  attest_.outbox->put(std::move(ev));
}

// Issue 6's unattested_device: every end of a confirmed Modbus/DNP3/EtherNet-IP/CIP/S7 connection that
// lies in a zone requiring attestation. One fact per connection and end; the stage keeps each address's
// earliest (deduplicating here would make the kept connection depend on how flows spread over workers).
void Worker::attest_ot_peers(const Conn& c) {
  const ConnId id = c.id();
  for (const IpAddr* a : {&id.orig_h, &id.resp_h}) {
    const int16_t z = policy_->model().zone_of(*a).zone;
    if (z < 0 || !policy_->zones()[static_cast<size_t>(z)].require_attestation) continue;
    AttestEvent ev;
    ev.kind = AttestEvent::Kind::OtPeer;
    ev.seq = attest_seq_++;
    ev.meta.ts_ns = c.first_ts_ns;
    ev.meta.uid = c.uid();
    ev.addr = *a;
    ev.id = id;
    attest_.outbox->put(std::move(ev));
  }
}

// Every payload comes here (88,000 on mb100k, a capture of 100,000 Modbus/DNP3 packets): the common case,
// one analyzer that is probing or was confirmed before, and no payload rules, calls it and returns; the
// rest is in functions called last, so that the common case saves and restores fewer registers around
// the analyzer's call.
void Worker::on_payload(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) {
  AppState* app = c.app;
  if (!app) return;
  if (app->count != 1 || app->port_rules != static_cast<uint8_t>(rules::RuleProtocol::Count_) || app->streamed) {
    return on_payload_general(c, is_orig, data, ts_ns);
  }
  Analyzer& a = *app->analyzers[0];
  a.data(c, is_orig, data, ts_ns);
  // settle() has nothing to do unless the analyzer confirmed its protocol just now or gave up the flow.
  const Analyzer::Verdict v = a.verdict();
  if (v == Analyzer::Verdict::Probing || (v == Analyzer::Verdict::Confirmed && (c.services & (1u << app->module[0])))) {
    return;
  }
  if (settle(c, 0, ts_ns)) drop_detached(c);
}

void Worker::on_payload_general(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) {
  AppState* app = c.app;
  if (app->port_rules != static_cast<uint8_t>(rules::RuleProtocol::Count_)) match_rules_datagram(c, is_orig, data, ts_ns);
  if (app->streamed) match_rules_stream(c, is_orig, data, ts_ns);
  bool detach = false;
  for (uint8_t i = 0; i < app->count; ++i) {
    app->analyzers[i]->data(c, is_orig, data, ts_ns);
    detach |= settle(c, i, ts_ns);
  }
  if (detach) drop_detached(c);
}

// After analyzer i saw a payload: a protocol confirmed for the first time is a service of the flow (and
// tells the zone policy). True when the analyzer rejected the flow or retired: it is to be detached.
bool Worker::settle(Conn& c, uint8_t i, uint64_t ts_ns) {
  AppState* app = c.app;
  Analyzer& a = *app->analyzers[i];
  if (a.verdict() == Analyzer::Verdict::Confirmed && !(c.services & (1u << app->module[i]))) {
    const bool first_service = c.services == 0;
    c.services = static_cast<uint16_t>(c.services | 1u << app->module[i]);
    if (first_service && attesting_ && policy_) attest_ot_peers(c);
    if (!module_needed_[app->module[i]]) a.retire();
    assets_.service_confirmed(c, app->module[i], ts_ns);
    // A flow is an ICS protocol when its payload parses as one: the policy learns it now.
    const Protocol proto = dissector_modules()[app->module[i]]->protocol;
    if (policy_ && policy_->set_protocol(app->policy, proto) && is_violation(app->policy.verdict)) {
      flow_notice(c, app->policy, ts_ns);
    }
  }
  return a.verdict() == Analyzer::Verdict::Rejected || a.verdict() == Analyzer::Verdict::Retired;
}

void Worker::on_gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) {
  AppState* app = c.app;
  if (!app) return;
  if (app->streamed) matcher_->stream_gap(app->streams, is_orig);
  for (uint8_t i = 0; i < app->count; ++i) app->analyzers[i]->gap(c, is_orig, len, ts_ns);
}

// Analyzers that decided the flow is not their protocol (or retired) are detached; with none left the
// flow table stops reassembling (Zeek's DPD removes a violating analyzer the same way).
void Worker::drop_detached(Conn& c) {
  AppState* app = c.app;
  uint8_t kept = 0;
  for (uint8_t i = 0; i < app->count; ++i) {
    const Analyzer::Verdict v = app->analyzers[i]->verdict();
    if (v == Analyzer::Verdict::Rejected || v == Analyzer::Verdict::Retired) {
      // Its protocol's streams end with it: the flow's bytes are not that protocol's (or no longer
      // wanted).
      if (!app->streams.empty()) {
        close_rule_streams(c, rules::rule_protocol(dissector_modules()[app->module[i]]->protocol), c.last_ts_ns);
      }
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
  app->streamed = streamed(c);
  if (kept == 0 && app->port_rules == static_cast<uint8_t>(rules::RuleProtocol::Count_)) {
    c.wants_payload = false;
    // With a zone model the state stays: it holds the flow's policy; on a port-only protocol's port it
    // is what a reload that adds rules for the protocol finds.
    if (!policy_ && !on_port_only_port(c)) {
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

// Every notice about a flow carries the names of its zones and conduit, whichever check raised it.
void Worker::set_notice_zones(Notice& n, const rules::FlowZones& z) const {
  if (!policy_) return;
  n.zone_orig = policy_->zone_name(z.orig);
  n.zone_resp = policy_->zone_name(z.resp);
  n.conduit = policy_->conduit_name(z.conduit);
}

void Worker::on_interim(Conn& c, uint64_t now_ns) {
  assets_.flow_seen(c);
  write_conn_interim(*sink_, ids_.conn_long, c, zones_of(c), now_ns);
}

void Worker::on_flow_end(Conn& c, FlowEnd why) {
  (void)why;
  switch (c.proto()) {
    case Transport::Tcp: --stats_.active_tcp; break;
    case Transport::Udp: --stats_.active_udp; break;
    case Transport::Icmp:
    case Transport::Icmp6: --stats_.active_icmp; break;
    default: break;
  }
  if (AppState* app = c.app) {
    for (uint8_t i = 0; i < app->count; ++i) app->analyzers[i]->end(c, c.last_ts_ns);
    if (!app->streams.empty()) close_rule_streams(c, rules::RuleProtocol::Count_, c.last_ts_ns);
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
  set_notice_conn(n, c);
  n.has_src = n.has_dst = false;  // chosen below: an Unknown_Host notice names only the unknown end
  set_notice_zones(n, policy_zones(fp));
  if (fp.protocol != FlowPolicy::kNoProtocol) n.protocol = protocol_name(static_cast<Protocol>(fp.protocol));
  const std::string orig = c.id().orig_h.to_string(), resp = c.id().resp_h.to_string();
  const auto zone_text = [&](int16_t z) {
    if (z < 0) return std::string("no zone");
    return fmt::format("zone {} (SL {})", policy_->zone_name(z), policy_->zones()[z].security_level);
  };
  const std::string what = fmt::format("{} {}/{}", n.protocol.empty() ? "traffic" : std::string(n.protocol),
                                       c.resp_p(), transport_name(c.proto()));
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
      n.src = orig_unknown ? c.id().orig_h : c.id().resp_h;
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
    n.src = c.id().orig_h;
    n.dst = c.id().resp_h;
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

void Worker::weird(const WeirdEvent& ev) { weird_hinted(ev); }

WeirdSink::RepeatHint Worker::weird_hinted(const WeirdEvent& ev) {
  ++stats_.weirds;
  const WeirdFilter::Verdict v = weird_filter_.admit_hinted(ev);
  if (v.logged) {
    ++stats_.weirds_logged;
    write_weird(*sink_, ids_.weird, ev, weird_uid_);
  }
  return v.hint;
}

void Worker::on_identity(const DeviceIdentity& id) { assets_.identity(id); }

void Worker::on_operation(const OperationEvent& ev) {
  ++stats_.operations;
  if (matcher_ && ev.conn) match_rules(ev);
  if (!policy_ || !ev.conn || !ev.conn->app) return;
  const Conn& c = *ev.conn;
  FlowPolicy& fp = c.app->policy;
  // The event proves the protocol even when it comes before the analyzer's confirmation is seen.
  if (policy_->set_protocol(fp, ev.protocol) && is_violation(fp.verdict)) flow_notice(c, fp, ev.ts_ns);
  if (policy_->check_operation(fp, ev)) return;
  Notice n;
  n.ts_ns = ev.ts_ns;
  n.note = kOperationNotAllowedNote;
  set_notice_conn(n, c);
  set_notice_zones(n, policy_zones(fp));
  n.protocol = protocol_name(ev.protocol);
  n.operation = ev.name;
  n.severity = ev.op_class == OpClass::Control ? Severity::Critical : Severity::High;
  n.msg = fmt::format("{} {} from {} (zone {}) to {} (zone {}) is not allowed by conduit {}", n.protocol, ev.name,
                      c.id().orig_h.to_string(), n.zone_orig, c.id().resp_h.to_string(), n.zone_resp, n.conduit);
  n.sub = fmt::format("code {}{}{}", ev.code, ev.unit >= 0 ? fmt::format(" unit {}", ev.unit) : std::string(),
                      ev.address >= 0 ? fmt::format(" address {}", ev.address) : std::string());
  raise(std::move(n));
}

// Rules see the flow's place in the zone model (from_zone, to_zone, conduit) when a model is loaded.
rules::FlowZones Worker::rule_zones(const Conn& c) const {
  if (!policy_ || !c.app) return {};
  return policy_zones(c.app->policy);
}

void Worker::match_rules(const OperationEvent& ev) {
  const Conn& c = *ev.conn;
  const rules::FlowZones z = rule_zones(c);
  for (const uint32_t i : matcher_->match(ev, z)) {
    Notice n;
    rules::fill_rule_notice(rules_->rules()[i], c, &ev, ev.ts_ns, n);
    set_notice_zones(n, z);
    raise(std::move(n));
  }
}

void Worker::match_rules_datagram(const Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) {
  const rules::FlowZones z = rule_zones(c);
  const auto p = static_cast<rules::RuleProtocol>(c.app->port_rules);
  // The server is the end on the protocol's port.
  const bool to_server = is_orig == (c.resp_p() == rules::port_only_udp_port(p));
  for (const uint32_t i : matcher_->match_datagram(p, to_server, data, z)) {
    Notice n;
    rules::fill_rule_notice(rules_->rules()[i], c, nullptr, ts_ns, n);
    set_notice_zones(n, z);
    raise(std::move(n));
  }
}

// The bytes the analyzers get, in order, go to the streams of each analyzer's protocol: the dissectors
// choose the protocol by port as they do for PDU rules, and a stream ends when its analyzer rejects the
// flow.
void Worker::match_rules_stream(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) {
  AppState& app = *c.app;
  const rules::FlowZones z = rule_zones(c);
  for (uint8_t i = 0; i < app.count; ++i) {
    const rules::RuleProtocol p = rules::rule_protocol(dissector_modules()[app.module[i]]->protocol);
    rules::StreamBound bound;
    raise_stream_hits(c, matcher_->stream_data(app.streams, p, is_orig, data, z, bound), z, ts_ns);
    if (bound == rules::StreamBound::None) continue;
    // Once per connection direction (the matcher stops the direction): the bytes it will not scan.
    WeirdEvent ev;
    ev.ts_ns = ts_ns;
    ev.name = bound == rules::StreamBound::Depth ? "rule_stream_depth_reached" : "rule_stream_limit_reached";
    ev.addl = bound == rules::StreamBound::Depth
                  ? fmt::format("{} {} beyond {} bytes not scanned by stream rules", rules::rule_protocol_name(p),
                                is_orig ? "to_server" : "to_client", stream_limits_.depth_bytes)
                  : fmt::format("{} {} not scanned by stream rules: {} streams open", rules::rule_protocol_name(p),
                                is_orig ? "to_server" : "to_client", stream_limits_.max_streams);
    ev.uid = c.uid();
    ev.id = c.id();
    ev.has_addrs = true;
    ev.is_orig = is_orig;
    ev.source = "rules";
    weird(ev);
  }
}

void Worker::close_rule_streams(Conn& c, rules::RuleProtocol p, uint64_t ts_ns, bool reload) {
  const rules::FlowZones z = rule_zones(c);
  raise_stream_hits(c, matcher_->stream_close(c.app->streams, p, z, reload), z, ts_ns);
}

void Worker::raise_stream_hits(const Conn& c, std::span<const rules::StreamHit> hits, const rules::FlowZones& z,
                               uint64_t ts_ns) {
  for (const rules::StreamHit& h : hits) {
    Notice n;
    rules::fill_rule_stream_notice(rules_->rules()[h.rule], c, h, ts_ns, n);
    set_notice_zones(n, z);
    raise(std::move(n));
  }
}

}  // namespace ots
