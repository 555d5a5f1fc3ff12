// The rule files' loader: YAML to the validated structs of rule.hpp, every problem with FILE:LINE:COL.
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>

#include "dissectors/enip/cip_names.hpp"
#include "rules/content_pattern.hpp"
#include "rules/rule.hpp"

namespace ots::rules {

namespace {

constexpr const char* kRuleKeys =
    "id, name, severity, protocol, direction, scope, match, content, threshold, mitre, references";
constexpr const char* kMatchKeys =
    "operation, subfunction, unit_id, address, quantity, is_write, dnp3_object_group, s7_area, s7_db, cip_class, "
    "cip_instance, cip_attribute, from_zone, to_zone, conduit";

SourceMark mark_of(const std::string& path, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  // yaml-cpp marks are 0-based; editors and compilers count from 1.
  return SourceMark{path, m.line + 1, m.column + 1};
}

class Loader {
 public:
  Loader(const std::string& path, std::vector<std::string>& errors) : path_(path), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& what) {
    errors_.push_back(fmt::format("{}: {}", mark_of(path_, at).text(), what));
    ok_ = false;
  }
  bool ok() const { return ok_; }

  // Keys of a mapping, each once; unknown and repeated keys are errors.
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> keys(const YAML::Node& map, const std::set<std::string>& known,
                                                                const char* what, const char* expected) {
    std::map<std::string, std::pair<YAML::Node, YAML::Node>> out;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        error(kv.first, fmt::format("{} keys must be names", what));
        continue;
      }
      const std::string k = kv.first.Scalar();
      if (!known.count(k)) {
        error(kv.first, fmt::format("unknown key '{}' in {}, expected one of {}", k, what, expected));
        continue;
      }
      if (out.count(k)) {
        error(kv.first, fmt::format("key '{}' is given twice in {}", k, what));
        continue;
      }
      out[k] = {kv.first, kv.second};
    }
    return out;
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) {
      error(n, fmt::format("'{}' must be a single value, not a {}", key, n.IsMap() ? "map" : n.IsSequence() ? "list" : "null"));
      return std::nullopt;
    }
    return n.Scalar();
  }

  // Decimal or 0x hex, within [lo, hi].
  std::optional<int64_t> integer(const YAML::Node& n, const std::string& key, int64_t lo, int64_t hi) {
    const auto s = scalar(n, key);
    if (!s) return std::nullopt;
    const auto v = parse_int(*s);
    if (!v || *v < lo || *v > hi) {
      error(n, fmt::format("'{}' must be an integer from {} to {}, got '{}'", key, lo, hi, *s));
      return std::nullopt;
    }
    return v;
  }

  // "LO-HI" or one integer.
  std::optional<Range> range(const YAML::Node& n, const std::string& key, int64_t lo, int64_t hi) {
    const auto s = scalar(n, key);
    if (!s) return std::nullopt;
    const size_t dash = s->find('-', 1);
    std::optional<int64_t> a = parse_int(dash == std::string::npos ? *s : s->substr(0, dash));
    std::optional<int64_t> b = dash == std::string::npos ? a : parse_int(s->substr(dash + 1));
    if (!a || !b || *a > *b || *a < lo || *b > hi) {
      error(n, fmt::format("'{}' must be a range \"LO-HI\" (or one number) within {} to {}, got '{}'", key, lo, hi, *s));
      return std::nullopt;
    }
    return Range{*a, *b};
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& key) {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) {
      error(n, fmt::format("'{}' must be a list of strings", key));
      return out;
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        error(item, fmt::format("'{}' items must be strings", key));
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  static std::optional<int64_t> parse_int(std::string s) {
    int base = 10;
    size_t at = 0;
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
      neg = true;
      at = 1;
    }
    if (s.size() > at + 2 && s[at] == '0' && (s[at + 1] == 'x' || s[at + 1] == 'X')) {
      base = 16;
      at += 2;
    }
    int64_t v = 0;
    const char* b = s.data() + at;
    const char* e = s.data() + s.size();
    const auto [end, ec] = std::from_chars(b, e, v, base);
    if (b == e || ec != std::errc{} || end != e) return std::nullopt;
    return neg ? -v : v;
  }

  void rule(const YAML::Node& node, std::vector<Rule>& out);

 private:
  void match(const YAML::Node& node, Rule& r);
  void operations(const YAML::Node& node, Rule& r);
  void content(const YAML::Node& node, Rule& r);
  void threshold(const YAML::Node& node, Rule& r);

  const std::string& path_;
  std::vector<std::string>& errors_;
  bool ok_ = true;
};

