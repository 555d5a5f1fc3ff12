#include "zones/site_yaml.hpp"

#include <charconv>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

namespace ots::site_yaml {

SourcePos Reader::pos(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  // yaml-cpp marks are 0-based; editors and compilers count from 1.
  return {m.line + 1, m.column + 1};
}

std::string Reader::where(const YAML::Node& n) const {
  const SourcePos p = pos(n);
  return fmt::format("{}:{}:{}", path_, p.line, p.column);
}

void Reader::error(const YAML::Node& at, std::string_view message) {
  errors_.push_back(fmt::format("{}: {}", where(at), message));
}

void Reader::error(SourcePos at, std::string_view message) {
  errors_.push_back(fmt::format("{}:{}:{}: {}", path_, at.line, at.column, message));
}

std::string Reader::describe(const YAML::Node& n) {
  if (n.IsScalar()) return fmt::format("'{}'", n.Scalar());
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "nothing";
}

void Reader::fields(const YAML::Node& map, std::string_view subject, std::string_view key_prefix,
                    std::initializer_list<Key> keys, std::vector<Field>& out) {
  out.assign(keys.size(), Field{});
  if (!map.IsMap()) return;
  std::string expected;
  for (const Key& k : keys) expected += (expected.empty() ? "" : ", ") + std::string(k.name);
  for (const auto& kv : map) {
    const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : describe(kv.first);
    size_t i = 0;
    for (const Key& k : keys) {
      if (k.name == name) break;
      ++i;
    }
    if (i == keys.size()) {
      error(kv.first, fmt::format("{}unknown key '{}{}', expected {}", subject, key_prefix, name, expected));
    } else if (out[i].present) {
      error(kv.first, fmt::format("{}key '{}{}' appears twice (first at line {})", subject, key_prefix, name,
                                  pos(out[i].key).line));
    } else {
      out[i] = Field{kv.first, kv.second, true};
    }
  }
  size_t i = 0;
  for (const Key& k : keys) {
    if (k.required && !out[i].present)
      error(map, fmt::format("{}missing required key '{}{}'", subject, key_prefix, k.name));
    ++i;
  }
}

std::optional<std::string> Reader::text(const Field& f, std::string_view subject, std::string_view label) {
  if (!f.value.IsScalar()) {
    error(at(f), fmt::format("{}{} must be text, got {}", subject, label, describe(f.value)));
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::optional<int64_t> Reader::integer(const YAML::Node& n, std::string_view subject, std::string_view label,
                                       int64_t lo, int64_t hi) {
  int64_t v = 0;
  bool ok = n.IsScalar();
  if (ok) {
    const std::string& s = n.Scalar();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    ok = !s.empty() && ec == std::errc{} && end == s.data() + s.size();
  }
  if (!ok) {
    error(n, fmt::format("{}{} must be a whole number {} to {}, got {}", subject, label, lo, hi, describe(n)));
    return std::nullopt;
  }
  if (v < lo || v > hi) {
    error(n, fmt::format("{}{} is {}, expected {} to {}", subject, label, v, lo, hi));
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> Reader::integer(const Field& f, std::string_view subject, std::string_view label, int64_t lo,
                                       int64_t hi) {
  if (f.value.IsNull()) {
    error(f.key, fmt::format("{}{} must be a whole number {} to {}, got nothing", subject, label, lo, hi));
    return std::nullopt;
  }
  return integer(f.value, subject, label, lo, hi);
}

std::optional<double> Reader::number(const Field& f, std::string_view subject, std::string_view label, double lo,
                                     double hi) {
  double v = 0;
  bool ok = f.value.IsScalar();
  if (ok) {
    const std::string& s = f.value.Scalar();
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    ok = !s.empty() && end == s.c_str() + s.size() && v == v;  // v == v: not NaN
  }
  if (!ok) {
    error(at(f), fmt::format("{}{} must be a number, got {}", subject, label, describe(f.value)));
    return std::nullopt;
  }
  if (v < lo || v > hi) {
    error(at(f), fmt::format("{}{} is {}, expected {} to {}", subject, label, f.value.Scalar(), lo, hi));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Reader::boolean(const Field& f, std::string_view subject, std::string_view label) {
  bool v = false;
  if (f.value.IsScalar() && YAML::convert<bool>::decode(f.value, v)) return v;
  error(at(f), fmt::format("{}{} must be true or false, got {}", subject, label, describe(f.value)));
  return std::nullopt;
}

bool Reader::list(const Field& f, std::string_view subject, std::string_view label) {
  if (f.value.IsSequence()) return true;
  error(at(f), fmt::format("{}{} must be a list, got {}", subject, label, describe(f.value)));
  return false;
}

bool load_document(const std::string& path, YAML::Node& root, std::vector<std::string>& errors) {
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    errors.push_back(fmt::format("{}: cannot read the file", path));
    return false;
  } catch (const YAML::ParserException& e) {
    errors.push_back(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    return false;
  }
  return true;
}

namespace {

// The top-level sections of the site model file. Each is validated by the library that owns it:
// zones/ (site, defaults, zones), conduits/ (conduits), sensor/ (sensor), and the attestation,
// output and rule libraries theirs. The messages match sensor/sensor_section.cpp's word for word, so
// a caller that runs both loaders can drop the duplicates.
constexpr std::string_view kSections = "site, defaults, zones, conduits, attestation, outputs, rules, sensor";
constexpr std::string_view kSectionNames[] = {"site",        "defaults", "zones", "conduits",
                                              "attestation", "outputs",  "rules", "sensor"};

bool valid_zone_name(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

// `intra_zone: allow | deny`, in defaults and in a zone.
void parse_intra_zone(Reader& r, const Field& f, std::string_view subject, std::string_view label,
                      IntraZonePolicy& out) {
  if (auto v = r.text(f, subject, label)) {
    if (*v == "allow") {
      out = IntraZonePolicy::Allow;
    } else if (*v == "deny") {
      out = IntraZonePolicy::Deny;
    } else {
      r.error(f.value, fmt::format("{}{} is '{}', expected allow or deny", subject, label, *v));
    }
  }
}

void parse_defaults(Reader& r, const Field& section, SiteDefaults& d) {
  if (!section.value.IsMap()) {
    r.error(Reader::at(section), fmt::format("defaults must be a map (intra_zone, unknown_hosts, notice_suppress_s), "
                                             "got {}",
                                             Reader::describe(section.value)));
    return;
  }
  std::vector<Field> f;
  r.fields(section.value, "", "defaults.", {{"intra_zone"}, {"unknown_hosts"}, {"notice_suppress_s"}},
           f);
  if (f[0]) parse_intra_zone(r, f[0], "", "defaults.intra_zone", d.intra_zone);
  if (f[1]) {
    if (auto v = r.text(f[1], "", "defaults.unknown_hosts")) {
      if (*v == "alert") {
        d.unknown_hosts = UnknownHostPolicy::Alert;
      } else if (*v == "ignore") {
        d.unknown_hosts = UnknownHostPolicy::Ignore;
      } else {
        r.error(f[1].value, fmt::format("defaults.unknown_hosts is '{}', expected alert or ignore", *v));
      }
    }
  }
  if (f[2]) {
    // Up to 30 days: a longer window would hide a recurring violation for most of a month.
    if (auto v = r.number(f[2], "", "defaults.notice_suppress_s", 0, 30 * 86400.0))
      d.notice_suppress_ns = static_cast<uint64_t>(*v * 1e9);
  }
}

struct NetworkSeen {
  int16_t zone;
  SourcePos pos;
};

void parse_zone(Reader& r, const YAML::Node& item, size_t index, SiteModel& out, std::set<std::string>& bad_names,
                std::map<Cidr, NetworkSeen>& seen_networks) {
  // Messages name the zone once its name is known to be good, and its position in the list otherwise.
  std::string subject = fmt::format("zones[{}]: ", index);
  if (!item.IsMap()) {
    r.error(item, fmt::format("zones[{}] must be a map (name, security_level, networks, ...), got {}", index,
                              Reader::describe(item)));
    return;
  }
  std::vector<Field> f;
  // The name first, so that every other message can say which zone it is about.
  for (const auto& kv : item) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "name" && kv.second.IsScalar() &&
        valid_zone_name(kv.second.Scalar())) {
      subject = fmt::format("zone '{}': ", kv.second.Scalar());
      break;
    }
  }
  r.fields(item, subject, "",
           {{"name", true}, {"security_level", true}, {"networks", true}, {"vlans"}, {"require_attestation"},
            {"require_hardware_root"}, {"intra_zone"}},
           f);
  Zone z;
  z.pos = Reader::pos(item);
  bool keep = false;
  if (f[0]) {
    if (auto name = r.text(f[0], subject, "name")) {
      if (!valid_zone_name(*name)) {
        r.error(f[0].value, fmt::format("{}name '{}' must match [a-z0-9_-]+ (lower-case letters, digits, '_', '-')",
                                        subject, *name));
        bad_names.insert(*name);
      } else if (const int16_t first = out.zone_index(*name); first >= 0) {
        r.error(f[0].value, fmt::format("zone '{}' is defined twice (first at line {})", *name,
                                        out.zones[size_t(first)].pos.line));
      } else {
        z.name = *name;
        keep = true;
      }
    }
  }
  if (f[1]) {
    if (auto sl = r.integer(f[1], subject, "security_level", 1, 4)) z.security_level = int(*sl);
  }
  const auto zone_id = static_cast<int16_t>(out.zones.size());
  if (f[2] && r.list(f[2], subject, "networks")) {
    if (f[2].value.size() == 0)
      r.error(f[2].value, fmt::format("{}networks is empty, expected at least one CIDR", subject));
    for (const auto& n : f[2].value) {
      if (!n.IsScalar()) {
        r.error(n, fmt::format("{}network must be a CIDR such as 10.1.0.0/16, got {}", subject, Reader::describe(n)));
        continue;
      }
      Cidr c;
      std::string why;
      if (!parse_cidr(n.Scalar(), c, why)) {
        r.error(n, fmt::format("{}{}", subject, why));
        continue;
      }
      const auto it = seen_networks.find(c);
      if (it != seen_networks.end()) {
        if (keep && it->second.zone == zone_id) {
          r.error(n, fmt::format("{}network {} is listed twice", subject, c.to_string()));
        } else if (keep && it->second.zone >= 0) {
          r.error(n, fmt::format("{}network {} is also in zone '{}' (line {}), so no longest prefix decides between "
                                 "them: give it to one zone",
                                 subject, c.to_string(), out.zones[size_t(it->second.zone)].name, it->second.pos.line));
        }
        continue;
      }
      if (keep) seen_networks.emplace(c, NetworkSeen{zone_id, Reader::pos(n)});
      z.networks.push_back(c);
    }
  }
  if (f[3] && r.list(f[3], subject, "vlans")) {
    for (const auto& v : f[3].value) {
      // 0 is the priority tag and 4095 reserved (IEEE 802.1Q): neither names a VLAN.
      if (auto id = r.integer(v, subject, "vlan id", 1, 4094)) {
        const auto vid = static_cast<uint16_t>(*id);
        bool dup = false;
        for (const uint16_t x : z.vlans) dup |= x == vid;
        if (!dup) z.vlans.push_back(vid);
      }
    }
  }
  // IEC 62443-3-3 raises the bar on component integrity with the level: attestation from SL 2
  // (SR 3.4 RE), a hardware root of trust from SL 3, unless the model says otherwise.
  z.require_attestation = z.security_level >= 2;
  if (f[4]) {
    if (auto v = r.boolean(f[4], subject, "require_attestation")) z.require_attestation = *v;
  }
  z.require_hardware_root = z.security_level >= 3 && z.require_attestation;
  if (f[5]) {
    if (auto v = r.boolean(f[5], subject, "require_hardware_root")) {
      // A hardware root of trust is only ever checked through the attestation evidence.
      if (*v && !z.require_attestation)
        r.error(f[5].value, fmt::format("{}require_hardware_root: true needs require_attestation: true (the hardware "
                                        "root of trust is checked through attestation)",
                                        subject));
      z.require_hardware_root = *v && z.require_attestation;
    }
  }
  // defaults is parsed before the zones, whatever the order of the file's sections.
  z.intra_zone = out.defaults.intra_zone;
  if (f[6]) parse_intra_zone(r, f[6], subject, "intra_zone", z.intra_zone);
  if (keep) out.zones.push_back(std::move(z));
}

}  // namespace

void parse_site_sections(Reader& r, const YAML::Node& root, SiteModel& out, std::set<std::string>& bad_zone_names) {
  out = SiteModel{};
  if (!root.IsMap()) {
    // Same text as sensor/sensor_section.cpp; an empty file has no mark, so 1:1.
    r.error(SourcePos{1, 1}, fmt::format("the site model must be a map of sections ({})", kSections));
    return;
  }
  std::map<std::string, YAML::Node> first_key;
  Field site, defaults, zones;
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : Reader::describe(kv.first);
    bool known = false;
    for (const std::string_view s : kSectionNames) known |= s == key;
    if (!known) {
      r.error(kv.first, fmt::format("unknown section '{}', expected one of {}", key, kSections));
      continue;
    }
    if (const auto it = first_key.find(key); it != first_key.end()) {
      r.error(kv.first, fmt::format("section '{}' appears twice (first at line {})", key, Reader::pos(it->second).line));
      continue;
    }
    first_key.emplace(key, kv.first);
    const Field f{kv.first, kv.second, true};
    if (key == "site") site = f;
    if (key == "defaults") defaults = f;
    if (key == "zones") zones = f;
  }
  if (site) {
    if (auto v = r.text(site, "", "site")) out.site = *v;
  }
  if (defaults) parse_defaults(r, defaults, out.defaults);
  if (!zones) return;
  out.has_zones = true;
  if (!r.list(zones, "", "zones")) return;
  if (zones.value.size() == 0) {
    r.error(zones.value, "zones is empty, expected at least one zone (leave the section out for no zone policy)");
    return;
  }
  // Zone ids are int16_t in the per-flow state.
  if (zones.value.size() > 32767) {
    r.error(zones.value, fmt::format("zones has {} entries, expected at most 32767", zones.value.size()));
    return;
  }
  std::map<Cidr, NetworkSeen> seen_networks;
  size_t index = 0;
  for (const auto& item : zones.value) parse_zone(r, item, index++, out, bad_zone_names, seen_networks);
  std::vector<ZoneLookup::Network> networks;
  for (size_t z = 0; z < out.zones.size(); ++z)
    for (const Cidr& c : out.zones[z].networks) networks.push_back({c, static_cast<int16_t>(z)});
  out.lookup.build(networks);
}

}  // namespace ots::site_yaml
