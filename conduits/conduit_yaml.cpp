#include "conduits/conduit_yaml.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace ots {

namespace {

using site_yaml::Field;
using site_yaml::Reader;

constexpr std::string_view kProtocols =
    "modbus, dnp3, enip, cip, s7comm, s7comm-plus, aqat, tcp, udp, icmp or any";

bool rule_protocol_from_name(std::string_view s, RuleProtocol& out) {
  static constexpr std::pair<std::string_view, RuleProtocol> kNames[] = {
      {"modbus", RuleProtocol::Modbus}, {"dnp3", RuleProtocol::Dnp3},
      {"enip", RuleProtocol::EnipCip},  {"cip", RuleProtocol::EnipCip},
      {"s7comm", RuleProtocol::S7comm}, {"s7comm-plus", RuleProtocol::S7commPlus},
      {"aqat", RuleProtocol::Aqat},     {"tcp", RuleProtocol::Tcp},
      {"udp", RuleProtocol::Udp},       {"icmp", RuleProtocol::Icmp},
      {"any", RuleProtocol::Any}};
  for (const auto& [name, p] : kNames) {
    if (name == s) {
      out = p;
      return true;
    }
  }
  return false;
}

struct ConduitCtx {
  const SiteModel& model;
  std::string subject;   // "conduit 'name': " or "conduits[3]: "
  bool zones_ok = false; // both zones resolved: `from` can be checked
  int16_t zones[2] = {-1, -1};
};

void parse_rule(Reader& r, const YAML::Node& item, size_t index, const ConduitCtx& c, std::vector<ConduitRule>& out) {
  const std::string subject = fmt::format("{}allow[{}]: ", c.subject, index);
  if (!item.IsMap()) {
    r.error(item, fmt::format("{}a rule must be a map (protocol, from, ports, operations, read_only), got {}", subject,
                              Reader::describe(item)));
    return;
  }
  std::vector<Field> f;
  r.fields(item, subject, "", {{"protocol", true}, {"from"}, {"ports"}, {"operations"}, {"read_only"}}, f);
  ConduitRule rule;
  rule.pos = Reader::pos(item);
  bool protocol_ok = false;
  if (f[0]) {
    if (auto p = r.text(f[0], subject, "protocol")) {
      protocol_ok = rule_protocol_from_name(*p, rule.protocol);
      if (protocol_ok) {
        rule.protocol_text = *p;
      } else {
        r.error(f[0].value, fmt::format("{}unknown protocol '{}', expected {}", subject, *p, kProtocols));
      }
    }
  }
  if (f[1]) {
    if (auto from = r.text(f[1], subject, "from")) {
      const int16_t z = c.model.zone_index(*from);
      if (z >= 0 && (z == c.zones[0] || z == c.zones[1])) {
        rule.from = z;
      } else if (c.zones_ok) {
        r.error(f[1].value, fmt::format("{}from '{}' is not one of the conduit's zones ({}, {})", subject, *from,
                                        c.model.zones[size_t(c.zones[0])].name, c.model.zones[size_t(c.zones[1])].name));
      }
    }
  }
  if (f[2]) {
    if (protocol_ok && (rule.protocol == RuleProtocol::Icmp || rule.protocol == RuleProtocol::Any)) {
      r.error(f[2].key, fmt::format("{}ports do not apply to protocol '{}' (only to tcp, udp and the ICS protocols)",
                                    subject, rule.protocol_text));
    } else if (r.list(f[2], subject, "ports")) {
      for (const auto& p : f[2].value) {
        // Port 0 is reserved and never a responder port.
        if (auto port = r.integer(p, subject, "port", 1, 65535)) rule.ports.push_back(static_cast<uint16_t>(*port));
      }
      std::sort(rule.ports.begin(), rule.ports.end());
      rule.ports.erase(std::unique(rule.ports.begin(), rule.ports.end()), rule.ports.end());
    }
  }
  const OpFamily family = protocol_ok ? rule_op_family(rule.protocol) : OpFamily::None;
  // Restricting operations needs a protocol whose operations the dissectors report.
  auto restrictable = [&](const Field& fld, std::string_view key) {
    if (!protocol_ok) return false;
    if (is_transport_rule(rule.protocol)) {
      r.error(fld.key, fmt::format("{}{} applies to ICS protocols (modbus, dnp3, enip, cip, s7comm, s7comm-plus), "
                                   "not '{}'",
                                   subject, key, rule.protocol_text));
      return false;
    }
    if (family == OpFamily::None) {
      r.error(fld.key, fmt::format("{}{}: {} has no operations to restrict", subject, key, rule.protocol_text));
      return false;
    }
    return true;
  };
  bool read_only_given = false;
  if (f[4]) {
    if (auto ro = r.boolean(f[4], subject, "read_only"); ro && *ro && restrictable(f[4], "read_only")) {
      read_only_given = true;
      if (read_only_operations(family).empty()) {
        r.error(f[4].key, fmt::format("{}read_only: {} has no read-only set, list its operations instead", subject,
                                      rule.protocol_text));
      } else if (f[3]) {
        // Union or intersection would both surprise someone: make the writer say which operations.
        r.error(f[4].key, fmt::format("{}read_only and operations exclude each other: use read_only alone for the "
                                      "protocol's read set, or list every allowed operation under operations",
                                      subject));
      } else {
        rule.read_only = true;
        rule.all_operations = false;
        for (const OpKey k : read_only_operations(family)) {
          rule.operations.push_back(k);
          rule.operation_names.push_back(operation_key_name(family, k));
        }
      }
    }
  }
  if (f[3] && !read_only_given && restrictable(f[3], "operations") && r.list(f[3], subject, "operations")) {
    rule.all_operations = false;
    for (const auto& op : f[3].value) {
      if (!op.IsScalar()) {
        r.error(op, fmt::format("{}operation must be a name or a code, got {}", subject, Reader::describe(op)));
        continue;
      }
      ParsedOperation parsed;
      std::string why;
      if (!parse_operation(family, op.Scalar(), parsed, why)) {
        r.error(op, fmt::format("{}{}", subject, why));
        continue;
      }
      for (uint8_t i = 0; i < parsed.count; ++i) rule.operations.push_back(parsed.keys[i]);
      if (std::find(rule.operation_names.begin(), rule.operation_names.end(), parsed.canonical) ==
          rule.operation_names.end())
        rule.operation_names.push_back(parsed.canonical);
    }
  }
  std::sort(rule.operations.begin(), rule.operations.end());
  rule.operations.erase(std::unique(rule.operations.begin(), rule.operations.end()), rule.operations.end());
  out.push_back(std::move(rule));
}

}  // namespace

