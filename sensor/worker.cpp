#include "sensor/worker.hpp"

#include <algorithm>

#include "sensor/core_logs.hpp"

namespace ots {

// A connection's analyzers: usually one (chosen by port); a few when ports are ambiguous.
struct AppState {
  static constexpr size_t kMax = 4;
  std::unique_ptr<Analyzer> analyzers[kMax];
  uint8_t module[kMax] = {};
  uint8_t count = 0;
};

PipelineLogs PipelineLogs::register_all(LogManager& logs) {
  PipelineLogs ids;
  ids.conn = logs.add(conn_schema());
  ids.conn_long = logs.add(conn_long_schema());
  ids.weird = logs.add(weird_schema());
  for (const DissectorModule* m : dissector_modules()) {
    std::vector<LogId> mine;
    for (const LogSchema* s : m->logs) mine.push_back(logs.add(*s));
    ids.modules.push_back(std::move(mine));
  }
  return ids;
}

Worker::Worker(const PipelineConfig& cfg, LogManager& logs, const PipelineLogs& ids)
    : ids_(ids), sink_(logs.make_sink()), decoder_(cfg.decode) {
  flows_ = std::make_unique<FlowTable>(cfg.flows, static_cast<FlowEvents&>(*this), static_cast<WeirdSink&>(*this));
  const auto mods = dissector_modules();
  module_ctx_.resize(mods.size());
  for (size_t i = 0; i < mods.size(); ++i) {
    module_ctx_[i] = AnalyzerContext{sink_.get(), this, this, ids_.modules[i].data()};
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
  track_peaks();
}

void Worker::finish() {
  flows_->flush_all();
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

void Worker::on_new_flow(Conn& c, const DecodedPacket& first) {
  (void)first;
  const auto mods = dissector_modules();
  AppState* app = nullptr;
  for (size_t i = 0; i < mods.size(); ++i) {
    const DissectorModule& m = *mods[i];
    std::span<const uint16_t> ports;
    if (c.id.proto == Transport::Tcp) ports = m.tcp_ports;
    else if (c.id.proto == Transport::Udp) ports = m.udp_ports;
    else continue;
    // Zeek selects analyzers by the responder port; a flow picked up midstream may have been flipped by
    // the flow table already, so the responder port is the server's.
    if (std::find(ports.begin(), ports.end(), c.id.resp_p) == ports.end()) continue;
    if (!app) app = new AppState();
    if (app->count == AppState::kMax) break;
    app->analyzers[app->count] = m.create(module_ctx_[i], c.id.proto);
    app->module[app->count] = static_cast<uint8_t>(i);
    ++app->count;
  }
  if (app) {
    c.app = app;
    c.wants_payload = true;
  }
}

void Worker::on_packet(Conn& c, bool is_orig, const DecodedPacket& p) {
  (void)c;
  (void)is_orig;
  (void)p;
}

void Worker::on_payload(Conn& c, bool is_orig, std::span<const uint8_t> data, uint64_t ts_ns) {
  AppState* app = c.app;
  if (!app) return;
  bool rejected = false;
  for (uint8_t i = 0; i < app->count; ++i) {
    Analyzer& a = *app->analyzers[i];
    a.data(c, is_orig, data, ts_ns);
    if (a.verdict() == Analyzer::Verdict::Confirmed) c.services |= 1u << app->module[i];
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
    delete app;
    c.app = nullptr;
    c.wants_payload = false;
  }
}

void Worker::on_interim(Conn& c, uint64_t now_ns) { write_conn_interim(*sink_, ids_.conn_long, c, now_ns); }

void Worker::on_flow_end(Conn& c, FlowEnd why) {
  (void)why;
  if (AppState* app = c.app) {
    for (uint8_t i = 0; i < app->count; ++i) app->analyzers[i]->end(c, c.last_ts_ns);
    delete app;
    c.app = nullptr;
  }
  write_conn(*sink_, ids_.conn, c);
}

void Worker::weird(const WeirdEvent& ev) {
  ++stats_.weirds;
  write_weird(*sink_, ids_.weird, ev);
}

void Worker::on_operation(const OperationEvent& ev) {
  (void)ev;
  ++stats_.operations;
}

}  // namespace ots