void Loader::rule(const YAML::Node& node, std::vector<Rule>& out) {
  if (!node.IsMap()) {
    error(node, "a rule must be a map with id, name, severity, protocol, ...");
    return;
  }
  static const std::set<std::string> known = {"id", "name", "severity", "protocol", "direction", "scope",
                                              "match", "content", "threshold", "mitre", "references"};
  auto k = keys(node, known, "a rule", kRuleKeys);
  Rule r;
  r.mark = mark_of(path_, node);
  const size_t before = errors_.size();
  for (const char* required : {"id", "name", "severity", "protocol"}) {
    // yaml-cpp has no mark for a missing key: the rule's own mapping is the place.
    if (!k.count(required)) error(node, fmt::format("rule has no '{}' (required: id, name, severity, protocol)", required));
  }
  if (k.count("id")) {
    if (auto v = integer(k["id"].second, "id", 1, INT64_MAX)) r.id = static_cast<uint64_t>(*v);
  }
  if (k.count("name")) {
    if (auto v = scalar(k["name"].second, "name")) {
      if (v->empty()) error(k["name"].second, "'name' must not be empty");
      r.name = *v;
    }
  }
  if (k.count("severity")) {
    if (auto v = scalar(k["severity"].second, "severity")) {
      if (*v == "low") r.severity = Severity::Low;
      else if (*v == "medium") r.severity = Severity::Medium;
      else if (*v == "high") r.severity = Severity::High;
      else if (*v == "critical") r.severity = Severity::Critical;
      else error(k["severity"].second, fmt::format("unknown severity '{}', expected low, medium, high or critical", *v));
    }
  }
  bool protocol_ok = false;
  if (k.count("protocol")) {
    if (auto v = scalar(k["protocol"].second, "protocol")) {
      for (size_t i = 0; i < kRuleProtocols; ++i) {
        if (rule_protocol_name(static_cast<RuleProtocol>(i)) == *v) {
          r.protocol = static_cast<RuleProtocol>(i);
          protocol_ok = true;
        }
      }
      if (!protocol_ok)
        error(k["protocol"].second, fmt::format("unknown protocol '{}', expected modbus, dnp3, enip, cip, s7comm, "
                                                "s7comm-plus, aqat or tristation", *v));
    }
  }
  if (k.count("direction")) {
    if (auto v = scalar(k["direction"].second, "direction")) {
      if (*v == "to_server") r.direction = Direction::ToServer;
      else if (*v == "to_client") r.direction = Direction::ToClient;
      else if (*v == "any") r.direction = Direction::Any;
      else error(k["direction"].second, fmt::format("unknown direction '{}', expected to_server, to_client or any", *v));
    }
  }
  if (k.count("scope")) {
    const YAML::Node& at = k["scope"].second;
    if (auto v = scalar(at, "scope")) {
      if (*v == "stream") r.scope = Scope::Stream;
      else if (*v != "pdu") error(at, fmt::format("unknown scope '{}', expected pdu or stream", *v));
    }
    if (r.scope == Scope::Stream) {
      // Stream rules see bytes, not events: without content there is nothing for them to match, and a
      // protocol without a TCP stream of its own has no bytes for them.
      if (!k.count("content")) error(at, "a stream rule needs 'content' (it matches patterns in the connection's bytes)");
      if (protocol_ok && !stream_scope_applies(r.protocol)) {
        error(at, fmt::format("scope: stream does not apply to {} rules ({}); it applies to modbus, dnp3, enip, s7comm "
                              "and s7comm-plus",
                              rule_protocol_name(r.protocol),
                              r.protocol == RuleProtocol::Cip ? "CIP travels inside ENIP: write protocol: enip"
                                                              : "its UDP datagrams are matched one by one"));
      }
    }
  }
  if (k.count("match") && protocol_ok) match(k["match"].second, r);
  if (k.count("content")) content(k["content"].second, r);
  if (k.count("threshold")) threshold(k["threshold"].second, r);
  if (k.count("mitre")) {
    for (const std::string& t : string_list(k["mitre"].second, "mitre")) {
      // ATT&CK for ICS technique ids: T0800-T0899 (no sub-techniques in the ICS matrix).
      const bool ok = t.size() == 5 && t[0] == 'T' && t[1] == '0' && t[2] == '8' && std::isdigit(uint8_t(t[3])) &&
                      std::isdigit(uint8_t(t[4]));
      if (!ok) {
        error(k["mitre"].second, fmt::format("'{}' is not an ATT&CK for ICS technique id (T08xx)", t));
        continue;
      }
      r.mitre.push_back(t);
      r.mitre_text += (r.mitre_text.empty() ? "" : ",") + t;
    }
  }
  if (k.count("references")) r.references = string_list(k["references"].second, "references");
  if (errors_.size() == before) out.push_back(std::move(r));
}

