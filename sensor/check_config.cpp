#include "sensor/check_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "rules/rule_database.hpp"
#include "sensor/site_config.hpp"

namespace ots {

namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : std::string(sep)) + i;
  return s;
}

std::string rule_text(const SitePolicy& policy, const ConduitRule& r) {
  std::string s = r.protocol_text;
  if (r.from >= 0) s += fmt::format(" from {}", policy.zone_name(r.from));
  if (r.protocol == RuleProtocol::Icmp || r.protocol == RuleProtocol::Any) return s;
  std::vector<std::string> ports;
  if (!r.ports.empty()) {
    for (const uint16_t p : r.ports) ports.push_back(std::to_string(p));
    s += ", ports " + join(ports, " ");
  } else if (is_transport_rule(r.protocol)) {
    s += ", all ports";
  } else {
    for (const PortSpec& p : default_ports(r.protocol)) ports.push_back(fmt::format("{}/{}", p.port, transport_name(p.transport)));
    s += ", ports " + join(ports, " ") + " (standard)";
  }
  if (rule_op_family(r.protocol) == OpFamily::None) return s;  // tcp, udp, aqat: no operations
  if (r.read_only) {
    s += ", read_only: " + join(r.operation_names, " ");
  } else if (!r.all_operations) {
    s += ", operations: " + (r.operation_names.empty() ? std::string("none") : join(r.operation_names, " "));
  } else {
    s += ", all operations";
  }
  return s;
}

void print_model(const std::string& path, const SitePolicy& policy, std::FILE* out) {
  const SiteModel& m = policy.model();
  fmt::print(out, "site model {}: {}\n", path, m.site.empty() ? "(no site name)" : m.site);
  fmt::print(out, "defaults: intra_zone {}, unknown_hosts {}, notice_suppress_s {}\n",
             m.defaults.intra_zone == IntraZonePolicy::Allow ? "allow" : "deny",
             m.defaults.unknown_hosts == UnknownHostPolicy::Alert ? "alert" : "ignore",
             static_cast<double>(m.defaults.notice_suppress_ns) / 1e9);
  if (!m.has_zones) {
    fmt::print(out, "\nzones: none (the file has no zones section, so the sensor checks no zone policy)\n");
    return;
  }
  size_t w = 4;
  for (const Zone& z : m.zones) w = std::max(w, z.name.size());
  fmt::print(out, "\nzones: {}\n", m.zones.size());
  fmt::print(out, "  {:<{}}  SL  ATTESTATION  HARDWARE_ROOT  INTRA_ZONE  VLANS  NETWORKS\n", "NAME", w);
  for (const Zone& z : m.zones) {
    std::vector<std::string> nets, vlans;
    for (const Cidr& c : z.networks) nets.push_back(c.to_string());
    for (const uint16_t v : z.vlans) vlans.push_back(std::to_string(v));
    fmt::print(out, "  {:<{}}  {:>2}  {:<11}  {:<13}  {:<10}  {:<5}  {}\n", z.name, w, z.security_level,
               z.require_attestation ? "required" : "no", z.require_hardware_root ? "required" : "no",
               z.intra_zone == IntraZonePolicy::Allow ? "allow" : "deny", vlans.empty() ? std::string("any") : join(vlans, ","), join(nets, " "));
  }
  fmt::print(out, "\nconduits: {}\n", policy.conduits().size());
  for (const Conduit& c : policy.conduits()) {
    fmt::print(out, "  {}: {} <-> {}\n", c.name, policy.zone_name(c.zones[0]), policy.zone_name(c.zones[1]));
    if (c.allow.empty()) fmt::print(out, "    allow nothing\n");
    for (const ConduitRule& r : c.allow) fmt::print(out, "    allow {}\n", rule_text(policy, r));
  }
}

