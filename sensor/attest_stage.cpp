#include "sensor/attest_stage.hpp"

#include <array>
#include <chrono>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include "sensor/thread_cpu.hpp"

namespace ots {

namespace {

using attest::Verdict;
using F = FieldType;

// attest.log: one record per AQAT datagram (and per `stale` / `unattested_device` decision), issue 6.
// Our own log; the connection columns are named as in Zeek's logs so zeek-cut and SIEM parsers join
// them with conn.log.
const LogSchema kAttestSchema{"attest",
                              {{"ts", F::Time},
                               {"uid", F::String},
                               {"id.orig_h", F::Addr},
                               {"id.orig_p", F::Port},
                               {"id.resp_h", F::Addr},
                               {"id.resp_p", F::Port},
                               {"src_mac", F::String},
                               {"device_id", F::String},
                               {"device_name", F::String},
                               {"msg_type", F::String},
                               {"seq", F::Count},
                               {"verdict", F::String},
                               {"detail", F::String},
                               {"also", F::VectorString},
                               {"zone", F::String}}};

// How bad each finding is for a SOC analyst: forged or tampered evidence and unproven identities on OT
// traffic are the product's reason to exist (critical/high); gaps in what we saw may be capture loss.
Severity severity_of(Verdict v) {
  switch (v) {
    case Verdict::BadSignature:
    case Verdict::BadCertificate:
    case Verdict::Fork:
    case Verdict::ChainBroken:
    case Verdict::IdentityClone:
    case Verdict::IntegrityViolation:
      return Severity::Critical;
    case Verdict::UntrustedCa:
    case Verdict::CertificateExpired:
    case Verdict::NotHardwareRooted:
    case Verdict::Replay:
    case Verdict::ChainGap:
    case Verdict::DeviceStatus:
    case Verdict::SbomMismatch:
    case Verdict::UnattestedDevice:
      return Severity::High;
    case Verdict::ClockSkew:
      return Severity::Low;
    default:
      return Severity::Medium;
  }
}

// The sentence of the notice, after "<who>: ".
std::string_view what_of(Verdict v) {
  switch (v) {
    case Verdict::Malformed: return "malformed attestation datagram";
    case Verdict::BadSignature: return "attestation record whose signature does not verify (forged or altered)";
    case Verdict::UnknownDevice: return "attestation records from a device that never sent its IDENTITY";
    case Verdict::UntrustedCa: return "identity certificate issued by a CA that is not a trust anchor";
    case Verdict::BadCertificate: return "identity certificate whose CA signature does not verify";
    case Verdict::CertificateExpired: return "identity certificate outside its validity period";
    case Verdict::NotHardwareRooted: return "software-held identity key in a zone that requires a hardware root";
    case Verdict::DeviceLimit: return "attestation device limit reached: device not tracked";
    case Verdict::Replay: return "replayed attestation record";
    case Verdict::Fork: return "forked attestation chain: two different records with one sequence number";
    case Verdict::ChainBroken: return "broken attestation hash chain: record does not link to its predecessor";
    case Verdict::ChainGap: return "attestation records missing from the hash chain (deleted or lost)";
    case Verdict::IdentityClone: return "one device identity used from two sources (cloned identity)";
    case Verdict::IntegrityViolation: return "firmware digest not in the golden list of its version";
    case Verdict::DeviceStatus: return "device reports tamper, open debug port or failed secure boot";
    case Verdict::SbomMismatch: return "SBOM does not match its digest or the device's verified SBOM";
    case Verdict::ClockSkew: return "device clock differs from packet time beyond max_clock_skew_s";
    case Verdict::Stale: return "attestation telemetry stopped (stale device)";
    case Verdict::UnattestedDevice: return "device in OT traffic without a hardware-rooted identity bound to it";
    default: return "attestation finding";
  }
}

}  // namespace

const LogSchema& attest_schema() { return kAttestSchema; }

bool AttestEventLess::operator()(const AttestEvent& a, const AttestEvent& b) const {
  // One connection's events come from one worker, in wire order (seq); the rest is (time, connection),
  // which does not depend on the number of workers. OT facts sort before datagrams of the same instant.
  return std::tie(a.meta.ts_ns, a.meta.uid, a.kind, a.seq) < std::tie(b.meta.ts_ns, b.meta.uid, b.kind, b.seq);
}

AttestStage::AttestStage(size_t workers, attest::AttestationConfig config, const SitePolicy* policy, LogManager& logs,
                         LogId attest_log, NoticeOutbox& notices, size_t queue_ticks)
    : stage_(workers),
      start_port_(config.port),
      start_enabled_(config.present),
      v_(std::move(config), policy, logs, attest_log, notices) {
  if (queue_ticks) queue_ = std::make_unique<StageQueue<Handoff>>(queue_ticks);
}

AttestStage::~AttestStage() {
  if (thread_.joinable()) {
    queue_->close();
    thread_.join();
  }
}

StageQueueStats AttestStage::queue_stats() const { return queue_ ? queue_->stats() : StageQueueStats{}; }

void AttestStage::poll(bool idle) {
  bool any = false;
  stage_.poll([&](std::span<AttestEvent> e, const uint64_t* t) {
    take(e, t);
    any = true;
  });
  if (!queue_) {
    // As the stage's thread does on a Retry (below), here at every poll that consumed nothing.
    if (!any && ticked_ && after_tick_) after_tick_(last_tick_ns_);
    if (v_.sink().wants_handoff()) v_.sink().handoff();
    return;
  }
  if (idle && thread_.joinable()) {
    if (queue_->empty()) queue_->push(Handoff{Handoff::Kind::Retry, 0, {}, {}});
    queue_->publish();
    unpublished_ = 0;
  }
}

void AttestStage::finish() {
  stage_.finish([this](std::span<AttestEvent> e, const uint64_t* t) { take(e, t); });
  if (!thread_.joinable()) {  // no thread, or no tick ever reached it
    v_.end_of_input();
    return;
  }
  queue_->close();
  thread_.join();
  if (failure_) std::rethrow_exception(failure_);
}

// The loop's thread: one tick every worker has closed, sorted (null tick_ns: a batch closed at the end).
void AttestStage::take(std::span<AttestEvent> events, const uint64_t* tick_ns) {
  std::optional<Switch> then;
  if (switch_ && switch_->at == ticks_taken_) {
    then = std::move(switch_);
    switch_.reset();
  }
  ++ticks_taken_;
  if (!queue_) {
    run_tick(events, tick_ns, then);
    return;
  }
  Handoff h{tick_ns ? Handoff::Kind::Tick : Handoff::Kind::Final, tick_ns ? *tick_ns : 0,
            std::vector<AttestEvent>(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end())),
            std::move(then)};
  // Ticks with work, or a reload, wake the thread at once; empty ones go in batches.
  const bool now = !h.events.empty() || h.then;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  queue_->push(std::move(h));
  if (now || ++unpublished_ >= kPublishEvery) {
    queue_->publish();
    unpublished_ = 0;
  }
}