void Loader::match(const YAML::Node& node, Rule& r) {
  if (!node.IsMap()) {
    error(node, "'match' must be a map of conditions");
    return;
  }
  static const std::set<std::string> known = {"operation", "subfunction", "unit_id", "address", "quantity",
                                              "is_write", "dnp3_object_group", "s7_area", "s7_db", "cip_class",
                                              "cip_instance", "cip_attribute", "from_zone", "to_zone", "conduit"};
  auto k = keys(node, known, "'match'", kMatchKeys);
  if (r.scope == Scope::Stream) {
    // A stream rule has no operation event to hold its fields against; the connection's zones and
    // conduit it does have.
    for (auto it = k.begin(); it != k.end();) {
      if (it->first == "from_zone" || it->first == "to_zone" || it->first == "conduit") {
        ++it;
        continue;
      }
      error(it->second.first, fmt::format("'{}' does not apply to stream rules (they match the connection's reassembled "
                                          "bytes, not its operation events); they take from_zone, to_zone and conduit",
                                          it->first));
      it = k.erase(it);
    }
  }
  const RuleProtocol p = r.protocol;
  const bool port_only = port_only_udp_port(p) != 0;
  const bool cip = p == RuleProtocol::Cip || p == RuleProtocol::Enip;
  auto applies = [&](const std::string& key, bool ok, const char* which) {
    if (!k.count(key)) return false;
    if (!ok) {
      error(k[key].first, fmt::format("'{}' does not apply to {} rules ({})", key, rule_protocol_name(p), which));
      return false;
    }
    return true;
  };
  FieldMatch& m = r.match;
  const char* no_fields = "it applies to protocols with operation events";
  if (applies("operation", !port_only && p != RuleProtocol::Aqat, "the protocol has no operations")) operations(k["operation"].second, r);
  if (applies("subfunction", !port_only, no_fields)) m.subfunction = integer(k["subfunction"].second, "subfunction", 0, 0xFFFF);
  if (applies("unit_id", !port_only, no_fields)) m.unit_id = integer(k["unit_id"].second, "unit_id", 0, 0xFFFF);
  if (applies("address", !port_only, no_fields)) m.address = range(k["address"].second, "address", 0, UINT32_MAX);
  if (applies("quantity", !port_only, no_fields)) m.quantity = range(k["quantity"].second, "quantity", 0, UINT32_MAX);
  if (applies("is_write", !port_only, no_fields)) {
    if (auto v = scalar(k["is_write"].second, "is_write")) {
      if (*v == "true") m.is_write = true;
      else if (*v == "false") m.is_write = false;
      else error(k["is_write"].second, fmt::format("'is_write' must be true or false, got '{}'", *v));
    }
  }
  if (applies("dnp3_object_group", p == RuleProtocol::Dnp3, "dnp3 only"))
    m.dnp3_object_group = integer(k["dnp3_object_group"].second, "dnp3_object_group", 0, 255);
  if (applies("s7_area", p == RuleProtocol::S7comm, "s7comm only")) m.s7_area = integer(k["s7_area"].second, "s7_area", 0, 255);
  if (applies("s7_db", p == RuleProtocol::S7comm, "s7comm only")) m.s7_db = range(k["s7_db"].second, "s7_db", 0, 65535);
  if (applies("cip_class", cip, "cip and enip only")) m.cip_class = integer(k["cip_class"].second, "cip_class", 0, UINT32_MAX);
  if (applies("cip_instance", cip, "cip and enip only"))
    m.cip_instance = integer(k["cip_instance"].second, "cip_instance", 0, UINT32_MAX);
  if (applies("cip_attribute", cip, "cip and enip only"))
    m.cip_attribute = integer(k["cip_attribute"].second, "cip_attribute", 0, UINT32_MAX);
  for (const char* z : {"from_zone", "to_zone", "conduit"}) {
    if (!k.count(z)) continue;
    if (auto v = scalar(k[z].second, z)) {
      if (v->empty()) error(k[z].second, fmt::format("'{}' must name a {} of the site model", z, std::string(z) == "conduit" ? "conduit" : "zone"));
      (std::string(z) == "from_zone" ? m.from_zone : std::string(z) == "to_zone" ? m.to_zone : m.conduit) = *v;
    }
  }
}

