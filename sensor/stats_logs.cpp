#include "sensor/stats_logs.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>

#include <fmt/format.h>

namespace ots {

namespace {

using F = FieldType;

// Resident memory of the process in MB, as Zeek's get_proc_stats()$mem / 1048576; 0 when /proc is absent.
uint64_t resident_mb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  return resident * static_cast<uint64_t>(page > 0 ? page : 4096) / 1048576;
}

uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

// One stats.log record: the columns a row kind does not fill stay unset.
using StatsRow = std::array<Value, 36>;
constexpr size_t kSyslogColumns = 31;  // syslog_sent: the first of the destinations' columns

}  // namespace

const LogSchema& stats_schema() {
  // Zeek 7.2 Stats::Info, in its order, then ours.
  static const LogSchema s{"stats",
                           {{"ts", F::Time},
                            {"peer", F::String},
                            {"mem", F::Count},
                            {"pkts_proc", F::Count},
                            {"bytes_recv", F::Count},
                            {"pkts_dropped", F::Count},
                            {"pkts_link", F::Count},
                            {"pkt_lag", F::Interval},
                            {"pkts_filtered", F::Count},
                            {"events_proc", F::Count},
                            {"events_queued", F::Count},
                            {"active_tcp_conns", F::Count},
                            {"active_udp_conns", F::Count},
                            {"active_icmp_conns", F::Count},
                            {"tcp_conns", F::Count},
                            {"udp_conns", F::Count},
                            {"icmp_conns", F::Count},
                            {"timers", F::Count},
                            {"active_timers", F::Count},
                            {"files", F::Count},
                            {"active_files", F::Count},
                            {"dns_requests", F::Count},
                            {"active_dns_requests", F::Count},
                            {"reassem_tcp_size", F::Count},
                            {"reassem_file_size", F::Count},
                            {"reassem_frag_size", F::Count},
                            {"reassem_unknown_size", F::Count},
                            // Ours.
                            {"pkts_dropped_iface", F::Count},
                            {"notices", F::Count},
                            {"weirds", F::Count},
                            {"flow_mem", F::Count},
                            // Ours, the SIEM destinations' rows (issue 7).
                            {"syslog_sent", F::Count},
                            {"syslog_spooled", F::Count},
                            {"syslog_dropped", F::Count},
                            {"syslog_reconnects", F::Count},
                            {"syslog_pending", F::Count}}};
  return s;
}

const LogSchema& capture_loss_schema() {
  // Zeek 7.2 CaptureLoss::Info.
  static const LogSchema s{"capture_loss",
                           {{"ts", F::Time},
                            {"ts_delta", F::Interval},
                            {"peer", F::String},
                            {"gaps", F::Count},
                            {"acks", F::Count},
                            {"percent_lost", F::Double}}};
  return s;
}

const LogSchema& weird_stats_schema() {
  // Zeek 7.2 WeirdStats::Info (policy/misc/weird-stats.zeek).
  static const LogSchema s{"weird_stats", {{"ts", F::Time}, {"name", F::String}, {"num_seen", F::Count}}};
  return s;
}

StatsLogs::Ids StatsLogs::register_all(LogManager& logs) {
  Ids ids;
  ids.stats = logs.add(stats_schema());
  ids.capture_loss = logs.add(capture_loss_schema());
  ids.weird_stats = logs.add(weird_stats_schema());
  return ids;
}

StatsLogs::StatsLogs(Ids ids, bool live, const SyslogOutputs* syslog) : ids_(ids), live_(live), syslog_(syslog) {}