void print_attestation(const attest::AttestationConfig& a, std::FILE* out) {
  if (!a.present) return;
  fmt::print(out, "\nattestation: port {}/udp, stale_after_s {}, max_clock_skew_s {}, clone_window_s {}, "
                  "unattested_grace_s {}\n",
             a.port, static_cast<double>(a.stale_after_ns) / 1e9, static_cast<double>(a.max_clock_skew_ns) / 1e9,
             static_cast<double>(a.clone_window_ns) / 1e9, static_cast<double>(a.unattested_grace_ns) / 1e9);
  for (const attest::TrustAnchor& t : a.trust_anchors)
    fmt::print(out, "  trust anchor {}: key id {}\n", t.name, attest::to_hex(t.key_id.bytes));
  for (const auto& [version, digests] : a.golden_firmware)
    fmt::print(out, "  golden firmware {}: {} digest{}\n", version, digests.size(), digests.size() == 1 ? "" : "s");
}

}  // namespace

bool load_site_file(const std::string& path, SitePolicy& policy, SensorSection& sensor,
                    std::vector<std::string>& errors, attest::AttestationConfig* attestation,
                    SyslogSection* syslog, std::vector<std::string>* rule_files) {
  std::vector<std::string> found;
  load_site_policy(path, policy, found);
  load_sensor_section(path, sensor, found);
  attest::AttestationConfig unused;
  attest::load_attestation_config(path, attestation ? *attestation : unused, found);
  SyslogSection no_syslog;
  load_syslog_section(path, syslog ? *syslog : no_syslog, found);
  std::vector<std::string> no_rule_files;
  rules::load_rules_section(path, rule_files ? *rule_files : no_rule_files, found);
  // Both loaders check the top level; keep one of each message, then order by position.
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (auto& e : found)
    if (seen.insert(e).second) unique.push_back(std::move(e));
  order_by_position(path, unique);
  errors.insert(errors.end(), unique.begin(), unique.end());
  return unique.empty();
}

int check_config(const std::string& path, std::FILE* out, std::FILE* err, const std::vector<std::string>& extra_rules) {
  SiteConfig site;
  std::vector<std::string> errors;
  if (load_site_config(path, extra_rules, site, errors) != SiteLoad::Ok) {
    for (const auto& e : errors) fmt::print(err, "{}\n", e);
    fmt::print(err, "otsensor: error: invalid site model {} ({} problem{})\n", path, errors.size(),
               errors.size() == 1 ? "" : "s");
    return 2;
  }
  print_model(path, *site.policy, out);
  print_attestation(site.attestation, out);
  if (!site.syslog.destinations.empty()) {
    fmt::print(out, "\nsyslog outputs: {}\n", site.syslog.destinations.size());
    for (const SyslogDestination& d : site.syslog.destinations) fmt::print(out, "  {}: {}\n", d.name, describe(d));
  }
  if (const rules::RuleDatabase* rule_db = site.rules.get()) {
    const std::vector<std::string>& rule_files = site.rule_files;
    fmt::print(out, "\nrules: {} from {} file{} ({} content pattern{}, {} KiB of Hyperscan databases)\n",
               rule_db->rules().size(), rule_files.size(), rule_files.size() == 1 ? "" : "s", rule_db->patterns(),
               rule_db->patterns() == 1 ? "" : "s", (rule_db->database_bytes() + 1023) / 1024);
    for (const std::string& f : rule_files) fmt::print(out, "  {}\n", f);
    if (const size_t n = rule_db->stream_rules()) {
      // What sensor.rule_streams_max costs at most, per worker, with these rules.
      const rules::StreamLimits& lim = site.sensor.pipeline.rule_streams;
      const uint64_t state = rule_db->stream_state_bytes();
      fmt::print(out, "stream rules: {} ({} bytes of Hyperscan state per open stream; depth {} KiB per direction, at "
                      "most {} streams, {} KiB, per worker)\n",
                 n, state, lim.depth_bytes / 1024, lim.max_streams, (state * lim.max_streams + 1023) / 1024);
    }
  }
  return 0;
}

int check_config_command(const std::string& path, const std::vector<std::string>& extra_rules) {
  return check_config(path, stdout, stderr, extra_rules);
}

}  // namespace ots
