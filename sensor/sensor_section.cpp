#include "sensor/sensor_section.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <set>

namespace ots {

namespace {

// Top-level sections of the site model; each is validated by the library that owns it.
const std::set<std::string> kTopLevel = {"site", "defaults", "zones", "conduits", "attestation",
                                         "outputs", "rules", "sensor"};

std::string where(const std::string& path, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  // yaml-cpp marks are 0-based; editors and compilers count from 1.
  return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
}

template <typename T>
bool read_number(const std::string& path, const YAML::Node& n, const char* key, T lo, T hi, T& out,
                 std::vector<std::string>& errors) {
  try {
    const T v = n.as<T>();
    if (v < lo || v > hi) {
      errors.push_back(fmt::format("{}: sensor.{} is {}, expected {} to {}", where(path, n), key, v, lo, hi));
      return false;
    }
    out = v;
    return true;
  } catch (const YAML::Exception&) {
    errors.push_back(fmt::format("{}: sensor.{} must be a number, got '{}'", where(path, n), key,
                                 n.IsScalar() ? n.Scalar() : std::string("a ") + (n.IsMap() ? "map" : "list")));
    return false;
  }
}

}  // namespace

bool load_sensor_section(const std::string& path, SensorSection& out, std::vector<std::string>& errors) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    errors.push_back(fmt::format("{}: cannot read the file", path));
    return false;
  } catch (const YAML::ParserException& e) {
    errors.push_back(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    return false;
  }
  if (!root.IsMap()) {
    errors.push_back(fmt::format("{}:1:1: the site model must be a map of sections ({})", path,
                                 "site, defaults, zones, conduits, attestation, outputs, rules, sensor"));
    return false;
  }
  const size_t before = errors.size();
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (!kTopLevel.count(key)) {
      errors.push_back(fmt::format("{}: unknown section '{}', expected one of site, defaults, zones, conduits, "
                                   "attestation, outputs, rules, sensor",
                                   where(path, kv.first), key));
    }
  }
  const YAML::Node s = root["sensor"];
  if (s) {
    if (!s.IsMap()) {
      errors.push_back(fmt::format("{}: 'sensor' must be a map", where(path, s)));
      return false;
    }
    PipelineConfig& p = out.pipeline;
    for (const auto& kv : s) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      double secs = 0;
      uint64_t n = 0;
      if (key == "workers") {
        read_number<unsigned>(path, v, "workers", 1u, 64u, out.workers, errors);
      } else if (key == "max_flows") {
        if (read_number<uint64_t>(path, v, "max_flows", 1024, 1ull << 28, n, errors)) p.flows.max_flows = uint32_t(n);
      } else if (key == "tcp_inactivity_s" || key == "udp_inactivity_s" || key == "icmp_inactivity_s" ||
                 key == "interim_interval_s" || key == "frag_timeout_s") {
        const double lo = key == "interim_interval_s" ? 0.0 : 1.0;
        if (read_number<double>(path, v, key.c_str(), lo, 30.0 * 86400, secs, errors)) {
          const auto ns = static_cast<uint64_t>(secs * 1e9);
          if (key == "tcp_inactivity_s") p.flows.tcp_inactivity_ns = ns;
          if (key == "udp_inactivity_s") p.flows.udp_inactivity_ns = ns;
          if (key == "icmp_inactivity_s") p.flows.icmp_inactivity_ns = ns;
          if (key == "interim_interval_s") p.flows.interim_interval_ns = ns;
          if (key == "frag_timeout_s") p.decode.frag_timeout_ns = ns;
        }
      } else if (key == "stats_interval_s") {
        if (read_number<double>(path, v, "stats_interval_s", 1.0, 86400.0, secs, errors)) out.stats_interval_s = secs;
      } else if (key == "too_much_loss_percent") {
        // Zeek's CaptureLoss::too_much_loss as a percentage; 0 would raise the notice for every interval.
        read_number<double>(path, v, "too_much_loss_percent", 0.001, 100.0, out.health.too_much_loss_percent, errors);
      } else if (key == "dropped_packets_percent") {
        read_number<double>(path, v, "dropped_packets_percent", 0.0, 100.0, out.health.dropped_packets_percent, errors);
      } else if (key == "inventory_interval_s") {
        if (read_number<double>(path, v, "inventory_interval_s", 0.0, 86400.0, secs, errors)) {
          out.inventory_interval_s = secs;
        }
      } else if (key == "weird_repeat_s") {
        // Zeek's Weird::weird_ignore expiry (10 min); 0 writes every weird (sensor/weird_filter.hpp).
        if (read_number<double>(path, v, "weird_repeat_s", 0.0, 86400.0, secs, errors)) {
          p.weirds.repeat_ns = static_cast<uint64_t>(secs * 1e9);
        }
      } else if (key == "max_assets") {
        if (read_number<uint64_t>(path, v, "max_assets", 16, 1u << 24, n, errors)) p.inventory.max_assets = uint32_t(n);
      } else if (key == "reassembly_max_kb") {
        if (read_number<uint64_t>(path, v, "reassembly_max_kb", 1, 1u << 20, n, errors))
          p.flows.reassembly_max_bytes = uint32_t(n * 1024);
      } else if (key == "frag_max_mb") {
        if (read_number<uint64_t>(path, v, "frag_max_mb", 1, 4096, n, errors)) p.decode.frag_max_bytes = uint32_t(n << 20);
      } else if (key == "rule_stream_depth_kb") {
        // Stream rules scan this much of each connection direction (docs/RULES.md, "Stream rules").
        if (read_number<uint64_t>(path, v, "rule_stream_depth_kb", 1, 1u << 20, n, errors))
          p.rule_streams.depth_bytes = n * 1024;
      } else if (key == "rule_streams_max") {
        if (read_number<uint64_t>(path, v, "rule_streams_max", 1, 1u << 24, n, errors))
          p.rule_streams.max_streams = uint32_t(n);
      } else if (key == "attest_queue_ticks") {
        if (read_number<uint64_t>(path, v, "attest_queue_ticks", 0, 1u << 20, n, errors))
          out.attest_queue_ticks = uint32_t(n);
      } else if (key == "verify_checksums") {
        try {
          p.decode.verify_checksums = v.as<bool>();
        } catch (const YAML::Exception&) {
          errors.push_back(fmt::format("{}: sensor.verify_checksums must be true or false", where(path, v)));
        }
      } else {
        errors.push_back(fmt::format(
            "{}: unknown key 'sensor.{}', expected workers, max_flows, max_assets, tcp_inactivity_s, udp_inactivity_s, "
            "icmp_inactivity_s, interim_interval_s, reassembly_max_kb, frag_timeout_s, frag_max_mb, verify_checksums, "
            "stats_interval_s, too_much_loss_percent, dropped_packets_percent, inventory_interval_s, weird_repeat_s, "
            "rule_stream_depth_kb, rule_streams_max, attest_queue_ticks",
            where(path, kv.first), key));
      }
    }
  }
  return errors.size() == before;
}

}  // namespace ots