CaptureInterval StatsLogs::write(LogSink& sink, uint64_t ts_ns, uint64_t wall_ns, std::span<const WorkerStats> workers,
                                 std::span<const SourceSample> sources) {
  last_workers_.resize(workers.size());
  last_sources_.resize(sources.size());
  const uint64_t mem = resident_mb();
  const int64_t ts_delta = static_cast<int64_t>(ts_ns - std::min(ts_ns, last_ts_ns_ ? last_ts_ns_ : ts_ns));
  CaptureInterval interval;
  interval.ts_ns = ts_ns;
  interval.length_ns = static_cast<uint64_t>(ts_delta);
  interval.live = live_;
  const Value unset{Unset{}};
  const Value zero{uint64_t{0}};

  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerStats& w = workers[i];
    const WorkerStats& b = last_workers_[i];
    const std::string peer = fmt::format("worker-{}", i + 1);
    const uint64_t events = delta(w.operations, b.operations);
    StatsRow v = {
        Value{ts_ns},
        Value{std::string_view(peer)},
        Value{mem},
        Value{delta(w.packets, b.packets)},
        Value{delta(w.bytes, b.bytes)},
        unset,  // pkts_dropped, pkts_link, pkt_lag, pkts_filtered: the capture sources' rows
        unset,
        unset,
        unset,
        Value{events},  // events_proc: operation events of the dissectors, each handled when raised,
        Value{events},  // so as many processed as queued
        Value{w.active_tcp},
        Value{w.active_udp},
        Value{w.active_icmp},
        Value{delta(w.tcp_conns, b.tcp_conns)},
        Value{delta(w.udp_conns, b.udp_conns)},
        Value{delta(w.icmp_conns, b.icmp_conns)},
        zero,  // timers, active_timers: flow timeouts live in the flow table's heap, not as Zeek timers
        zero,
        zero,  // files, active_files: no file analysis
        zero,
        zero,  // dns_requests, active_dns_requests: no DNS analyzer
        zero,
        Value{w.flows.reassembly_bytes},
        zero,   // reassem_file_size: no file analysis
        unset,  // reassem_frag_size: the IP reassembler's buffer is not measured yet
        zero,   // reassem_unknown_size: no protocol detection buffer (analyzers are chosen by port)
        unset,  // pkts_dropped_iface: a source's figure
        Value{delta(w.notices, b.notices)},
        Value{delta(w.weirds, b.weirds)},
        Value{w.flows.memory_bytes},
        // syslog_*: unset, the SIEM destinations' rows
    };
    sink.write(ids_.stats, ts_ns, Uid{}, v);

    // CaptureLoss::take_measurement: ACKs and gaps since the last measurement.
    const uint64_t acks = delta(w.flows.ack_events, b.flows.ack_events);
    const uint64_t gaps = delta(w.flows.gap_events, b.flows.gap_events);
    interval.acks += acks;
    interval.gaps += gaps;
    const double pct = acks == 0 ? 0.0 : 100.0 * static_cast<double>(gaps) / static_cast<double>(acks);
    std::array<Value, 6> cl = {Value{ts_ns}, Value{ts_delta}, Value{std::string_view(peer)},
                               Value{gaps},  Value{acks},     Value{pct}};
    sink.write(ids_.capture_loss, ts_ns, Uid{}, cl);
    last_workers_[i] = w;
  }

  for (size_t i = 0; i < sources.size(); ++i) {
    const SourceStats& s = sources[i].stats;
    const SourceStats& b = last_sources_[i];
    const Value lag = live_ && wall_ns >= ts_ns ? Value{static_cast<int64_t>(wall_ns - ts_ns)} : unset;
    StatsRow v = {
        Value{ts_ns},
        Value{std::string_view(sources[i].name)},
        unset,  // mem: the workers' rows
        Value{delta(s.packets, b.packets)},
        Value{delta(s.bytes, b.bytes)},
        live_ ? Value{delta(s.dropped_kernel, b.dropped_kernel)} : unset,
        live_ ? Value{delta(s.received, b.received)} : unset,
        lag,
        unset,  // pkts_filtered: libpcap does not count what the BPF filter rejected
    };
    for (size_t k = 9; k < 27; ++k) v[k] = unset;  // per-worker figures
    v[27] = live_ ? Value{delta(s.dropped_iface, b.dropped_iface)} : unset;
    v[28] = unset;
    v[29] = unset;
    v[30] = unset;
    sink.write(ids_.stats, ts_ns, Uid{}, v);
    interval.packets += delta(s.packets, b.packets);
    interval.dropped += delta(s.dropped_kernel, b.dropped_kernel) + delta(s.dropped_iface, b.dropped_iface);
    interval.link += delta(s.received, b.received);
    last_sources_[i] = s;
  }
  write_weird_stats(sink, ts_ns, workers);
  if (syslog_) write_syslog(sink, ts_ns);
  last_ts_ns_ = ts_ns;
  return interval;
}

void StatsLogs::write_weird_stats(LogSink& sink, uint64_t ts_ns, std::span<const WorkerStats> workers) {
  // Summed over the workers by name, in name order: the same rows whatever -w is.
  std::map<std::string, uint64_t, std::less<>> now;
  for (const WorkerStats& w : workers) {
    for (const auto& n : w.weird_names) now[n.name] += n.seen;
  }
  for (const auto& [name, seen] : now) {
    const auto last = weird_seen_.find(name);
    const uint64_t d = delta(seen, last == weird_seen_.end() ? 0 : last->second);
    if (d == 0) continue;
    std::array<Value, 3> v = {Value{ts_ns}, Value{std::string_view(name)}, Value{d}};
    sink.write(ids_.weird_stats, ts_ns, Uid{}, v);
  }
  weird_seen_ = std::move(now);
}

void StatsLogs::write_syslog(LogSink& sink, uint64_t ts_ns) {
  const auto now = syslog_->stats();
  last_syslog_.resize(now.size());
  for (size_t i = 0; i < now.size(); ++i) {
    const SyslogCounters& c = now[i].counters;
    const SyslogCounters& b = last_syslog_[i];
    const std::string peer = fmt::format("syslog:{}", now[i].destination->name);
    StatsRow v{};  // every other column unset: they are the workers' and the sources'
    v[0] = Value{ts_ns};
    v[1] = Value{std::string_view(peer)};
    v[kSyslogColumns] = Value{delta(c.sent, b.sent)};
    v[kSyslogColumns + 1] = Value{delta(c.spooled, b.spooled)};
    v[kSyslogColumns + 2] = Value{delta(c.dropped, b.dropped)};
    v[kSyslogColumns + 3] = Value{delta(c.reconnects, b.reconnects)};
    v[kSyslogColumns + 4] = Value{c.pending};  // a level, not a count: what waits in the spool now
    sink.write(ids_.stats, ts_ns, Uid{}, v);
    last_syslog_[i] = c;
  }
}

}  // namespace ots