void Loader::operations(const YAML::Node& node, Rule& r) {
  std::vector<YAML::Node> items;
  if (node.IsSequence()) {
    for (const auto& n : node) items.push_back(n);
    if (items.empty()) error(node, "'operation' must name at least one operation");
  } else {
    items.push_back(node);
  }
  for (const YAML::Node& n : items) {
    const auto text = scalar(n, "operation");
    if (!text) continue;
    // ENIP rules see the encapsulation commands (list_identity, register_session, ...) and the CIP
    // services the encapsulation carries.
    if (r.protocol == RuleProtocol::Enip) {
      bool found = false;
      for (uint16_t cmd = 0; cmd < 0x100 && !found; ++cmd) {
        if (enip_command_snake_name(cmd) == *text && *text != "unknown") {
          r.match.operations.push_back({Protocol::Enip, cmd});
          r.match.operation_text.push_back(*text);
          found = true;
        }
      }
      if (found) continue;
    }
    const Protocol event_protocol = r.protocol == RuleProtocol::Enip ? Protocol::Cip : static_cast<Protocol>(r.protocol);
    ParsedOperation parsed;
    std::string why;
    if (!parse_operation(op_family(event_protocol), *text, parsed, why)) {
      if (r.protocol == RuleProtocol::Enip) why += " (nor an ENIP command: list_identity, list_services, register_session, ...)";
      error(n, why);
      continue;
    }
    for (uint8_t i = 0; i < parsed.count; ++i) r.match.operations.push_back({event_protocol, parsed.keys[i]});
    r.match.operation_text.push_back(parsed.canonical);
  }
}

void Loader::content(const YAML::Node& node, Rule& r) {
  std::vector<YAML::Node> items;
  if (node.IsSequence()) {
    for (const auto& n : node) items.push_back(n);
    if (items.empty()) error(node, "'content' must have at least one pattern");
  } else {
    items.push_back(node);
  }
  for (const YAML::Node& n : items) {
    ContentPattern c;
    c.mark = mark_of(path_, n);
    if (n.IsScalar()) {
      std::string bytes, why;
      c.text = n.Scalar();
      if (!decode_content_literal(c.text, bytes, why)) {
        error(n, fmt::format("bad content \"{}\": {}", c.text, why));
        continue;
      }
      c.expression = literal_expression(bytes);
    } else if (n.IsMap()) {
      static const std::set<std::string> known = {"regex", "nocase"};
      auto k = keys(n, known, "a content pattern", "regex, nocase");
      if (!k.count("regex")) {
        error(n, "a content pattern map needs 'regex' (a literal is written as a plain string)");
        continue;
      }
      const auto re = scalar(k["regex"].second, "regex");
      if (!re) continue;
      if (re->empty()) {
        error(k["regex"].second, "empty regex");
        continue;
      }
      c.text = *re;
      c.expression = *re;
      c.regex = true;
      if (k.count("nocase")) {
        const auto v = scalar(k["nocase"].second, "nocase");
        if (v && (*v == "true" || *v == "false")) c.nocase = *v == "true";
        else if (v) error(k["nocase"].second, fmt::format("'nocase' must be true or false, got '{}'", *v));
      }
    } else {
      error(n, "a content pattern is a string (literal with |hex| escapes) or a map {regex, nocase}");
      continue;
    }
    r.content.push_back(std::move(c));
  }
}

void Loader::threshold(const YAML::Node& node, Rule& r) {
  if (!node.IsMap()) {
    error(node, "'threshold' must be a map {count, seconds, track}");
    return;
  }
  static const std::set<std::string> known = {"count", "seconds", "track"};
  auto k = keys(node, known, "'threshold'", "count, seconds, track");
  Threshold t;
  bool ok = true;
  for (const char* req : {"count", "seconds"}) {
    if (!k.count(req)) {
      error(node, fmt::format("threshold has no '{}' (required: count, seconds)", req));
      ok = false;
    }
  }
  if (k.count("count")) {
    if (auto v = integer(k["count"].second, "count", 1, 1'000'000)) t.count = static_cast<uint32_t>(*v);
    else ok = false;
  }
  if (k.count("seconds")) {
    if (auto v = integer(k["seconds"].second, "seconds", 1, 86400 * 30)) t.seconds_ns = static_cast<uint64_t>(*v) * 1'000'000'000ull;
    else ok = false;
  }
  if (k.count("track")) {
    if (auto v = scalar(k["track"].second, "track")) {
      if (*v == "by_src") t.track = Track::BySrc;
      else if (*v == "by_dst") t.track = Track::ByDst;
      else if (*v == "by_both") t.track = Track::ByBoth;
      else {
        error(k["track"].second, fmt::format("unknown track '{}', expected by_src, by_dst or by_both", *v));
        ok = false;
      }
    }
  }
  if (ok) r.threshold = t;
}