void AttestStage::switch_config(uint64_t tick, attest::AttestationConfig config, const SitePolicy* policy) {
  switch_ = Switch{tick, std::move(config), policy};
}

// The stage's side (its thread, or the loop's without one).
void AttestStage::run_tick(std::span<AttestEvent> events, const uint64_t* tick_ns, std::optional<Switch>& then) {
  v_.consume(events, tick_ns);
  if (then) v_.apply_switch(std::move(*then));
  ticks_done_.store(ticks_done_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  if (tick_ns) {
    last_tick_ns_ = *tick_ns;
    ticked_ = true;
    if (after_tick_) after_tick_(*tick_ns);
  }
}

void AttestStage::run() {
  try {
    while (std::optional<Handoff> h = queue_->pop()) {
      if (h->kind == Handoff::Kind::Retry) {
        if (ticked_ && after_tick_) after_tick_(last_tick_ns_);
      } else {
        run_tick(h->events, h->kind == Handoff::Kind::Tick ? &h->tick_ns : nullptr, h->then);
      }
      if (v_.sink().wants_handoff()) v_.sink().handoff();
    }
    v_.end_of_input();
  } catch (...) {
    // Nothing on this path throws by design (bad_alloc aside): finish() rethrows it on the loop's thread,
    // and the loop is never left waiting for room meanwhile.
    failure_ = std::current_exception();
    queue_->abandon();
  }
  thread_cpu_s_ = thread_cpu_seconds();
}

AttestStage::Verifier::Verifier(attest::AttestationConfig config, const SitePolicy* policy, LogManager& logs,
                                LogId attest_log, NoticeOutbox& notices)
    : registry_(std::make_unique<attest::DeviceRegistry>(std::move(config))),
      policy_(policy && policy->enabled() ? policy : nullptr),
      sink_(logs.make_sink()),
      log_(attest_log),
      notices_(notices) {}

const Zone* AttestStage::Verifier::zone_of(const IpAddr& a) const {
  if (!policy_) return nullptr;
  const int16_t z = policy_->model().zone_of(a).zone;
  return z < 0 ? nullptr : &policy_->zones()[static_cast<size_t>(z)];
}

std::string_view AttestStage::Verifier::zone_name(const IpAddr& a) const {
  if (!policy_) return {};
  return policy_->zone_name(policy_->model().zone_of(a).zone);
}

std::vector<sbom::SbomDeviceRecord> AttestStage::Verifier::sbom_records(const sbom::SbomOmitComponents& omit) const {
  std::vector<sbom::SbomDeviceRecord> out;
  out.reserve(registry_->device_count());
  for (size_t i = 0; i < registry_->device_count(); ++i) {
    const attest::DeviceInfo& d = registry_->device_at(i);
    sbom::SbomDeviceRecord r;
    r.device_id = d.device_id.hex();
    r.name = d.name;
    if (d.address != IpAddr{}) {
      r.address = d.address.to_string();
      r.zone = zone_name(d.address);
    }
    r.fw_version = d.fw_version;
    r.root_kind = attest::root_kind_name(d.root_kind);
    r.attested = d.attested;
    r.identity_verdict = attest::verdict_name(d.identity_verdict);
    r.first_seen_ns = d.first_seen_ns;
    r.last_attested_ns = d.last_attested_ns;
    // Components of an unattested device are stored too (the inventory), never returned by queries.
    r.has_sbom = d.has_sbom;
    if (d.has_sbom) r.sbom_digest = attest::to_hex(d.verified_sbom.bytes);
    if (d.has_sbom && omit && omit(r.device_id, r.sbom_digest, d.components.size())) r.has_sbom = false;
    if (r.has_sbom) {
      r.components.reserve(d.components.size());
      for (const attest::SbomComponent& c : d.components) r.components.push_back({c.name, c.version, c.purl, c.cpe});
    }
    out.push_back(std::move(r));
  }
  return out;
}

void AttestStage::Verifier::consume(std::span<AttestEvent> events, const uint64_t* tick_ns) {
  for (AttestEvent& ev : events) {
    const uint64_t ts = ev.meta.ts_ns;
    decide_due(ts, false);  // every datagram before ts is in the registry: bindings are final up to ts
    if (ts > now_ns_) now_ns_ = ts;
    if (ev.kind == AttestEvent::Kind::OtPeer) {
      if (decided_.count(ev.addr)) continue;
      auto [it, fresh] = pending_.try_emplace(ev.addr);
      Pending& p = it->second;
      // The first OT connection by its first packet (ties: uid), whichever worker saw it first.
      if (fresh || std::tie(ts, ev.meta.uid) < std::tie(p.first_ns, p.uid)) {
        p.first_ns = ts;
        p.uid = ev.meta.uid;
        p.id = ev.id;
        deadlines_.emplace(ts + registry_->config().unattested_grace_ns, ev.addr);
      }
      continue;
    }
    ++stats_.datagrams;
    const Zone* z = zone_of(ev.meta.src);
    ev.meta.src_requires_hardware_root = z && z->require_hardware_root;
    out_.clear();
    registry_->process(ev.payload, ev.meta, out_);
    for (const auto& r : out_) emit(r);
  }
  if (tick_ns) {
    if (*tick_ns > now_ns_) now_ns_ = *tick_ns;
    out_.clear();
    registry_->advance(now_ns_, out_);
    for (const auto& r : out_) emit(r);
    // Strictly before the tick: the next burst may still hold datagrams stamped with the tick's time.
    decide_due(now_ns_, false);
  }
  notices_.close_tick();
}

void AttestStage::Verifier::apply_switch(Switch s) {
  policy_ = s.policy && s.policy->enabled() ? s.policy : nullptr;
  if (s.config.present && registry_->config().present) {
    const uint64_t grace = s.config.unattested_grace_ns;
    const bool regrace = grace != registry_->config().unattested_grace_ns;
    registry_->reconfigure(std::move(s.config));
    // decide_due() recognises live deadlines by first_ns + grace: a new grace re-dates every pending one.
    if (regrace) {
      deadlines_.clear();
      for (const auto& [addr, p] : pending_) deadlines_.emplace(p.first_ns + grace, addr);
    }
    return;
  }
  // Turned on or off: the registry starts empty, as at start-up (see switch_config).
  registry_ = std::make_unique<attest::DeviceRegistry>(std::move(s.config));
  pending_.clear();
  deadlines_.clear();
  decided_.clear();
}

// End of input: held records become `unknown_device`, and addresses still in their grace period are
// decided now (issue 6: "or at end of input").
void AttestStage::Verifier::end_of_input() {
  out_.clear();
  registry_->finish(now_ns_, out_);
  for (const auto& r : out_) emit(r);
  decide_due(now_ns_, true);
  notices_.close_tick();
  sink_->handoff();
}

void AttestStage::Verifier::decide_due(uint64_t now_ns, bool all) {
  while (!deadlines_.empty() && (all || deadlines_.begin()->first < now_ns)) {
    const auto [deadline, addr] = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin());
    const auto it = pending_.find(addr);
    // Stale entry: an earlier connection replaced it, or the address is decided.
    if (it == pending_.end() || it->second.first_ns + registry_->config().unattested_grace_ns != deadline) continue;
    const Pending p = it->second;
    pending_.erase(it);
    decide(addr, p, all ? now_ns : deadline);
  }
}