void parse_conduits_section(Reader& r, const Field& section, const SiteModel& model,
                            const std::set<std::string>& bad_zone_names, std::vector<Conduit>& out) {
  out.clear();
  if (!r.list(section, "", "conduits")) return;
  std::map<std::string, SourcePos> names;
  std::map<std::pair<int16_t, int16_t>, size_t> pairs;  // zone pair -> index in out
  size_t index = 0;
  for (const auto& item : section.value) {
    ConduitCtx c{model, fmt::format("conduits[{}]: ", index)};
    ++index;
    if (!item.IsMap()) {
      r.error(item, fmt::format("{}a conduit must be a map (name, zones, allow), got {}", c.subject,
                                Reader::describe(item)));
      continue;
    }
    for (const auto& kv : item) {
      if (kv.first.IsScalar() && kv.first.Scalar() == "name" && kv.second.IsScalar() && !kv.second.Scalar().empty()) {
        c.subject = fmt::format("conduit '{}': ", kv.second.Scalar());
        break;
      }
    }
    std::vector<Field> f;
    r.fields(item, c.subject, "", {{"name", true}, {"zones", true}, {"allow", true}}, f);
    Conduit conduit;
    conduit.pos = Reader::pos(item);
    bool keep = true;
    if (f[0]) {
      if (auto name = r.text(f[0], c.subject, "name")) {
        if (name->empty()) {
          r.error(f[0].value, fmt::format("{}name is empty, expected the conduit's name", c.subject));
          keep = false;
        } else if (const auto it = names.find(*name); it != names.end()) {
          r.error(f[0].value, fmt::format("conduit '{}' is defined twice (first at line {})", *name, it->second.line));
          keep = false;
        } else {
          names.emplace(*name, Reader::pos(item));
          conduit.name = *name;
        }
      } else {
        keep = false;
      }
    } else {
      keep = false;
    }
    if (f[1] && r.list(f[1], c.subject, "zones")) {
      const YAML::Node& zs = f[1].value;
      if (zs.size() != 2) {
        r.error(zs, fmt::format("{}zones must name two zones, got {}", c.subject, zs.size()));
      } else {
        bool resolved = true;
        for (size_t i = 0; i < 2; ++i) {
          const YAML::Node& zn = zs[i];
          if (!zn.IsScalar()) {
            r.error(zn, fmt::format("{}zones must name zones, got {}", c.subject, Reader::describe(zn)));
            resolved = false;
            continue;
          }
          c.zones[i] = model.zone_index(zn.Scalar());
          if (c.zones[i] < 0) {
            if (!bad_zone_names.count(zn.Scalar()))
              r.error(zn, fmt::format("{}zone '{}' is not defined", c.subject, zn.Scalar()));
            resolved = false;
          }
        }
        if (resolved && c.zones[0] == c.zones[1]) {
          r.error(zs[1], fmt::format("{}zones names '{}' twice, expected two distinct zones (traffic inside a zone "
                                     "follows defaults.intra_zone)",
                                     c.subject, zs[1].Scalar()));
          resolved = false;
        }
        if (resolved) {
          const auto key = std::minmax(c.zones[0], c.zones[1]);
          if (const auto it = pairs.find(key); it != pairs.end() && keep) {
            // One conduit per zone pair, so that a flow belongs to exactly one conduit.
            r.error(zs, fmt::format("{}zones {} and {} are already joined by conduit '{}' (line {}): put the rules "
                                    "in one conduit",
                                    c.subject, zs[0].Scalar(), zs[1].Scalar(), out[it->second].name,
                                    out[it->second].pos.line));
          } else if (keep && it == pairs.end()) {
            pairs.emplace(key, out.size());
          }
          c.zones_ok = true;
          conduit.zones[0] = c.zones[0];
          conduit.zones[1] = c.zones[1];
        }
      }
    }
    if (f[2] && r.list(f[2], c.subject, "allow")) {
      if (f[2].value.size() > kMaxRulesPerConduit) {
        r.error(f[2].value, fmt::format("{}allow has {} rules, expected at most {} (merge rules, e.g. list several "
                                        "operations or ports in one rule)",
                                        c.subject, f[2].value.size(), kMaxRulesPerConduit));
      } else {
        size_t i = 0;
        for (const auto& rule : f[2].value) parse_rule(r, rule, i++, c, conduit.allow);
      }
    }
    if (keep && c.zones_ok) out.push_back(std::move(conduit));
  }
}

}  // namespace ots
