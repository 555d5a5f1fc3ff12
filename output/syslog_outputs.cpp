#include "output/syslog_outputs.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

namespace ots {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

}  // namespace

SyslogOutputs::SyslogOutputs(const SyslogSection& section, Options options) : suppress_ns_(options.suppress_ns) {
  id_.hostname = host_name();
  id_.procid = std::to_string(::getpid());
  id_.sensor_id = options.sensor_id.empty() ? id_.hostname : options.sensor_id;
  id_.version = options.version;
  for (const SyslogDestination& d : section.destinations) {
    try {
      senders_.push_back(std::make_unique<SyslogSender>(d, options.timing));
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("syslog output '{}': {}", d.name, e.what()));
    }
  }
  reported_drops_.assign(senders_.size(), 0);
}

SyslogOutputs::~SyslogOutputs() {
  if (!closed_) close(std::chrono::milliseconds(0));
}

void SyslogOutputs::forward(const Notice& n, uint64_t suppressed_count) {
  last_ts_ns_ = std::max(last_ts_ns_, n.ts_ns);
  for (auto& s : senders_) {
    msg_.clear();
    format_syslog_message(s->destination(), id_, n, suppressed_count, suppress_ns_, msg_);
    s->enqueue(msg_);
  }
}

void SyslogOutputs::drain() {
  // The senders work in parallel: the limit is the time left for each in turn.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& s : senders_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    s->drain(std::max(left, std::chrono::milliseconds(0)));
  }
}

bool SyslogOutputs::take_notice(Notice& out) {
  for (size_t i = 0; i < senders_.size(); ++i) {
    const uint64_t drops = senders_[i]->counters().dropped_spool_full;
    if (drops <= reported_drops_[i]) continue;
    const SyslogDestination& d = senders_[i]->destination();
    out.ts_ns = last_ts_ns_;
    out.note = "Syslog::Spool_Full";
    out.severity = Severity::High;
    out.msg = fmt::format("SIEM output '{}' ({}:{}) is unreachable and its spool is full ({} MB): {} of its oldest "
                          "messages were dropped",
                          d.name, d.host, d.port, d.spool_max_bytes >> 20, drops - reported_drops_[i]);
    out.sub = d.spool_dir;
    out.protocol = "syslog";
    out.device_id = d.name;  // one suppression window per output
    reported_drops_[i] = drops;
    return true;
  }
  return false;
}

void SyslogOutputs::close(std::chrono::milliseconds budget) {
  if (closed_) return;
  closed_ = true;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (auto& s : senders_) s->stop(deadline);
  for (auto& s : senders_) s->wait();
}

std::vector<SyslogOutputs::DestinationStats> SyslogOutputs::stats() const {
  std::vector<DestinationStats> out;
  for (const auto& s : senders_) out.push_back({&s->destination(), s->counters()});
  return out;
}

std::string SyslogOutputs::summary_text() const {
  std::string out;
  for (const DestinationStats& s : stats()) {
    const SyslogCounters& c = s.counters;
    out += fmt::format("{}syslog {}: {} sent, {} spooled, {} dropped, {} reconnects", out.empty() ? "" : "; ",
                       s.destination->name, c.sent, c.spooled, c.dropped, c.reconnects);
    if (c.pending) out += fmt::format(", {} left in the spool", c.pending);
  }
  return out;
}

std::string SyslogOutputs::stats_json() const {
  std::string out = "{";
  for (const DestinationStats& s : stats()) {
    const SyslogCounters& c = s.counters;
    // Output names are letters, digits, '_', '-' and '.' (syslog_config.cpp): no JSON escaping needed.
    out += fmt::format(
        "{}\"{}\": {{\"transport\": \"{}\", \"format\": \"{}\", \"sent\": {}, \"spooled\": {}, \"dropped\": {}, "
        "\"reconnects\": {}, \"resent\": {}, \"pending\": {}, \"recovered\": {}}}",
        out.size() > 1 ? ", " : "", s.destination->name, transport_text(s.destination->transport),
        format_text(s.destination->format), c.sent, c.spooled, c.dropped, c.reconnects, c.resent, c.pending,
        c.recovered);
  }
  return out + "}";
}

}  // namespace ots