void AttestStage::Verifier::decide(const IpAddr& addr, const Pending& p, uint64_t now_ns) {
  // The model in force when the grace ends decides, not the one the address was noted under: a SIGHUP
  // may since have put it in a zone that does not require attestation (or removed the zones). It stays
  // undecided then, so that its next OT connection under a model that requires it notes it again.
  const Zone* z = zone_of(addr);
  if (!z || !z->require_attestation) return;
  decided_.insert(addr);
  ++stats_.ot_addresses;
  if (registry_->identity_bound(addr)) return;
  ++stats_.unattested;
  attest::VerdictRecord r;
  r.ts_ns = now_ns;
  r.decided_ns = now_ns;
  r.uid = p.uid;
  r.src = addr;
  // The first OT connection's other end (the peer the device talked to).
  const bool orig = p.id.orig_h == addr;
  r.dst = orig ? p.id.resp_h : p.id.orig_h;
  r.src_port = orig ? p.id.orig_p : p.id.resp_p;
  r.dst_port = orig ? p.id.resp_p : p.id.orig_p;
  r.verdict = Verdict::UnattestedDevice;
  r.detail = fmt::format("first OT packet at {:.6f}; no verified IDENTITY with valid TELEMETRY from {} within {} s",
                         static_cast<double>(p.first_ns) / 1e9, addr.to_string(),
                         registry_->config().unattested_grace_ns / 1'000'000'000ull);
  emit(r, &p.id);
}

void AttestStage::Verifier::emit(const attest::VerdictRecord& r, const ConnId* conn) {
  ++stats_.records;
  const bool has_conn = r.uid.is_set();
  const UidText uid = r.uid.text();
  const std::string mac = r.has_src_mac ? mac_text(r.src_mac) : std::string();
  const std::string device = r.has_device ? r.device_id.hex() : std::string();
  std::vector<std::string_view> also;
  for (const auto& f : r.also) also.push_back(attest::verdict_name(f.verdict));
  const std::string_view zone = zone_name(r.src);
  const auto opt = [](std::string_view t) { return t.empty() ? Value{Unset{}} : Value{t}; };
  if (sink_->enabled(log_)) {
    const std::array<Value, 15> v = {
        Value{r.ts_ns},
        has_conn ? Value{uid.view()} : Value{Unset{}},
        Value{r.src},
        has_conn ? Value{uint64_t{r.src_port}} : Value{Unset{}},
        has_conn ? Value{r.dst} : Value{Unset{}},
        has_conn ? Value{uint64_t{r.dst_port}} : Value{Unset{}},
        opt(mac),
        opt(device),
        opt(r.name),
        r.type == attest::MessageType::None ? Value{Unset{}} : Value{attest::message_type_name(r.type)},
        r.seq ? Value{r.seq} : Value{Unset{}},
        Value{attest::verdict_name(r.verdict)},
        opt(r.detail),
        also.empty() ? Value{Unset{}} : Value{std::span<const std::string_view>(also)},
        opt(zone)};
    sink_->write(log_, r.ts_ns, r.uid, v);
  }
  notice(r, r.verdict, r.detail, conn);
  for (const auto& f : r.also) notice(r, f.verdict, f.detail, conn);
}

void AttestStage::Verifier::notice(const attest::VerdictRecord& r, Verdict v, std::string_view detail, const ConnId* conn) {
  const std::string_view note = attest::notice_name(v);
  if (note.empty()) return;  // `ok` and `late` raise none
  Notice n;
  n.ts_ns = r.ts_ns;
  n.note = note;
  n.severity = severity_of(v);
  n.protocol = protocol_name(Protocol::Aqat);
  n.verdict = attest::verdict_name(v);
  if (r.has_device) n.device_id = r.device_id.hex();
  n.has_src = true;
  n.src = r.src;
  n.has_orig_mac = r.has_src_mac;  // the datagram's sender: its flow's originator (`stale`: the device's last)
  n.orig_mac = r.src_mac;
  n.zone_orig = zone_name(r.src);
  if (r.uid.is_set()) {
    n.uid = r.uid;
    n.has_conn = true;
    // The datagram's own flow, or (unattested_device) the first OT connection as conn.log has it.
    n.id = conn ? *conn : ConnId{r.src, r.dst, r.src_port, r.dst_port, Transport::Udp};
    n.has_dst = n.has_p = true;
    n.dst = r.dst;
    n.p = conn ? conn->resp_p : r.dst_port;  // the service port, as Zeek's notices for a connection have it
    n.zone_resp = zone_name(r.dst);
  }
  if (v == Verdict::UnattestedDevice) {
    n.protocol = {};
    n.msg = fmt::format("{} (zone {}): {}", r.src.to_string(), n.zone_orig, what_of(v));
  } else {
    const std::string who = r.has_device ? (r.name.empty() ? r.device_id.hex() : r.name + " " + r.device_id.hex())
                                         : std::string("unidentified sender");
    n.msg = fmt::format("{} from {}: {}", who, r.src.to_string(), what_of(v));
  }
  n.sub = std::string(detail);
  ++stats_.notices;
  notices_.put(RaisedNotice{n, notice_key(n)});
}

}  // namespace ots