bool load_yaml(const std::string& path, YAML::Node& root, std::vector<std::string>& errors) {
  try {
    root = YAML::LoadFile(path);
    return true;
  } catch (const YAML::BadFile&) {
    errors.push_back(fmt::format("{}: cannot read the file", path));
  } catch (const YAML::ParserException& e) {
    errors.push_back(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return false;
}

}  // namespace

std::string SourceMark::text() const { return fmt::format("{}:{}:{}", file, line, column); }

bool FieldMatch::empty() const {
  return operations.empty() && !subfunction && !unit_id && !address && !quantity && !s7_db && !is_write &&
         !dnp3_object_group && !s7_area && !cip_class && !cip_instance && !cip_attribute && from_zone.empty() &&
         to_zone.empty() && conduit.empty();
}

std::string_view rule_protocol_name(RuleProtocol p) {
  if (p == RuleProtocol::Tristation) return "tristation";
  if (static_cast<size_t>(p) < static_cast<size_t>(Protocol::Count_)) return protocol_name(static_cast<Protocol>(p));
  return "unknown";
}

bool stream_scope_applies(RuleProtocol p) {
  // DNP3 and ENIP also run over UDP; their UDP flows have no stream and see only PDU rules.
  return p == RuleProtocol::Modbus || p == RuleProtocol::Dnp3 || p == RuleProtocol::Enip || p == RuleProtocol::S7comm ||
         p == RuleProtocol::S7commPlus;
}

uint16_t port_only_udp_port(RuleProtocol p) {
  // TriStation (Triconex safety controllers, the TRITON/TRISIS vector) has no dissector here: UDP 1502.
  return p == RuleProtocol::Tristation ? 1502 : 0;
}

bool load_rule_file(const std::string& path, std::vector<Rule>& out, std::vector<std::string>& errors) {
  YAML::Node root;
  if (!load_yaml(path, root, errors)) return false;
  Loader l(path, errors);
  if (!root || root.IsNull()) return true;  // an empty file holds no rules
  if (!root.IsSequence()) {
    l.error(root, "a rule file is a list of rules (\"- id: ...\")");
    return false;
  }
  try {
    for (const auto& n : root) l.rule(n, out);
  } catch (const YAML::Exception& e) {
    errors.push_back(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    return false;
  }
  return l.ok();
}

bool load_rule_files(const std::vector<std::string>& paths, std::vector<Rule>& out, std::vector<std::string>& errors) {
  bool ok = true;
  const size_t first = out.size();
  std::vector<std::string> read;
  for (const std::string& p : paths) {
    std::error_code ec;  // a file that cannot be compared is read, and its own error reported
    const auto same = [&](const std::string& q) { return std::filesystem::equivalent(p, q, ec); };
    if (std::any_of(read.begin(), read.end(), same)) continue;
    read.push_back(p);
    ok &= load_rule_file(p, out, errors);
  }
  std::map<uint64_t, size_t> seen;
  for (size_t i = first; i < out.size(); ++i) {
    auto [it, fresh] = seen.emplace(out[i].id, i);
    if (!fresh) {
      errors.push_back(fmt::format("{}: duplicate rule id {} (first defined at {})", out[i].mark.text(), out[i].id,
                                   out[it->second].mark.text()));
      ok = false;
    }
  }
  return ok;
}

bool load_rules_section(const std::string& site_path, std::vector<std::string>& files, std::vector<std::string>& errors) {
  YAML::Node root;
  std::vector<std::string> ignored;  // the site model's own loaders report its syntax
  if (!load_yaml(site_path, root, ignored) || !root.IsMap()) return true;
  const YAML::Node r = root["rules"];
  if (!r || r.IsNull()) return true;
  const std::filesystem::path dir = std::filesystem::path(site_path).parent_path();
  auto where = [&](const YAML::Node& n) { return mark_of(site_path, n).text(); };
  if (!r.IsSequence()) {
    errors.push_back(fmt::format("{}: 'rules' must be a list of rule files", where(r)));
    return false;
  }
  bool ok = true;
  for (const auto& n : r) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      errors.push_back(fmt::format("{}: 'rules' items must be file paths", where(n)));
      ok = false;
      continue;
    }
    const std::filesystem::path p(n.Scalar());
    const std::string resolved = (p.is_absolute() ? p : dir / p).lexically_normal().string();
    if (!std::filesystem::is_regular_file(resolved)) {
      errors.push_back(fmt::format("{}: rule file '{}' not found ({})", where(n), n.Scalar(), resolved));
      ok = false;
      continue;
    }
    files.push_back(resolved);
  }
  return ok;
}

}  // namespace ots::rules
